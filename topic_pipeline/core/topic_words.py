"""Topic words, names and representative documents from the c-TF-IDF matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topic_pipeline.core.ctfidf import ctfidf_transform
from topic_pipeline.core.sklearn_functions import cosine_similarity

MISSING_WORD = ("", 1e-05)
CANDIDATE_WORDS = 30


def top_words(ctfidf: sp.csr_matrix, vocabulary: np.ndarray, n_words: int) -> list[list[tuple[str, float]]]:
    """The ``n_words`` highest-weighted terms of each row, padded with ("", 1e-05), exactly as BERTopic.

    BERTopic picks a row's top entries with ``np.argpartition`` over the row's stored values, then orders
    the (n_rows, n_words) score array with one ``np.argsort(scores, 1)`` and reverses it. Equal weights come
    out in whatever order those calls give, which depends on the stored order of the row (``csr @ diag``
    stores columns in descending order) and on the CPU's SIMD sort. We make the same calls on the same
    stored layout (``ctfidf_transform`` keeps BERTopic's), so ties land where BERTopic puts them on this
    machine, rather than in a tidier order that would give other words.
    """
    n_rows = ctfidf.shape[0]
    columns = np.full((n_rows, n_words), -1, dtype=np.int64)
    scores = np.zeros((n_rows, n_words), dtype=np.float64)
    for row, (start, end) in enumerate(zip(ctfidf.indptr[:-1], ctfidf.indptr[1:], strict=True)):
        take = min(n_words, int(end - start))
        if take:
            chosen = np.argpartition(ctfidf.data[start:end], -take)[-take:]
            columns[row, :take] = ctfidf.indices[start:end][chosen]
            scores[row, :take] = ctfidf.data[start:end][chosen]
    order = np.argsort(scores, 1)
    columns, scores = np.take_along_axis(columns, order, axis=1), np.take_along_axis(scores, order, axis=1)
    return [[(str(vocabulary[c]), float(s)) if c >= 0 and s > 0 else MISSING_WORD
             for c, s in zip(row_columns[::-1], row_scores[::-1], strict=True)]
            for row_columns, row_scores in zip(columns, scores, strict=True)]


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
    sampled_topics = sampled["topic"].to_numpy()
    rows_of = [sampled.index[sampled_topics == topic].to_numpy() for topic in topic_ids]
    # BERTopic weights and compares each topic's sample on its own; every step is row by row (l1 and l2
    # normalisation, idf, each similarity summed over the document's terms in stored order), so doing all
    # topics in one matrix product gives the same numbers for a fraction of the calls
    all_rows = np.concatenate(rows_of) if rows_of else np.zeros(0, dtype=np.int64)
    weights = ctfidf_transform(doc_term_counts[all_rows], idf, reduce_frequent_words=reduce_frequent_words)
    similarities = cosine_similarity(weights, topic_ctfidf)
    result: dict[int, list[int]] = {}
    start = 0
    for row, topic in enumerate(topic_ids):
        rows = rows_of[row]
        similarity = similarities[start:start + len(rows), row]
        start += len(rows)
        best = np.argsort(-similarity, kind="stable")[: min(n_docs, len(rows))]
        result[int(topic)] = [int(rows[i]) for i in best]
    return result
