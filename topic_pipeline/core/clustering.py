"""Clustering of the reduced embeddings: HDBSCAN (BERTopic's default), fast_hdbscan, KMeans,
given labels (manual topic modeling), or any estimator with ``fit`` and ``labels_``."""

from __future__ import annotations

from typing import Any

import numpy as np

from topic_pipeline.core.estimators import build_estimator, check_has, fresh_copy
from topic_pipeline.core.gpu import cuml_class, is_cuml
from topic_pipeline.errors import EstimatorError, ParamsError
from topic_pipeline.params import ClusteringParams


def make_clusterer(params: ClusteringParams, estimator: Any | None = None, *, prediction_data: bool = False) -> Any:
    """The unfitted clusterer: a given object (copied), ``params.estimator``, or ``params.method``."""
    if estimator is not None:
        check_has(estimator, "clusterer", ("fit",))
        return fresh_copy(estimator)
    if params.estimator is not None:
        clusterer = build_estimator(params.estimator)
        check_has(clusterer, "clusterer", ("fit",))
        return clusterer
    if params.method == "kmeans":
        if params.backend == "cuml":
            return cuml_class("cluster", "KMeans", "clustering.backend")(n_clusters=params.n_clusters,
                                                                        random_state=params.random_state)
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=params.n_clusters, random_state=params.random_state, n_init="auto")
    settings = dict(
        min_cluster_size=params.min_cluster_size,
        min_samples=params.min_samples,
        cluster_selection_method=params.cluster_selection_method,
        cluster_selection_epsilon=params.cluster_selection_epsilon,
        allow_single_cluster=params.allow_single_cluster,
    )
    if params.backend == "cuml" and params.method == "fast_hdbscan":
        raise ParamsError("clustering.backend 'cuml' runs method hdbscan or kmeans; fast_hdbscan is CPU only.")
    if params.backend == "cuml" and params.method == "hdbscan":
        return cuml_class("cluster.hdbscan", "HDBSCAN", "clustering.backend")(
            metric=params.metric, prediction_data=prediction_data, **settings)
    if params.method == "fast_hdbscan":
        try:
            from fast_hdbscan import HDBSCAN as FastHDBSCAN
        except ImportError as exc:
            raise ParamsError(
                "clustering.method 'fast_hdbscan' needs the fast_hdbscan package: pip install fast_hdbscan."
            ) from exc
        return FastHDBSCAN(**settings)
    from hdbscan import HDBSCAN

    # one process: HDBSCAN's loky worker pool deadlocks at exit inside Dagster's step subprocesses
    # (seen on 18k documents); labels are identical and 2 cores gain little
    return HDBSCAN(metric=params.metric, prediction_data=prediction_data, core_dist_n_jobs=1, **settings)


def fit_clusterer(reduced: np.ndarray, params: ClusteringParams, *, prediction_data: bool = False,
                  estimator: Any | None = None, labels: np.ndarray | None = None
                  ) -> tuple[object | None, np.ndarray, np.ndarray]:
    """Fit the clusterer; return the model, raw labels (-1 = outlier) and membership strengths.

    HDBSCAN's prediction data (11 of 12 seconds on 20k documents) is computed
    only when asked for: labels and probabilities do not depend on it; only
    assigning new documents and membership matrices need it. With
    ``method: labels`` the given ``labels`` are the clusters (no model).

    Returns
    -------
    model : the fitted clusterer, or None for given labels
    labels : ndarray of shape (n_documents,), int64
    probabilities : ndarray of shape (n_documents,), float64 (NaN where the clusterer gives none)

    Raises
    ------
    StageInputError
        Fewer documents than HDBSCAN's ``min_cluster_size`` or ``min_samples`` or
        KMeans' ``n_clusters``, or no label per document for ``method: labels``.
    """
    built_in = estimator is None and params.estimator is None
    if params.method == "labels" and built_in:
        if labels is None or len(labels) != len(reduced):
            raise EstimatorError(
                "clustering.method 'labels' needs one label per document (the corpus label column, or y in "
                f"fit_transform); got {'none' if labels is None else len(labels)} for {len(reduced)} documents."
            )
        return None, np.asarray(labels, dtype=np.int64), np.full(len(reduced), np.nan)
    is_density = built_in and params.method != "kmeans"
    _check_document_count(len(reduced), params, built_in=built_in)
    model = make_clusterer(params, estimator, prediction_data=prediction_data or params.calculate_probabilities)
    if labels is not None and not is_density:
        try:  # a supervised "clusterer" (e.g. a classifier) learns from the labels
            model.fit(reduced, y=np.asarray(labels))
        except TypeError:
            model.fit(reduced)
    else:
        model.fit(reduced)
    found = _fitted_labels(model, labels)
    strengths = getattr(model, "probabilities_", None)
    probabilities = np.full(len(found), np.nan) if strengths is None else np.asarray(strengths, dtype=np.float64)
    return model, found, probabilities


def _check_document_count(n_documents: int, params: ClusteringParams, *, built_in: bool) -> None:
    """Refuse fewer documents than the built-in clusterer needs, before it is built and fitted.

    Checked up front so that the message names the setting to change (``min_cluster_size``, ``min_samples``
    or ``n_clusters``); a user's own estimator (``built_in`` False) is left to check its own needs.
    """
    is_density = built_in and params.method != "kmeans"
    if is_density and n_documents < params.min_cluster_size:
        raise EstimatorError(
            f"HDBSCAN needs at least clustering.min_cluster_size={params.min_cluster_size} documents, "
            f"got {n_documents}."
        )
    if is_density and params.min_samples is not None and n_documents < params.min_samples:
        # HDBSCAN's prediction data (calculate_probabilities, assign mode) asks for min_samples neighbours
        raise EstimatorError(
            f"HDBSCAN needs at least clustering.min_samples={params.min_samples} documents, got {n_documents}; "
            "add documents or lower clustering.min_samples."
        )
    if built_in and params.method == "kmeans" and n_documents < params.n_clusters:
        raise EstimatorError(
            f"KMeans needs at least clustering.n_clusters={params.n_clusters} documents, got {n_documents}; "
            "add documents or lower clustering.n_clusters."
        )


def _fitted_labels(model: Any, labels: np.ndarray | None) -> np.ndarray:
    """The cluster of each document after ``model.fit``: its ``labels_``, else the given labels.

    A classifier passed as the clusterer (BERTopic's supervised mode) has no ``labels_``; its classes
    are the labels it was fitted on.
    """
    if hasattr(model, "labels_"):
        return np.asarray(model.labels_, dtype=np.int64)
    if labels is not None:
        return np.asarray(labels, dtype=np.int64)
    raise EstimatorError(f"The clusterer {type(model).__name__} has no labels_ after fit; a clusterer needs it.")


def is_hdbscan(model: object) -> bool:
    """Whether ``model`` is an HDBSCAN (hdbscan's or cuML's) with prediction data (``approximate_predict`` works)."""
    module = type(model).__module__
    return (module.startswith("hdbscan") or (is_cuml(model) and "hdbscan" in module)) \
        and bool(getattr(model, "prediction_data", False))


def assign_clusters(model: object, reduced: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and strengths of new points: HDBSCAN's ``approximate_predict``, else the model's ``predict``.

    Raises
    ------
    StageInputError
        The clusterer can neither approximate nor predict.
    """
    if is_hdbscan(model):
        if is_cuml(model):
            approximate_predict = cuml_class("cluster.hdbscan", "approximate_predict", "clustering.backend")
        else:
            from hdbscan import approximate_predict

        labels, strengths = approximate_predict(model, reduced)
        return np.asarray(labels, dtype=np.int64), np.asarray(strengths, dtype=np.float64)
    if not hasattr(model, "predict"):
        raise EstimatorError(
            f"The clusterer {type(model).__name__} cannot place new documents: it has no predict method."
        )
    return np.asarray(model.predict(reduced), dtype=np.int64), np.full(len(reduced), np.nan)
