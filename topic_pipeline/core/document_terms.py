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

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.vectorize import (
    clean_texts,
    make_vectorizer,
)
from topic_pipeline.params import VectorizerParams


@dataclass(frozen=True)
class DocumentTerms:
    """What every bag of words of one vectorizer setting is summed from.

    vocabulary : every term either tokenization found, sorted as CountVectorizer sorts
    cleaned : (n_documents, n_terms) counts of BERTopic's cleaned texts (``clean_texts``:
        without the "emptydoc" stand-in, which applies to joined texts only)
    raw : (n_documents, n_terms) counts of the texts as they are
    empty : bool per document, its cleaned text is ""
    heads, tails : per document, its first and last n-1 tokens (n = the longest n-gram;
        None for unigrams), what the n-grams spanning two joined documents are made of
    """

    ngram_range: tuple[int, int]
    vocabulary: np.ndarray  # object array of str
    cleaned: sp.csr_matrix
    raw: sp.csr_matrix
    empty: np.ndarray
    heads: list[tuple[str, ...]] | None = None
    tails: list[tuple[str, ...]] | None = None

    def rows(self, positions: np.ndarray) -> DocumentTerms:
        """These documents only (in this order), e.g. one time window's."""
        positions = np.asarray(positions, dtype=np.int64)
        pick = (lambda edges: [edges[i] for i in positions]) if self.heads is not None else (lambda edges: None)
        return DocumentTerms(self.ngram_range, self.vocabulary, self.cleaned[positions], self.raw[positions],
                             self.empty[positions], pick(self.heads), pick(self.tails))


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
    """Tokenize every document once (cleaned and as it is) with the vectorizer the params describe.

    Both tokenizations share one vocabulary, so that mapping them onto a fitted
    vocabulary is index arithmetic rather than a dictionary of every term.
    """
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__
    counted = _tokenize(texts, params, vocabulary)
    terms = np.empty(len(vocabulary), dtype=object)
    terms[:] = list(vocabulary.keys())
    del vocabulary
    return _sorted_terms(counted, terms, np.arange(len(texts)), None, params)


def extend_document_terms(previous: DocumentTerms, reused: np.ndarray, texts: Sequence[str],
                          params: VectorizerParams) -> DocumentTerms:
    """``count_document_terms(texts)``, tokenizing only the documents not in ``previous``.

    ``reused[i]`` is document i's row in ``previous`` (same text, same settings), -1 for a
    new or changed text. The result equals counting every text afresh: the same sorted
    vocabulary (terms of documents that left are dropped), the same counts and layout.
    """
    reused = np.asarray(reused, dtype=np.int64)
    fresh = np.flatnonzero(reused < 0)
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.update(zip(previous.vocabulary.tolist(), range(len(previous.vocabulary)), strict=True))
    vocabulary.default_factory = vocabulary.__len__
    counted = _tokenize([texts[i] for i in fresh], params, vocabulary)
    terms = np.empty(len(vocabulary), dtype=object)
    terms[:] = list(vocabulary.keys())
    del vocabulary
    return _sorted_terms(counted, terms, fresh, (previous, reused), params)


def _tokenize(texts: Sequence[str], params: VectorizerParams, vocabulary: defaultdict[str, int]) -> dict:
    analyze = analyzer(params)
    cleaned_texts = clean_texts(list(texts), params.language)
    empty = np.fromiter((text == "" for text in cleaned_texts), dtype=bool, count=len(cleaned_texts))
    edges: list[tuple[tuple[str, ...], tuple[str, ...]]] | None = [] if analyze.max_n > 1 else None
    cleaned = _count(cleaned_texts, analyze, edges, vocabulary)
    del cleaned_texts
    raw = _count(texts, analyze, None, vocabulary)
    return {"ngram_range": (analyze.min_n, analyze.max_n), "cleaned": cleaned, "raw": raw, "empty": empty,
            "edges": edges}


def _sorted_terms(counted: dict, terms: np.ndarray, fresh: np.ndarray,
                  previous: tuple[DocumentTerms, np.ndarray] | None, params: VectorizerParams) -> DocumentTerms:
    """Assemble the documents (freshly counted ones at rows ``fresh``, the others from ``previous``) over the
    terms they use, sorted."""
    identity = np.arange(len(terms))
    cleaned, raw = _matrix(counted["cleaned"], identity), _matrix(counted["raw"], identity)
    empty, edges = counted["empty"], counted["edges"]
    if previous is not None:
        cleaned, raw, empty, edges = _merge_rows(previous, fresh, cleaned, raw, empty, edges)
    used = np.flatnonzero((np.bincount(cleaned.indices, minlength=len(terms)) +
                           np.bincount(raw.indices, minlength=len(terms))) > 0)
    order = used[_sorted_order(terms[used])]
    position = np.full(len(terms), -1, dtype=np.int64)
    position[order] = np.arange(len(order))
    heads = [head for head, _ in edges] if edges is not None else None
    tails = [tail for _, tail in edges] if edges is not None else None
    return DocumentTerms(counted["ngram_range"], terms[order], _renumbered(cleaned, position, len(order)),
                         _renumbered(raw, position, len(order)), empty, heads, tails)


def _merge_rows(previous: tuple[DocumentTerms, np.ndarray], fresh: np.ndarray, cleaned: sp.csr_matrix,
                raw: sp.csr_matrix, empty: np.ndarray, edges: list | None) -> tuple:
    """Every document's rows in order: reused ones from the previous terms, fresh ones from ``cleaned``/``raw``."""
    terms, reused = previous
    kept = np.flatnonzero(reused >= 0)
    width = cleaned.shape[1]
    parts = {}
    for name, fresh_rows in (("cleaned", cleaned), ("raw", raw)):
        old = getattr(terms, name)[reused[kept]]
        old = sp.csr_matrix((old.data, old.indices, old.indptr), shape=(len(kept), width))
        stacked = sp.vstack([old, fresh_rows], format="csr")
        parts[name] = stacked[np.argsort(np.concatenate([kept, fresh]), kind="stable")]
    all_empty = np.empty(len(reused), dtype=bool)
    all_empty[kept], all_empty[fresh] = terms.empty[reused[kept]], empty
    all_edges = None
    if edges is not None and terms.heads is not None and terms.tails is not None:
        all_edges = [((), ())] * len(reused)
        for row in kept:
            all_edges[row] = (terms.heads[reused[row]], terms.tails[reused[row]])
        for row, edge in zip(fresh, edges, strict=True):
            all_edges[row] = edge
    return parts["cleaned"], parts["raw"], all_empty, all_edges


def _renumbered(counts: sp.csr_matrix, position: np.ndarray, width: int) -> sp.csr_matrix:
    renumbered = sp.csr_matrix((counts.data.astype(np.int32), position[counts.indices].astype(np.int32),
                                counts.indptr), shape=(counts.shape[0], width))
    renumbered.sort_indices()
    return renumbered


def _sorted_order(terms: np.ndarray) -> np.ndarray:
    """The permutation that sorts ``terms`` as Python sorts str (by code point), computed by Arrow.

    UTF-8 byte order is code point order, so Arrow's byte-wise sort (C++) gives
    CountVectorizer's order, several times faster than sorting Python objects.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(terms):
        return np.zeros(0, dtype=np.int64)
    try:
        return np.asarray(pc.array_sort_indices(pa.array(terms.tolist(), type=pa.large_string())), dtype=np.int64)
    except (pa.ArrowException, UnicodeError):  # a lone surrogate (e.g. from a JSON "\ud800") is not UTF-8
        return np.argsort(terms, kind="stable")


def _count(texts: Sequence[str], analyze: _Analyzer, edges: list | None, vocabulary: defaultdict[str, int]
           ) -> tuple[array, array, array]:
    """Count each text's terms (CountVectorizer's counting), numbering new terms in ``vocabulary``."""
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
    return indices, values, indptr


def _matrix(counted: tuple[array, array, array], position: np.ndarray) -> sp.csr_matrix:
    """The counts as a csr matrix with columns renumbered by ``position``."""
    indices, values, indptr = (np.frombuffer(part, dtype=np.int64) for part in counted)
    column = position[indices] if len(indices) else np.zeros(0, dtype=np.int64)
    return sp.csr_matrix((values.astype(np.int32), column.astype(np.int32), indptr),
                         shape=(len(indptr) - 1, len(position)))
