"""The 2-D maps BERTopic's figures draw: of the documents (``visualize_documents``) and of the topics
(``visualize_topics``).

BERTopic reduces the document embeddings to two dimensions inside the figure function, every time the
figure is drawn. Here it is a pure function: the pipeline's ``document_map`` stage calls it once and
stores x and y per document, so figures (and the report) read the stored map instead of running UMAP
again; ``TopicModel.visualize_documents`` calls it only when no ``reduced_embeddings`` are given.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.compiled_cache import enable_compiled_cache
from topic_pipeline.errors import StageInputError


def reduce_to_2d(embeddings: np.ndarray, *, n_neighbors: int = 10, min_dist: float = 0.0, metric: str = "cosine",
                 random_state: int | None = None) -> np.ndarray:
    """Reduce ``embeddings`` to 2-D with UMAP as ``visualize_documents`` does.

    The defaults are BERTopic 0.17.4's (``UMAP(n_neighbors=10, n_components=2, min_dist=0.0,
    metric="cosine")``, no seed); give ``random_state`` for a reproducible map (UMAP then runs single
    threaded, as it always does with a seed).

    Parameters
    ----------
    embeddings : array-like of shape (n_documents, n_dimensions)
    n_neighbors, min_dist, metric, random_state
        UMAP's arguments.

    Returns
    -------
    ndarray of shape (n_documents, 2), float32
        x and y of each document, in the order of ``embeddings``.

    Raises
    ------
    StageInputError
        When ``embeddings`` is not a 2-D array of at least 3 rows (UMAP cannot lay out fewer).
    """
    vectors = np.asarray(embeddings)
    if vectors.ndim != 2 or len(vectors) < 3:
        raise StageInputError(
            f"A 2-D document map needs embeddings of shape (n_documents >= 3, n_dimensions); got shape {vectors.shape}."
        )
    from umap import UMAP  # imported only when a map is actually computed

    enable_compiled_cache()

    reducer = UMAP(n_neighbors=min(n_neighbors, len(vectors) - 1), n_components=2, min_dist=min_dist, metric=metric,
                   random_state=random_state)
    return np.asarray(reducer.fit(vectors).embedding_, dtype=np.float32)


def reduce_topics_to_2d(vectors: np.ndarray | sp.spmatrix, *, use_ctfidf: bool) -> np.ndarray:
    """Place topics in 2-D as BERTopic's ``visualize_topics`` does.

    Topic embeddings are laid out by cosine distance; c-TF-IDF rows are first scaled to [0, 1] per term
    (``MinMaxScaler``) and compared by hellinger distance, which suits distributions of term weights.
    Both use ``UMAP(n_neighbors=2, n_components=2, init="random", random_state=42)``, so the same vectors
    give the same map as BERTopic on the same machine.

    Parameters
    ----------
    vectors : array-like or sparse matrix of shape (n_topics, n_features), one row per topic drawn
    use_ctfidf : whether the rows are c-TF-IDF weights (else topic embeddings)

    Returns
    -------
    ndarray of shape (n_topics, 2), float32

    Raises
    ------
    StageInputError
        With fewer than 3 topics: UMAP cannot lay out fewer, and BERTopic fails there too.
    """
    rows = vectors.toarray() if sp.issparse(vectors) else np.asarray(vectors)
    if rows.ndim != 2 or len(rows) < 3:
        raise StageInputError(f"An intertopic distance map needs at least 3 topics; got {len(rows)} "
                              "(select more topics or fit a model with more topics).")
    from sklearn.preprocessing import MinMaxScaler
    from umap import UMAP

    enable_compiled_cache()

    if use_ctfidf:
        rows = MinMaxScaler().fit_transform(rows)
    reducer = UMAP(n_neighbors=2, n_components=2, metric="hellinger" if use_ctfidf else "cosine", init="random",
                   random_state=42)
    return np.asarray(reducer.fit_transform(rows), dtype=np.float32)
