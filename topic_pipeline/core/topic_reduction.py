"""New topic ids after merging topics by hand or reducing their number (BERTopic's post-fit toolbox).

Each operation returns a ``TopicRemap``: the per-document ids after the merge,
renumbered by size the way BERTopic 0.17.4 does it (largest = 0, -1 stays -1),
plus the old -> new mapping and, per new topic, the old topics it absorbed. The
caller recomputes c-TF-IDF and topic words from the new ids with the usual
stage functions; ``merged_topic_embeddings`` gives the new topic embeddings,
which BERTopic computes from the old ones rather than from the documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.topic_ids import renumber_by_frequency
from topic_pipeline.errors import StageInputError


@dataclass(frozen=True, eq=False)
class TopicRemap:
    """The outcome of a merge or reduction.

    Attributes
    ----------
    topics : ndarray of shape (n_documents,), int64
        New topic id per document, largest topic = 0, outliers still -1.
    mapping : dict old topic id -> new topic id
        One entry per old topic (including -1 -> -1 when present), so that
        later predictions and probability columns can be carried over.
    merged_from : dict new topic id -> list of old topic ids (ascending)
        Which old topics each new topic is made of; BERTopic weights the old
        topic embeddings by their sizes to get the new ones.
    """

    topics: np.ndarray
    mapping: dict[int, int]
    merged_from: dict[int, list[int]]


def merge_topic_ids(
    topics: np.ndarray, topics_to_merge: Sequence[int] | Sequence[Sequence[int]], *, renumber: bool = True
) -> TopicRemap:
    """Merge the given topics (BERTopic's ``merge_topics``) and renumber by size.

    Each group takes the id of its first listed topic; with ``renumber`` (the
    default) all topics are then renumbered by size, which hides that choice.

    Parameters
    ----------
    topics : ndarray of shape (n_documents,)
        Current topic id per document (-1 = outlier).
    topics_to_merge : list of int, or list of lists of int
        One group (``[1, 2, 3]`` merges topics 1, 2 and 3) or several disjoint
        groups (``[[1, 2], [3, 4]]``). Each group needs at least two distinct
        existing topics; the outlier topic -1 cannot be merged.
    renumber : bool, default True
        False keeps the ids (gaps included). BERTopic skips its renumbering for
        a model with zero-shot topics whose ``nr_topics`` is unset, so the
        zero-shot topics keep their ids; pass False to match that.

    Returns
    -------
    TopicRemap

    Raises
    ------
    StageInputError
        If the groups are empty, malformed, overlapping, contain -1, fewer than
        two distinct topics, or topic ids that no document has.
    """
    topics = _as_topic_array(topics)
    groups = _merge_groups(topics_to_merge)
    existing = {int(t) for t in np.unique(topics)}
    _check_merge_groups(groups, existing)
    step = {topic: topic for topic in existing}
    for group in groups:
        step.update({topic: group[0] for topic in group})
    return _finish(topics, step, renumber=renumber)


def _check_merge_groups(groups: list[list[int]], existing: set[int]) -> None:
    """Refuse groups a merge cannot honour, naming the group: -1, unknown ids, one topic, or overlaps.

    Checked before any id changes: overlapping groups would make the merged ids depend on the groups' order,
    an unknown id would silently merge nothing, and -1 would turn the outliers into a topic.
    """
    seen: dict[int, int] = {}
    for number, group in enumerate(groups):
        missing = sorted(set(group) - existing)
        if -1 in group:
            raise StageInputError(
                f"topics_to_merge group {group} contains the outlier topic -1, which cannot be merged. "
                "Leave -1 out; reassign outlier documents with reduce_outliers instead."
            )
        if missing:
            raise StageInputError(
                f"topics_to_merge group {group} names topic(s) {missing} that no document has; "
                f"existing topics are {min(existing)}..{max(existing)}. Use ids from the current topics."
            )
        if len(set(group)) < 2:
            raise StageInputError(
                f"topics_to_merge group {group} has fewer than 2 distinct topics; got {sorted(set(group))}. "
                "A merge needs at least two topic ids, e.g. [1, 2]."
            )
        for topic in group:
            if seen.get(topic, number) != number:
                raise StageInputError(
                    f"Topic {topic} appears in two topics_to_merge groups ({groups[seen[topic]]} and {group}). "
                    "Put all topics that should end up together in one group."
                )
            seen[topic] = number


def reduce_to_n_topics(topics: np.ndarray, topic_vectors: np.ndarray | sp.spmatrix, nr_topics: int) -> TopicRemap:
    """Reduce to ``nr_topics`` topics (BERTopic's ``reduce_topics(nr_topics=int)``).

    Average-linkage agglomerative clustering of the non-outlier topics on
    1 - cosine similarity of their vectors. As in BERTopic, ``nr_topics``
    counts the outlier topic -1 when documents have it, so the topics other
    than -1 are clustered into ``nr_topics - 1`` groups.

    Parameters
    ----------
    topics : ndarray of shape (n_documents,)
        Current topic id per document (-1 = outlier).
    topic_vectors : ndarray or sparse matrix of shape (n_topics, n_features)
        One row per unique topic id in ascending order (-1 first when present):
        topic embeddings, or c-TF-IDF rows for BERTopic's ``use_ctfidf=True``.
    nr_topics : int
        Number of topics wanted, -1 included; at least 1 (2 with outliers) and
        fewer than the current number.

    Returns
    -------
    TopicRemap

    Raises
    ------
    StageInputError
        If ``nr_topics`` is out of range or ``topic_vectors`` has the wrong number of rows.
    """
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics.pairwise import cosine_similarity

    topics = _as_topic_array(topics)
    ids, vectors = _topic_vectors(topics, topic_vectors)
    has_outliers = int(ids[0] == -1)
    if isinstance(nr_topics, bool) or not isinstance(nr_topics, Integral):
        raise StageInputError(f"nr_topics must be an int (or use reduce_automatically for 'auto'); got {nr_topics!r}.")
    # BERTopic silently keeps every topic when nr_topics >= the current count; we say so instead.
    if not 1 + has_outliers <= nr_topics < len(ids):
        outliers = " including the outlier topic -1" if has_outliers else ""
        raise StageInputError(
            f"nr_topics must be between {1 + has_outliers} and {len(ids) - 1}: there are {len(ids)} topics{outliers}; "
            f"got nr_topics={nr_topics}. Pick a smaller number than the current topic count."
        )
    distance = 1 - cosine_similarity(vectors[has_outliers:])
    np.fill_diagonal(distance, 0)
    labels = AgglomerativeClustering(int(nr_topics) - has_outliers, metric="precomputed", linkage="average").fit(distance).labels_
    step = {int(topic): int(label) for topic, label in zip(ids[has_outliers:], labels, strict=True)}
    if has_outliers:
        step[-1] = -1
    return _finish(topics, step)


def reduce_automatically(topics: np.ndarray, topic_vectors: np.ndarray | sp.spmatrix) -> TopicRemap:
    """Merge similar topics found by HDBSCAN (BERTopic's ``reduce_topics(nr_topics="auto")``).

    HDBSCAN (min_cluster_size=2, euclidean, eom) over the L2-normalised vectors
    of the non-outlier topics; each cluster of topics becomes its lowest topic
    id, unclustered topics stay as they are; then everything is renumbered by size.

    Parameters
    ----------
    topics : ndarray of shape (n_documents,)
        Current topic id per document (-1 = outlier).
    topic_vectors : ndarray or sparse matrix of shape (n_topics, n_features)
        One row per unique topic id in ascending order (-1 first when present).

    Returns
    -------
    TopicRemap

    Raises
    ------
    StageInputError
        If there are fewer than 2 topics besides -1 or ``topic_vectors`` has the wrong number of rows.
    """
    from hdbscan import HDBSCAN
    from sklearn.preprocessing import normalize

    topics = _as_topic_array(topics)
    ids, vectors = _topic_vectors(topics, topic_vectors)
    has_outliers = int(ids[0] == -1)
    if len(ids) - has_outliers < 2:
        raise StageInputError(
            f"Automatic topic reduction needs at least 2 topics besides -1; got {len(ids) - has_outliers}. "
            "There is nothing to merge."
        )
    labels = HDBSCAN(
        min_cluster_size=2, metric="euclidean", cluster_selection_method="eom", core_dist_n_jobs=1
    ).fit_predict(normalize(vectors, norm="l2")[has_outliers:])
    lowest: dict[int, int] = {}
    for label, topic in zip(labels, ids[has_outliers:], strict=True):
        if label != -1:
            lowest[int(label)] = min(lowest.get(int(label), int(topic)), int(topic))
    step = {int(t): (lowest[int(label)] if label != -1 else int(t)) for label, t in zip(labels, ids[has_outliers:], strict=True)}
    if has_outliers:
        step[-1] = -1
    return _finish(topics, step)


def merged_topic_embeddings(
    old_embeddings: np.ndarray, old_ids: np.ndarray, old_sizes: np.ndarray, remap: TopicRemap
) -> np.ndarray:
    """Size-weighted mean of the old topic embeddings per new topic, as BERTopic does after a merge.

    Parameters
    ----------
    old_embeddings : ndarray of shape (n_old_topics, dim)
        Topic embeddings before the operation, one row per id of ``old_ids``.
    old_ids : ndarray of shape (n_old_topics,)
        The topic id of each row.
    old_sizes : ndarray of shape (n_old_topics,)
        Number of documents of each old topic (the weights).
    remap : TopicRemap
        The result of the merge or reduction.

    Returns
    -------
    ndarray of shape (n_new_topics, dim), dtype of ``old_embeddings``
        Rows in ascending new topic id (-1 first when present).

    Raises
    ------
    StageInputError
        If the arrays disagree in length or an old topic of ``remap`` has no row.
    """
    old_embeddings = np.asarray(old_embeddings)
    old_ids = np.asarray(old_ids).astype(np.int64).reshape(-1)
    old_sizes = np.asarray(old_sizes, dtype=np.float64).reshape(-1)
    if old_embeddings.ndim != 2 or not len(old_embeddings) == len(old_ids) == len(old_sizes):
        raise StageInputError(
            "old_embeddings (2-D), old_ids and old_sizes must have one row per old topic; got "
            f"shapes {old_embeddings.shape}, {old_ids.shape} and {old_sizes.shape}. Pass the rows of the same topics."
        )
    row_of = {int(topic): row for row, topic in enumerate(old_ids)}
    missing = sorted(set(remap.mapping) - set(row_of))
    if missing:
        raise StageInputError(
            f"old_ids has no row for topic(s) {missing} of the remap; got ids {old_ids.tolist()}. "
            "Pass the topic embeddings from before the merge."
        )
    merged = []
    for new in sorted(remap.merged_from):
        rows = [row_of[old] for old in remap.merged_from[new]]
        merged.append(np.average(old_embeddings[rows].astype(np.float64), axis=0, weights=old_sizes[rows]))
    return np.asarray(merged, dtype=old_embeddings.dtype)


def _finish(topics: np.ndarray, step: dict[int, int], *, renumber: bool = True) -> TopicRemap:
    """Apply the merge step, renumber by size (unless told not to) and record old -> new."""
    ids, inverse = np.unique(topics, return_inverse=True)
    merged = np.array([step[int(t)] for t in ids], dtype=np.int64)[inverse.reshape(-1)]
    new_topics, order = renumber_by_frequency(merged) if renumber else (merged, {t: t for t in step.values()})
    mapping = {int(old): order[step[int(old)]] for old in ids}
    merged_from: dict[int, list[int]] = {}
    for old, new in sorted(mapping.items()):
        merged_from.setdefault(new, []).append(old)
    return TopicRemap(new_topics, mapping, dict(sorted(merged_from.items())))


def _as_topic_array(topics: np.ndarray) -> np.ndarray:
    array = np.asarray(topics)
    if array.ndim != 1 or len(array) == 0 or not (np.issubdtype(array.dtype, np.integer) or _whole(array)):
        raise StageInputError(
            f"topics must be a non-empty 1-D array of integer topic ids per document; got shape {array.shape}, "
            f"dtype {array.dtype}. Pass the topic_id column of the topic assignments."
        )
    if (array < -1).any():
        raise StageInputError(f"topic ids must be >= -1 (-1 = outlier); got {int(array.min())}.")
    return array.astype(np.int64)


def _whole(array: np.ndarray) -> bool:
    return np.issubdtype(array.dtype, np.floating) and bool(np.all(np.isfinite(array) & (array == np.round(array))))


def _topic_vectors(topics: np.ndarray, topic_vectors: np.ndarray | sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Unique topic ids and their vectors as a dense array (BERTopic densifies c-TF-IDF too)."""
    ids = np.unique(topics)
    vectors = topic_vectors.toarray() if sp.issparse(topic_vectors) else np.asarray(topic_vectors)
    if vectors.ndim != 2 or len(vectors) != len(ids):
        raise StageInputError(
            f"topic_vectors must have one row per topic ({len(ids)} topics: ids {ids[0]}..{ids[-1]}, "
            f"-1 first when present); got shape {vectors.shape}. Pass the topic embeddings or c-TF-IDF rows "
            "of the current topics."
        )
    return ids, vectors


def _merge_groups(topics_to_merge: Sequence[int] | Sequence[Sequence[int]]) -> list[list[int]]:
    """Normalise BERTopic's two spellings (one group, or a list of groups) into a list of groups."""
    if isinstance(topics_to_merge, (str, bytes)) or not isinstance(topics_to_merge, Sequence | np.ndarray):
        raise StageInputError(
            f"topics_to_merge must be a list of topic ids or a list of lists of topic ids; got {topics_to_merge!r}."
        )
    items = list(topics_to_merge)
    if not items:
        raise StageInputError("topics_to_merge is empty; expected e.g. [1, 2] or [[1, 2], [3, 4]].")
    if all(_is_id(item) for item in items):
        return [[int(item) for item in items]]
    groups = []
    for item in items:
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence | np.ndarray) or not all(_is_id(t) for t in item):
            raise StageInputError(
                "topics_to_merge must be a list of topic ids or a list of lists of topic ids, not a mix; "
                f"got {topics_to_merge!r}. Write e.g. [[1, 2], [3, 4]]."
            )
        groups.append([int(t) for t in item])
    return groups


def _is_id(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)
