"""From raw cluster labels to topic ids: the largest topic is 0, outliers stay -1."""

from __future__ import annotations

import numpy as np


def sort_topics_by_size(labels: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Renumber clusters by descending size; ties keep the order of first appearance.

    Returns
    -------
    topics : ndarray of shape (n_documents,), the new ids (-1 kept)
    mapping : dict raw label -> topic id (including -1 -> -1 when present)
    """
    labels = np.asarray(labels, dtype=np.int64)
    clusters, first_seen, sizes = np.unique(labels, return_index=True, return_counts=True)
    keep = clusters != -1
    clusters, first_seen, sizes = clusters[keep], first_seen[keep], sizes[keep]
    order = np.lexsort((first_seen, -sizes))
    mapping = {int(clusters[i]): rank for rank, i in enumerate(order)}
    if (labels == -1).any():
        mapping[-1] = -1
    lookup = np.vectorize(mapping.__getitem__, otypes=[np.int64])
    return (lookup(labels) if len(labels) else labels.copy()), mapping


def topic_sizes(topics: np.ndarray) -> dict[int, int]:
    """Number of documents per topic id, ordered by id."""
    ids, counts = np.unique(np.asarray(topics), return_counts=True)
    return {int(i): int(c) for i, c in zip(ids, counts, strict=True)}


def topic_embeddings(embeddings: np.ndarray, topics: np.ndarray) -> np.ndarray:
    """Mean document embedding per topic, rows in ascending topic id (-1 first when present)."""
    ids = np.unique(topics)
    return np.vstack([embeddings[topics == topic].mean(axis=0) for topic in ids]).astype(np.float32)
