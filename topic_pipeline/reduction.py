"""Dimensionality reduction of document embeddings with UMAP (BERTopic's default).

UMAP is imported inside the functions: importing it compiles numba code, which
costs tens of seconds, and a cached stage must not pay for it.
"""

from __future__ import annotations

import numpy as np

from topic_pipeline.errors import StageInputError
from topic_pipeline.params import ReductionParams


def fit_reducer(embeddings: np.ndarray, params: ReductionParams) -> tuple[object, np.ndarray]:
    """Fit UMAP; return the model (to place new documents later) and the reduced vectors.

    Matches BERTopic's ``_reduce_dimensionality``: ``fit_transform`` then NaN -> 0.

    Returns
    -------
    model : umap.UMAP
    reduced : ndarray of shape (n_documents, n_components), float32

    Raises
    ------
    StageInputError
        Fewer documents than ``n_neighbors`` (UMAP cannot build its graph).
    """
    n_documents = len(embeddings)
    if n_documents <= params.n_neighbors:
        raise StageInputError(
            f"UMAP needs more documents than reduction.n_neighbors={params.n_neighbors}, got {n_documents}; "
            "add documents or lower reduction.n_neighbors."
        )
    from umap import UMAP

    model = UMAP(
        n_neighbors=params.n_neighbors,
        n_components=params.n_components,
        min_dist=params.min_dist,
        metric=params.metric,
        low_memory=params.low_memory,
        random_state=params.random_state,
    )
    reduced = model.fit_transform(embeddings)
    return model, np.nan_to_num(reduced).astype(np.float32, copy=False)


def reduce_embeddings(embeddings: np.ndarray, params: ReductionParams) -> np.ndarray:
    """The reduced vectors only, shape (n_documents, n_components); see ``fit_reducer``."""
    return fit_reducer(embeddings, params)[1]


def transform_embeddings(model: object, embeddings: np.ndarray) -> np.ndarray:
    """Place new documents in a fitted UMAP space (BERTopic's ``transform``)."""
    return np.nan_to_num(model.transform(embeddings)).astype(np.float32, copy=False)
