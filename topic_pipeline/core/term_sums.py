"""Bags of words as sums of per-document counts: per topic (fitting the vocabulary) and per group of documents.

What BERTopic counts from joined texts (see ``document_terms``): each bag is the sum
of its documents' rows plus the n-grams spanning two neighbouring documents and
"emptydoc" for a group of one document that cleans to "". The fitted vocabulary
then goes through ``CountVectorizer``'s own min_df / max_df / max_features rule.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.document_terms import DocumentTerms, analyzer
from topic_pipeline.core.vectorize import EMPTY_DOCUMENT_TOKEN, TopicBags, check_vectorizer_params, vectorizer_errors
from topic_pipeline.params import VectorizerParams


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


@dataclass(frozen=True)
class FittedBags:
    """The topic bags and, per fitted term, its column in the document terms (-1: found across documents only)."""

    bags: TopicBags
    source_columns: np.ndarray


def fit_topic_bags(terms: DocumentTerms, topics: np.ndarray, params: VectorizerParams) -> FittedBags:
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
                    ) -> FittedBags:
    codes = group_codes(topics, topic_ids)
    summed = summed_counts(terms.cleaned, codes, len(topic_ids))
    vocabulary, matrix, source = _with_spanning_terms(terms.vocabulary, summed,
                                                      spanning_terms(terms, codes, len(topic_ids), params))
    present = np.flatnonzero(np.bincount(matrix.indices, minlength=matrix.shape[1]) > 0)
    if len(present) == 0:
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    kept = present[limit_features(matrix[:, present], params)]
    topic_term_counts = sp.csr_matrix(matrix[:, kept], dtype=np.int64)
    topic_term_counts.sort_indices()
    source_columns = source[kept]
    doc_term_counts = sp.csr_matrix(terms.raw @ column_map(source_columns, terms.raw.shape[1]), dtype=np.int64)
    doc_term_counts.sort_indices()
    bags = TopicBags(topic_ids=topic_ids.astype(np.int64), vocabulary=vocabulary[kept],
                     topic_term_counts=topic_term_counts, doc_term_counts=doc_term_counts)
    return FittedBags(bags, source_columns)


def group_term_counts(terms: DocumentTerms, codes: np.ndarray, n_groups: int, vocabulary: np.ndarray,
                      source_columns: np.ndarray, params: VectorizerParams) -> sp.csr_matrix:
    """(n_groups, len(vocabulary)): each group's joined cleaned text counted with a fitted vocabulary,
    as ``CountVectorizer.transform`` of that joined text would count it.

    ``source_columns`` gives each fitted term's column in ``terms`` (-1 for a term found only
    across two joined documents), as ``fit_topic_bags`` returned it.
    """
    counts = summed_counts(terms.cleaned, codes, n_groups) @ column_map(source_columns, terms.cleaned.shape[1])
    extra = spanning_terms(terms, codes, n_groups, params)
    if extra:
        candidates = np.empty(len(extra), dtype=object)
        candidates[:] = [term for _, term in extra]
        at = np.minimum(np.searchsorted(vocabulary, candidates), max(len(vocabulary) - 1, 0))
        known = np.flatnonzero(vocabulary[at] == candidates) if len(vocabulary) else np.zeros(0, dtype=np.int64)
        groups = np.fromiter((group for group, _ in extra), dtype=np.int64, count=len(extra))
        values = np.fromiter(extra.values(), dtype=np.int64, count=len(extra))
        counts = counts + sp.csr_matrix((values[known], (groups[known], at[known])), shape=counts.shape)
    counts = sp.csr_matrix(counts, dtype=np.int64)
    counts.sort_indices()
    return counts


def column_map(source_columns: np.ndarray, n_source: int) -> sp.csr_matrix:
    """(n_source, len(source_columns)) 0/1 matrix moving source column ``source_columns[j]`` to column j."""
    targets = np.flatnonzero(source_columns >= 0)
    return sp.csr_matrix((np.ones(len(targets), dtype=np.int64), (source_columns[targets], targets)),
                         shape=(n_source, len(source_columns)))


def _with_spanning_terms(vocabulary: np.ndarray, summed: sp.csr_matrix, extra: Counter[tuple[int, str]]
                         ) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """Add the spanning counts to the summed ones, inserting their new terms in sorted position.

    Also returns each merged column's column in ``vocabulary`` (-1 for an inserted term).
    """
    if not extra:
        return vocabulary, summed, np.arange(len(vocabulary))
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
    source = np.full(len(merged), -1, dtype=np.int64)
    source[shift] = np.arange(len(vocabulary))
    return merged, sp.csr_matrix(moved + sp.csr_matrix((values, (rows, columns)), shape=moved.shape)), source
