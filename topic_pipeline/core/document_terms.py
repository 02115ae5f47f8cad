"""Per-document term counts, counted once per vectorizer setting and summed into every bag BERTopic builds.

BERTopic counts joined texts: each topic's documents (and, for topics over
time or per class, each group's) joined with a space, cleaned and counted.
A token never spans the joining space, so a joined text's unigram counts are
the sum of its documents' counts; an n-gram can span two neighbours, so for
n > 1 the spanning n-grams are added from each document's first and last
n-1 tokens. One more difference: a joined text that cleans to "" is counted
as the word "emptydoc", which happens only for a group of one document that
cleans to "". With those two corrections every bag equals BERTopic's exactly,
and the corpus is tokenized once per vectorizer setting instead of once per
clustering, per time bin and per class.

Two tokenizations are kept: of the cleaned texts (what bags are counted from)
and of the texts as they are (what BERTopic ranks representative documents
by, with the fitted vocabulary). Each has its own vocabulary, sorted as
``CountVectorizer`` sorts it.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.vectorize import (
    EMPTY_DOCUMENT_TOKEN,
    TopicBags,
    check_vectorizer_params,
    clean_texts,
    make_vectorizer,
    vectorizer_errors,
)
from topic_pipeline.params import VectorizerParams


@dataclass(frozen=True)
class TermCounts:
    """Counts of one tokenization: ``counts`` (n_documents, n_terms) over ``vocabulary`` (sorted)."""

    vocabulary: np.ndarray  # object array of str
    counts: sp.csr_matrix


@dataclass(frozen=True)
class DocumentTerms:
    """What every bag of words of one vectorizer setting is summed from.

    cleaned : counts of BERTopic's cleaned texts (``clean_for_bag_of_words`` without
        the "emptydoc" stand-in, which applies to joined texts only)
    raw : counts of the texts as they are
    empty : bool per document, its cleaned text is ""
    heads, tails : per document, its first and last n-1 tokens (n = the longest n-gram;
        None for unigrams), what the n-grams spanning two joined documents are made of
    """

    ngram_range: tuple[int, int]
    cleaned: TermCounts
    raw: TermCounts
    empty: np.ndarray
    heads: list[tuple[str, ...]] | None = None
    tails: list[tuple[str, ...]] | None = None

    def rows(self, positions: np.ndarray) -> DocumentTerms:
        """These documents only (in this order), e.g. one time window's."""
        positions = np.asarray(positions, dtype=np.int64)
        pick = (lambda edges: [edges[i] for i in positions]) if self.heads is not None else (lambda edges: None)
        return DocumentTerms(self.ngram_range, TermCounts(self.cleaned.vocabulary, self.cleaned.counts[positions]),
                             TermCounts(self.raw.vocabulary, self.raw.counts[positions]), self.empty[positions],
                             pick(self.heads), pick(self.tails))


@dataclass(frozen=True)
class _Analyzer:
    """CountVectorizer's word analyzer in two parts: tokens (after stop words), then n-grams of them."""

    tokens: Callable[[str], list[str]]
    min_n: int
    max_n: int

    def terms(self, tokens: list[str]) -> list[str]:
        """The n-grams of ``tokens``, as CountVectorizer's ``_word_ngrams`` makes them (order aside)."""
        if self.max_n == 1:
            return tokens
        terms = list(tokens) if self.min_n == 1 else []
        for n in range(max(self.min_n, 2), min(self.max_n, len(tokens)) + 1):
            terms.extend(map(" ".join, zip(*(tokens[i:] for i in range(n)))))
        return terms


def analyzer(params: VectorizerParams) -> _Analyzer:
    """The analyzer of the CountVectorizer the params describe (preprocessor, tokenizer, stop words)."""
    vectorizer = make_vectorizer(params)
    preprocess, tokenize = vectorizer.build_preprocessor(), vectorizer.build_tokenizer()
    stop_words = vectorizer.get_stop_words()
    stop = frozenset(stop_words) if stop_words is not None else None

    def tokens(text: str) -> list[str]:
        found = tokenize(preprocess(text))
        return [token for token in found if token not in stop] if stop is not None else found

    min_n, max_n = params.ngram_range
    return _Analyzer(tokens, int(min_n), int(max_n))


def count_document_terms(texts: Sequence[str], params: VectorizerParams) -> DocumentTerms:
    """Tokenize every document once (cleaned and as it is) with the vectorizer the params describe."""
    analyze = analyzer(params)
    cleaned_texts = clean_texts(list(texts), params.language)
    empty = np.fromiter((text == "" for text in cleaned_texts), dtype=bool, count=len(cleaned_texts))
    edges: list[tuple[tuple[str, ...], tuple[str, ...]]] | None = [] if analyze.max_n > 1 else None
    cleaned = _count(cleaned_texts, analyze, edges)
    raw = _count(texts, analyze, None)
    heads = [head for head, _ in edges] if edges is not None else None
    tails = [tail for _, tail in edges] if edges is not None else None
    return DocumentTerms((analyze.min_n, analyze.max_n), cleaned, raw, empty, heads, tails)


def _count(texts: Sequence[str], analyze: _Analyzer, edges: list | None) -> TermCounts:
    """Count each text's terms (CountVectorizer's counting, with a sorted vocabulary)."""
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__
    indices, values, indptr = array("q"), array("q"), array("q", [0])
    keep = analyze.max_n - 1
    for text in texts:
        tokens = analyze.tokens(text)
        if edges is not None:
            edges.append((tuple(tokens[:keep]), tuple(tokens[-keep:]) if tokens else ()))
        counted = Counter(analyze.terms(tokens))
        indices.extend(map(vocabulary.__getitem__, counted.keys()))
        values.extend(counted.values())
        indptr.append(len(indices))
    terms = np.empty(len(vocabulary), dtype=object)
    terms[:] = list(vocabulary.keys())
    order = np.argsort(terms, kind="stable") if len(terms) else np.zeros(0, dtype=np.int64)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    column = position[np.frombuffer(indices, dtype=np.int64)] if len(indices) else np.zeros(0, dtype=np.int64)
    counts = sp.csr_matrix((np.frombuffer(values, dtype=np.int64), column, np.frombuffer(indptr, dtype=np.int64)),
                           shape=(len(texts), len(terms)))
    counts.sort_indices()
    return TermCounts(terms[order], counts)


def group_codes(groups: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Each document's row among ``ids`` (sorted), -1 where its group is not among them."""
    groups = np.asarray(groups)
    rows = np.searchsorted(ids, groups)
    rows = np.clip(rows, 0, max(len(ids) - 1, 0))
    found = (len(ids) > 0) & (np.asarray(ids)[rows] == groups) if len(ids) else np.zeros(len(groups), dtype=bool)
    return np.where(found, rows, -1).astype(np.int64)


def spanning_terms(terms: DocumentTerms, codes: np.ndarray, n_groups: int, params: VectorizerParams
                   ) -> Counter[tuple[int, str]]:
    """The terms a joined group text has beyond the sum of its documents': (group, term) -> count.

    The n-grams spanning two neighbouring documents (in corpus order within
    the group; an empty document joins its neighbours), and "emptydoc" for a
    group of one document that cleans to "".
    """
    extra: Counter[tuple[int, str]] = Counter()
    analyze = analyzer(params)
    members = np.bincount(codes[codes >= 0], minlength=n_groups)
    for row in np.flatnonzero(terms.empty & (codes >= 0)):
        if members[codes[row]] == 1:
            for term in analyze.terms(analyze.tokens(EMPTY_DOCUMENT_TOKEN)):
                extra[int(codes[row]), term] += 1
    if terms.heads is None or terms.tails is None:
        return extra
    keep = analyze.max_n - 1
    carry: dict[int, tuple[str, ...]] = {}
    for row in np.flatnonzero(codes >= 0):
        group, head, tail = int(codes[row]), terms.heads[row], terms.tails[row]
        before = carry.get(group, ())
        if before and head:
            stream = before + head
            for n in range(max(analyze.min_n, 2), analyze.max_n + 1):
                for start in range(max(0, len(before) - n + 1), len(before)):
                    if start + n <= len(stream):
                        extra[group, " ".join(stream[start:start + n])] += 1
        carry[group] = tail if len(head) >= keep else (before + head)[-keep:]
    return extra


def summed_counts(counts: sp.csr_matrix, codes: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """(n_groups, n_terms): the sum of each group's document rows (documents with code -1 left out)."""
    rows = np.flatnonzero(codes >= 0)
    indicator = sp.csr_matrix((np.ones(len(rows), dtype=np.int64), (codes[rows], rows)),
                              shape=(n_groups, counts.shape[0]))
    return sp.csr_matrix(indicator @ counts)


def column_map(source: np.ndarray, target_index: dict[str, int], n_target: int) -> sp.csr_matrix:
    """(len(source), n_target) 0/1 matrix moving each source column to its term's target column (or nowhere)."""
    target = np.fromiter((target_index.get(term, -1) for term in source), dtype=np.int64, count=len(source))
    rows = np.flatnonzero(target >= 0)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, target[rows])), shape=(len(source), n_target))


def limit_features(counts: sp.csr_matrix, params: VectorizerParams) -> np.ndarray:
    """The columns ``CountVectorizer`` keeps after min_df, max_df and max_features (its own rules, its errors).

    The same computation as scikit-learn's ``_limit_features`` on the same
    sorted columns (documents here are the joined topic texts), so the kept
    terms, ties in ``max_features`` included, are the same.
    """
    n_rows = counts.shape[0]
    high = params.max_df if isinstance(params.max_df, Integral) else params.max_df * n_rows
    low = params.min_df if isinstance(params.min_df, Integral) else params.min_df * n_rows
    if high < low:
        raise ValueError("max_df corresponds to < documents than min_df")
    dfs = np.bincount(counts.indices, minlength=counts.shape[1])
    mask = (dfs <= high) & (dfs >= low)
    if params.max_features is not None and mask.sum() > params.max_features:
        totals = np.asarray(counts.sum(axis=0)).ravel()
        chosen = (-totals[mask]).argsort()[: params.max_features]
        limited = np.zeros(len(dfs), dtype=bool)
        limited[np.flatnonzero(mask)[chosen]] = True
        mask = limited
    kept = np.flatnonzero(mask)
    if len(kept) == 0:
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    return kept


def fit_topic_bags(terms: DocumentTerms, topics: np.ndarray, params: VectorizerParams) -> TopicBags:
    """``vectorize_topics`` from stored counts: the vocabulary fitted on the joined topic texts, their counts,
    and each document's counts (of its text as it is) over that vocabulary; the same numbers and errors.

    Raises
    ------
    ParamsError
        CountVectorizer refuses a setting's value (e.g. ``min_df: 0``).
    StageInputError
        The settings leave no terms (e.g. stop words remove everything).
    """
    topic_ids = np.unique(np.asarray(topics))
    with vectorizer_errors(len(topic_ids)):
        check_vectorizer_params(params)
        return _fit_topic_bags(terms, np.asarray(topics), topic_ids, params)


def _fit_topic_bags(terms: DocumentTerms, topics: np.ndarray, topic_ids: np.ndarray, params: VectorizerParams
                    ) -> TopicBags:
    codes = group_codes(topics, topic_ids)
    summed = summed_counts(terms.cleaned.counts, codes, len(topic_ids))
    vocabulary, matrix = _with_spanning_terms(terms.cleaned.vocabulary, summed,
                                              spanning_terms(terms, codes, len(topic_ids), params))
    present = np.flatnonzero(np.bincount(matrix.indices, minlength=matrix.shape[1]) > 0)
    if len(present) == 0:
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    vocabulary, matrix = vocabulary[present], matrix[:, present]
    kept = limit_features(matrix, params)
    vocabulary, topic_term_counts = vocabulary[kept], sp.csr_matrix(matrix[:, kept], dtype=np.int64)
    topic_term_counts.sort_indices()
    index = {term: column for column, term in enumerate(vocabulary)}
    doc_term_counts = terms.raw.counts @ column_map(terms.raw.vocabulary, index, len(vocabulary))
    doc_term_counts = sp.csr_matrix(doc_term_counts, dtype=np.int64)
    doc_term_counts.sort_indices()
    return TopicBags(topic_ids=topic_ids.astype(np.int64), vocabulary=vocabulary,
                     topic_term_counts=topic_term_counts, doc_term_counts=doc_term_counts)


def group_term_counts(terms: DocumentTerms, codes: np.ndarray, n_groups: int, vocabulary: np.ndarray,
                      params: VectorizerParams) -> sp.csr_matrix:
    """(n_groups, len(vocabulary)): each group's joined cleaned text counted with a fitted vocabulary,
    as ``CountVectorizer.transform`` of that joined text would count it."""
    index = {term: column for column, term in enumerate(vocabulary)}
    counts = summed_counts(terms.cleaned.counts, codes, n_groups) @ column_map(terms.cleaned.vocabulary, index,
                                                                             len(vocabulary))
    extra = [(group, index[term], count) for (group, term), count in spanning_terms(terms, codes, n_groups,
                                                                                     params).items()
             if term in index]
    if extra:
        rows, columns, values = (np.asarray(part, dtype=np.int64) for part in zip(*extra, strict=True))
        counts = counts + sp.csr_matrix((values, (rows, columns)), shape=counts.shape)
    counts = sp.csr_matrix(counts, dtype=np.int64)
    counts.sort_indices()
    return counts


def _with_spanning_terms(vocabulary: np.ndarray, summed: sp.csr_matrix, extra: Counter[tuple[int, str]]
                         ) -> tuple[np.ndarray, sp.csr_matrix]:
    """Add the spanning counts to the summed ones, inserting their new terms in sorted position."""
    if not extra:
        return vocabulary, summed
    candidates = np.empty(len({term for _, term in extra}), dtype=object)
    candidates[:] = sorted({term for _, term in extra})
    at = np.searchsorted(vocabulary, candidates) if len(vocabulary) else np.zeros(len(candidates), dtype=np.int64)
    known = (at < len(vocabulary)) & (vocabulary[np.minimum(at, max(len(vocabulary) - 1, 0))] == candidates) \
        if len(vocabulary) else np.zeros(len(candidates), dtype=bool)
    new_terms, new_at = candidates[~known], at[~known]
    merged = np.insert(vocabulary, new_at, new_terms)
    shift = np.arange(len(vocabulary)) + np.searchsorted(new_at, np.arange(len(vocabulary)), side="right")
    moved = sp.csr_matrix((summed.data, shift[summed.indices], summed.indptr), shape=(summed.shape[0], len(merged)))
    column_of = {term: int(column) for term, column in zip(new_terms, new_at + np.arange(len(new_terms)),
                                                           strict=True)}
    column_of |= {term: int(shift[column]) for term, column in zip(candidates[known], at[known], strict=True)}
    rows, columns, values = (np.asarray(part, dtype=np.int64) for part in
                             zip(*[(group, column_of[term], count) for (group, term), count in extra.items()],
                                 strict=True))
    return merged, sp.csr_matrix(moved + sp.csr_matrix((values, (rows, columns)), shape=moved.shape))
