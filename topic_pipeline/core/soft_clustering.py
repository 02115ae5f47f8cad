"""Soft cluster memberships from a fitted HDBSCAN, as topic probabilities.

HDBSCAN labels each point with one cluster (or none), but its prediction data
also gives every point a membership in every cluster. BERTopic returns these
as the topic probabilities of ``fit_transform``/``transform`` when
``calculate_probabilities=True`` (``all_points_membership_vectors`` for the
fitted documents, ``membership_vector`` for new ones), after moving the
columns from raw cluster labels to topic ids: the columns of clusters that
end up in the same topic are added, clusters mapped to -1 are dropped
(BERTopic's ``_map_probabilities``). Without ``calculate_probabilities`` it
returns HDBSCAN's one strength per document unmapped; that is not a
distribution and is not what this module computes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from topic_pipeline.errors import EstimatorError


def map_memberships(memberships: np.ndarray, cluster_to_topic: Mapping[int, int]) -> np.ndarray:
    """Move membership columns from raw cluster labels to topic ids, adding merged clusters.

    Parameters
    ----------
    memberships : ndarray of shape (n_documents, n_clusters)
        Column j is raw HDBSCAN cluster j. A 1-D array (HDBSCAN found no
        cluster) counts as zero columns.
    cluster_to_topic : mapping int -> int
        Raw cluster label -> topic id (-1 -> -1 for outliers). Topic ids other
        than -1 must be 0..n_topics-1.

    Returns
    -------
    ndarray of shape (n_documents, n_topics), float64
        Column t = sum of the columns of the clusters mapped to topic t.

    Raises
    ------
    StageInputError
        Topic ids with gaps, or a cluster label with no column.
    """
    memberships = np.asarray(memberships, dtype=np.float64)
    if memberships.ndim == 1:
        memberships = np.zeros((len(memberships), 0))
    pairs = {int(c): int(t) for c, t in cluster_to_topic.items() if int(c) != -1 and int(t) != -1}
    topic_ids = sorted(set(pairs.values()))
    if topic_ids != list(range(len(topic_ids))):
        raise EstimatorError(
            f"cluster_to_topic must map clusters to topic ids 0..n_topics-1 (and -1), got topic ids {topic_ids[:10]}; "
            "renumber the topics first (core.topic_ids.renumber_by_frequency)."
        )
    unknown = sorted(c for c in pairs if not 0 <= c < memberships.shape[1])
    if unknown:
        raise EstimatorError(
            f"cluster_to_topic names clusters {unknown[:10]} but the memberships have {memberships.shape[1]} columns; "
            "pass the mapping of this HDBSCAN model's labels."
        )
    mapped = np.zeros((memberships.shape[0], len(topic_ids)))
    for cluster, topic in pairs.items():
        mapped[:, topic] += memberships[:, cluster]
    return mapped


def membership_matrix(hdbscan_model: object, cluster_to_topic: Mapping[int, int]) -> np.ndarray:
    """Topic probabilities of the documents HDBSCAN was fitted on (``calculate_probabilities=True``).

    Parameters
    ----------
    hdbscan_model : hdbscan.HDBSCAN
        Fitted with ``prediction_data=True`` (or ``generate_prediction_data()`` called).
    cluster_to_topic : mapping int -> int
        Raw cluster label -> topic id, see ``map_memberships``.

    Returns
    -------
    ndarray of shape (n_documents, n_topics)
        Rows sum to the probability of being in some cluster (<= 1).

    Raises
    ------
    StageInputError
        Not an HDBSCAN model, no prediction data, or a mapping that does not fit.
    """
    _check_model(hdbscan_model)
    return map_memberships(cluster_memberships(hdbscan_model), cluster_to_topic)


def cluster_memberships(hdbscan_model: object) -> np.ndarray:
    """HDBSCAN's soft memberships of the fitted points, shape (n_documents, n_clusters), float64.

    hdbscan returns a 1-D array when it found no cluster, and fails with a
    KeyError on a single selected cluster (its issue #388); here no cluster
    gives zero columns and one cluster its membership strengths (outliers 0).
    """
    import hdbscan

    labels = np.asarray(hdbscan_model.labels_)
    clusters = len(set(labels.tolist()) - {-1})
    if clusters == 0:
        return np.zeros((len(labels), 0), dtype=np.float64)
    if clusters == 1:
        strengths = np.asarray(hdbscan_model.probabilities_, dtype=np.float64)
        return np.where(labels == 0, strengths, 0.0).reshape(-1, 1)
    memberships = hdbscan.all_points_membership_vectors(hdbscan_model)
    return np.asarray(memberships, dtype=np.float64).reshape(len(labels), clusters)


def membership_of_new(hdbscan_model: object, reduced: np.ndarray, cluster_to_topic: Mapping[int, int]) -> np.ndarray:
    """Topic probabilities of new points placed in a fitted HDBSCAN (``transform``).

    Parameters
    ----------
    hdbscan_model : hdbscan.HDBSCAN
        Fitted with prediction data.
    reduced : ndarray of shape (n_documents, n_components)
        The new documents' reduced embeddings (same reducer as the fit).
    cluster_to_topic : mapping int -> int
        Raw cluster label -> topic id, see ``map_memberships``.

    Returns
    -------
    ndarray of shape (n_documents, n_topics)

    Raises
    ------
    StageInputError
        Not an HDBSCAN model, no prediction data, or ``reduced`` of the wrong width.
    """
    import hdbscan

    _check_model(hdbscan_model)
    reduced = np.asarray(reduced, dtype=np.float64)
    width = hdbscan_model.prediction_data_.raw_data.shape[1]
    if reduced.ndim != 2 or reduced.shape[1] != width:
        raise EstimatorError(
            f"reduced must have shape (n_documents, {width}) like the points HDBSCAN was fitted on, "
            f"got {reduced.shape}; "
            "reduce the new embeddings with the fitted reducer first."
        )
    if len(reduced) == 0:
        return map_memberships(np.zeros((0, _n_clusters(hdbscan_model))), cluster_to_topic)
    return map_memberships(hdbscan.membership_vector(hdbscan_model, reduced), cluster_to_topic)


def _check_model(model: object) -> None:
    import hdbscan

    if not isinstance(model, hdbscan.HDBSCAN) or not hasattr(model, "labels_"):
        raise EstimatorError(f"Soft clustering needs a fitted hdbscan.HDBSCAN, got {type(model).__name__}.")
    try:
        model.prediction_data_  # noqa: B018 (the property raises when it was not generated)
    except AttributeError as exc:
        raise EstimatorError(
            "This HDBSCAN model has no prediction data; fit it with prediction_data=True "
            "or call model.generate_prediction_data()."
        ) from exc


def _n_clusters(model: object) -> int:
    labels = np.asarray(model.labels_)
    return int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
