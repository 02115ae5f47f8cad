"""Topic ids: the one rule that numbers topics by size (largest = 0, outliers stay -1), sizes, means."""

from __future__ import annotations

import numpy as np


def topic_sizes(topics: np.ndarray) -> dict[int, int]:
    """Number of documents per topic id, ordered by id."""
    ids, counts = np.unique(np.asarray(topics), return_counts=True)
    return {int(i): int(c) for i, c in zip(ids, counts, strict=True)}


def topic_embeddings(embeddings: np.ndarray, topics: np.ndarray) -> np.ndarray:
    """Mean document embedding per topic, rows in ascending topic id (-1 first when present)."""
    ids = np.unique(topics)
    return np.vstack([embeddings[topics == topic].mean(axis=0) for topic in ids]).astype(np.float32)


def renumber_by_frequency(topics: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Renumber topics by descending size exactly as BERTopic's ``_sort_mappings_by_frequency``.

    BERTopic counts topics with a ``Counter`` (keys in order of first appearance
    in the documents, -1 included) and sorts the counts with pandas'
    ``sort_values(ascending=False)``, whose default quicksort is not stable: the
    order of equal-sized topics is whatever numpy's quicksort makes of the
    reversed count array. We run that same numpy sort on the same array, so ties
    land where BERTopic puts them (on the same numpy and CPU), rather than in a
    tidier order that would give different ids.

    Parameters
    ----------
    topics : ndarray of shape (n_documents,)
        Topic id per document; any integers, -1 = outlier.

    Returns
    -------
    topics : ndarray of shape (n_documents,), int64
        New ids: 0 for the largest topic, -1 kept.
    mapping : dict old id -> new id (including -1 -> -1 when present)
    """
    topics = np.asarray(topics, dtype=np.int64)
    ids, first_seen, inverse, counts = np.unique(topics, return_index=True, return_inverse=True, return_counts=True)
    appearance = np.argsort(first_seen)
    keys, sizes = ids[appearance], counts[appearance].astype(np.int64)
    # pandas.core.sorting.nargsort(ascending=False): sort the reversed array, reverse the result
    positions = np.arange(len(sizes))[::-1]
    order = positions[sizes[::-1].argsort(kind="quicksort")][::-1]
    ranked = [int(key) for key in keys[order] if key != -1]
    mapping = {old: new for new, old in enumerate(ranked)}
    if (ids == -1).any():
        mapping[-1] = -1
    lookup = np.array([mapping[int(old)] for old in ids], dtype=np.int64)
    return lookup[inverse.reshape(-1)], mapping
