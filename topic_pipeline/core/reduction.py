"""Dimensionality reduction of document embeddings: UMAP (BERTopic's default), PCA, none, or any estimator.

UMAP is imported inside the functions: importing it costs seconds, and a
cached stage must not pay for it. Before a UMAP fits or transforms, numba is
set to load its compiled code from disk (``compiled_cache``): compiling it
again is half of a cold fit in a new process.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from topic_pipeline.core.compiled_cache import enable_compiled_cache
from topic_pipeline.core.estimators import build_estimator, check_has, fresh_copy
from topic_pipeline.core.gpu import cuml_class, cuml_umap
from topic_pipeline.errors import EstimatorError
from topic_pipeline.params import ReductionParams


class IdentityReducer:
    """No reduction: the embeddings as they are (BERTopic's ``BaseDimensionalityReduction``)."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> IdentityReducer:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)


def make_reducer(params: ReductionParams, estimator: Any | None = None) -> Any:
    """The unfitted reducer: a given object (copied), ``params.estimator``, or ``params.method``."""
    if estimator is not None:
        check_has(estimator, "reducer", ("fit", "transform"))
        return fresh_copy(estimator)
    if params.estimator is not None:
        reducer = build_estimator(params.estimator)
        check_has(reducer, "reducer", ("fit", "transform"))
        return reducer
    if params.method == "none":
        return IdentityReducer()
    if params.method == "pca":
        if params.backend == "cuml":
            return cuml_class("decomposition", "PCA", "reduction.backend")(n_components=params.n_components)
        from sklearn.decomposition import PCA

        return PCA(n_components=params.n_components, random_state=params.random_state)
    settings = dict(n_neighbors=params.n_neighbors, n_components=params.n_components, min_dist=params.min_dist,
                    metric=params.metric, low_memory=params.low_memory, random_state=params.random_state)
    if params.backend == "cuml":
        return cuml_umap(settings)
    from umap import UMAP

    return UMAP(**settings)


def fit_reducer(embeddings: np.ndarray, params: ReductionParams, y: np.ndarray | None = None,
                estimator: Any | None = None) -> tuple[object, np.ndarray]:
    """Fit the reducer; return the model (to place new documents later) and the reduced vectors.

    Matches BERTopic's ``_reduce_dimensionality``: fit (with ``y`` when the
    reducer takes one), transform, NaN -> 0. ``y`` (one label per document,
    -1 = unlabeled) makes UMAP supervised or semi-supervised, as BERTopic's
    guided and (semi-)supervised modes do.

    Returns
    -------
    model : the fitted reducer
    reduced : ndarray of shape (n_documents, n_components), float32

    Raises
    ------
    StageInputError
        Fewer documents than ``n_neighbors`` (UMAP cannot build its graph), or fewer
        documents or embedding dimensions than PCA's ``n_components``.
    """
    n_documents = len(embeddings)
    uses_umap = estimator is None and params.estimator is None and params.method == "umap"
    if uses_umap and n_documents <= params.n_neighbors:
        raise EstimatorError(
            f"UMAP needs more documents than reduction.n_neighbors={params.n_neighbors}, got {n_documents}; "
            "add documents or lower reduction.n_neighbors."
        )
    uses_pca = estimator is None and params.estimator is None and params.method == "pca"
    dimensions = int(np.shape(embeddings)[1]) if np.ndim(embeddings) == 2 else 0
    if uses_pca and params.n_components > min(n_documents, dimensions):
        raise EstimatorError(
            f"PCA needs at least reduction.n_components={params.n_components} documents and embedding dimensions, "
            f"got {n_documents} documents of dimension {dimensions}; lower reduction.n_components or add documents."
        )
    model = make_reducer(params, estimator)
    _load_compiled_code(model)
    target = None if y is None else np.asarray(y)
    if uses_umap:
        reduced = model.fit_transform(embeddings, y=target)
    else:
        try:
            model.fit(embeddings, y=target)
        except TypeError:  # reducers whose fit takes no y
            model.fit(embeddings)
        reduced = model.transform(embeddings)
    return model, np.nan_to_num(np.asarray(reduced)).astype(np.float32, copy=False)


def transform_embeddings(model: object, embeddings: np.ndarray) -> np.ndarray:
    """Place new documents in a fitted reducer's space (BERTopic's ``transform``)."""
    _load_compiled_code(model)
    return np.nan_to_num(np.asarray(model.transform(embeddings))).astype(np.float32, copy=False)


def _load_compiled_code(model: object) -> None:
    """A UMAP (ours or a user's) loads numba's compiled code from disk instead of compiling it again."""
    if type(model).__module__.split(".")[0] == "umap":
        enable_compiled_cache()
