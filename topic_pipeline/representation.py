"""Topic words, names and representative documents from the c-TF-IDF matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity

from topic_pipeline.ctfidf import ctfidf_transform

MISSING_WORD = ("", 1e-05)
CANDIDATE_WORDS = 30


def top_words(ctfidf: sp.csr_matrix, vocabulary: np.ndarray, n_words: int) -> list[list[tuple[str, float]]]:
    """The ``n_words`` highest-weighted terms of each row, padded with ("", 1e-05).

    Ties are broken by column (alphabetical for unigrams), so results do not
    depend on the sort algorithm numpy picks for this CPU.
    """
    rows = []
    for start, end in zip(ctfidf.indptr[:-1], ctfidf.indptr[1:], strict=True):
        weights, columns = ctfidf.data[start:end], ctfidf.indices[start:end]
        order = np.lexsort((columns, -weights))[:n_words]
        words = [(str(vocabulary[columns[i]]), float(weights[i])) for i in order if weights[i] > 0]
        rows.append(words + [MISSING_WORD] * (n_words - len(words)))
    return rows


def topic_name(topic_id: int, words: list[tuple[str, float]], n_words: int) -> str:
    """BERTopic's default label: ``<id>_`` + the first words joined by ``_``."""
    return f"{topic_id}_" + "_".join(word for word, _ in words[:n_words])


def representative_documents(
    topics: np.ndarray,
    topic_ids: np.ndarray,
    doc_term_counts: sp.csr_matrix,
    topic_ctfidf: sp.csr_matrix,
    idf: np.ndarray,
    *,
    reduce_frequent_words: bool,
    n_samples: int,
    n_docs: int,
    random_state: int = 42,
) -> dict[int, list[int]]:
    """Rows of the documents most similar to their topic, most similar first.

    As BERTopic: per topic draw ``n_samples`` documents with replacement
    (pandas' grouped sampling, seed 42), drop repeats, and rank them by cosine
    between their c-TF-IDF vector and the topic's. BERTopic keeps the top
    documents in ``argpartition`` order; we sort them by similarity.
    """
    frame = pd.DataFrame({"topic": np.asarray(topics)})
    sampled = frame.groupby("topic").sample(n=n_samples, replace=True, random_state=random_state)
    sampled = sampled[~sampled.index.duplicated(keep="first")]
    result: dict[int, list[int]] = {}
    for row, topic in enumerate(topic_ids):
        rows = sampled.index[sampled["topic"].to_numpy() == topic].to_numpy()
        weights = ctfidf_transform(doc_term_counts[rows], idf, reduce_frequent_words=reduce_frequent_words)
        similarity = cosine_similarity(weights, topic_ctfidf[row]).ravel()
        best = np.argsort(-similarity, kind="stable")[: min(n_docs, len(rows))]
        result[int(topic)] = [int(rows[i]) for i in best]
    return result
