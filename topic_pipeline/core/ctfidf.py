"""Class-based TF-IDF, as BERTopic's ``ClassTfidfTransformer`` defines it.

idf = log(1 + A / f), f = a term's frequency over all topics, A = the average
number of words per topic truncated to an integer; with BM25 weighting
idf = log(1 + (A - f + 0.5) / (f + 0.5)). A row is L1-normalised (optionally
square-rooted) and multiplied by idf; there is no final L2 normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.guided import seed_topic_multiplier
from topic_pipeline.core.sklearn_functions import normalize
from topic_pipeline.params import CtfidfParams


def fit_idf(topic_term_counts: sp.csr_matrix, vocabulary: np.ndarray, params: CtfidfParams,
            seed_topic_list: Sequence[Sequence[str]] | None = None) -> np.ndarray:
    """Inverse class frequency per term, shape (n_terms,), float64, seed words boosted (``seed_multiplier``)."""
    frequency = np.asarray(topic_term_counts.sum(axis=0)).ravel().astype(np.float64)
    average_words = int(topic_term_counts.sum(axis=1).mean())
    if params.bm25_weighting:
        idf = np.log(1 + (average_words - frequency + 0.5) / (frequency + 0.5))
    else:
        idf = np.log(average_words / frequency + 1)
    if params.seed_words or seed_topic_list:
        idf = idf * seed_multiplier(vocabulary, params, seed_topic_list)
    return idf


def seed_multiplier(vocabulary: np.ndarray, params: CtfidfParams,
                    seed_topic_list: Sequence[Sequence[str]] | None = None) -> np.ndarray:
    """The idf multiplier per term: ``seed_multiplier`` for ``seed_words``, then 1.2 for words of any
    seed topic (guided topic modeling; it replaces the first, as in BERTopic), else 1."""
    seeds = set(params.seed_words)
    multiplier = np.array([params.seed_multiplier if term in seeds else 1.0 for term in vocabulary], dtype=np.float64)
    if seed_topic_list:
        multiplier = seed_topic_multiplier(vocabulary, seed_topic_list, multiplier)
    return multiplier


def ctfidf_weights(topic_term_counts: sp.csr_matrix, vocabulary: np.ndarray, params: CtfidfParams,
                   seed_topic_list: Sequence[Sequence[str]] | None = None) -> tuple[np.ndarray, sp.csr_matrix]:
    """The fitted idf and the topics' c-TF-IDF rows: the one idf -> c-TF-IDF chain every caller uses."""
    idf = fit_idf(topic_term_counts, vocabulary, params, seed_topic_list)
    return idf, ctfidf_transform(topic_term_counts, idf, reduce_frequent_words=params.reduce_frequent_words)


def ctfidf_transform(counts: sp.csr_matrix, idf: np.ndarray, *, reduce_frequent_words: bool) -> sp.csr_matrix:
    """Weight term counts (topics or documents) by the fitted idf; shape unchanged, float64."""
    weights = normalize(sp.csr_matrix(counts, dtype=np.float64), axis=1, norm="l1", copy=True)
    if reduce_frequent_words:
        weights.data = np.sqrt(weights.data)
    # csr @ diag stores each row's columns in descending order, as BERTopic's c_tf_idf_; top_words' tie order
    # depends on that layout, so it is kept rather than sorted
    return sp.csr_matrix(weights @ sp.diags(idf, offsets=0, shape=(len(idf), len(idf)), format="csr"))
