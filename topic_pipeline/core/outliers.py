"""Give outlier documents (topic -1) a topic afterwards (BERTopic's ``reduce_outliers``).

HDBSCAN leaves documents in low-density regions unassigned; users often want
every document in a topic. Four strategies score each outlier against the
topics and take the best one; only documents with topic -1 change.

- ``probabilities``: HDBSCAN soft memberships (``soft_clustering``); the best
  topic if its membership is at least ``threshold``.
- ``distributions``: ``approximate_distribution`` of the outlier documents,
  computed with ``min_similarity=threshold``; the best topic of each.
- ``c-tf-idf``: cosine between the documents' c-TF-IDF and the topics'.
- ``embeddings``: cosine between document and topic embeddings.

For the similarity strategies, values below ``threshold`` count as 0 and a
document whose values then sum to at most 0 stays -1 (as BERTopic). Topic
matrices hold topics 0..n_topics-1 *without* the outlier row. Document
inputs may have one row per document or one row per outlier (in document
order), so the costly ones can be computed for the outliers only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.ctfidf import ctfidf_transform
from topic_pipeline.core.distribution import approximate_distribution
from topic_pipeline.core.sklearn_functions import cosine_similarity
from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.params import OutlierStrategy

OUTLIER_STRATEGIES: tuple[str, ...] = get_args(OutlierStrategy)
_INPUT_OF: dict[str, tuple[str, ...]] = {
    "probabilities": ("probabilities",),
    "distributions": ("distributions",),
    "c-tf-idf": ("document_ctfidf", "topic_ctfidf"),
    "embeddings": ("document_embeddings", "topic_embeddings"),
}


def reduce_outliers(
    topics: Sequence[int] | np.ndarray,
    strategy: OutlierStrategy = "distributions",
    threshold: float = 0,
    *,
    probabilities: np.ndarray | None = None,
    distributions: np.ndarray | None = None,
    document_ctfidf: sp.spmatrix | np.ndarray | None = None,
    topic_ctfidf: sp.spmatrix | np.ndarray | None = None,
    document_embeddings: np.ndarray | None = None,
    topic_embeddings: np.ndarray | None = None,
) -> np.ndarray:
    """New topic per document: outliers moved to their best topic by ``strategy``.

    Parameters
    ----------
    topics : array-like of shape (n_documents,)
        Current topic ids, -1 = outlier.
    strategy : {"probabilities", "distributions", "c-tf-idf", "embeddings"}
    threshold : float
        Minimum membership (probabilities) or similarity (the others). For
        ``distributions`` it is the ``min_similarity`` the distributions must
        have been computed with (``outlier_distributions``); it is not applied
        again to the normalised distributions.
    probabilities : ndarray of shape (n_documents or n_outliers, n_topics)
        Soft memberships (``soft_clustering.membership_matrix``), for "probabilities".
    distributions : ndarray of shape (n_documents or n_outliers, n_topics)
        For "distributions".
    document_ctfidf : sparse matrix of shape (n_documents or n_outliers, n_terms)
    topic_ctfidf : sparse matrix of shape (n_topics, n_terms)
        For "c-tf-idf"; see ``outlier_ctfidf`` for the document rows.
    document_embeddings : ndarray of shape (n_documents or n_outliers, dim)
    topic_embeddings : ndarray of shape (n_topics, dim)
        For "embeddings".

    Returns
    -------
    ndarray of shape (n_documents,), int64
        Equal to ``topics`` except at outliers that found a topic.

    Raises
    ------
    ParamsError
        Unknown strategy.
    StageInputError
        An input the strategy needs is missing or has the wrong shape.
    """
    given = {"probabilities": probabilities, "distributions": distributions,
             "document_ctfidf": document_ctfidf, "topic_ctfidf": topic_ctfidf,
             "document_embeddings": document_embeddings, "topic_embeddings": topic_embeddings}
    _check_strategy_inputs(strategy, given)
    topics = _as_topics(topics)
    if strategy == "probabilities":
        return reduce_by_probabilities(topics, probabilities, threshold)
    if strategy == "distributions":
        return reduce_by_distributions(topics, distributions)
    names = _INPUT_OF[strategy]  # "c-tf-idf" or "embeddings": (document input, topic input)
    return reduce_by_similarity(topics, given[names[0]], given[names[1]], threshold, names=names)


def _check_strategy_inputs(strategy: str, given: dict[str, Any]) -> None:
    """Refuse an unknown strategy, or one whose inputs were not passed, before any array is touched.

    Every input is optional in ``reduce_outliers``' signature because each strategy needs different ones;
    this names the one that is missing for the chosen strategy.
    """
    if strategy not in OUTLIER_STRATEGIES:
        valid = ", ".join(map(repr, OUTLIER_STRATEGIES))
        raise ParamsError(f"Unknown outlier strategy {strategy!r}; expected one of {valid}.")
    for name in _INPUT_OF[strategy]:
        if given[name] is None:
            raise StageInputError(f"Outlier strategy {strategy!r} needs {name}; pass it (see topic_pipeline.core.outliers).")


def reduce_by_probabilities(
    topics: Sequence[int] | np.ndarray, probabilities: np.ndarray, threshold: float = 0
) -> np.ndarray:
    """Outliers take their most probable topic when its probability is at least ``threshold``.

    As BERTopic, the test is ``max >= threshold``, so with threshold 0 every
    outlier gets a topic. One strength per document (HDBSCAN's
    ``probabilities_``, ``calculate_probabilities=False``) is refused: BERTopic
    would send every such outlier to topic 0.

    Parameters
    ----------
    topics : array-like of shape (n_documents,)
    probabilities : ndarray of shape (n_documents or n_outliers, n_topics)
    threshold : float

    Returns
    -------
    ndarray of shape (n_documents,), int64
    """
    topics = _as_topics(topics)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise StageInputError(
            f"probabilities must be a (documents, topics) matrix, got shape {probabilities.shape}; use the soft "
            "memberships (soft_clustering.membership_matrix, calculate_probabilities=True), "
            "not one strength per document."
        )
    _check_topic_count(topics, probabilities.shape[1], "probabilities")
    rows = _outlier_rows(topics, probabilities, "probabilities")
    new = topics.copy()
    if rows.shape[0] and rows.shape[1]:
        best = rows.argmax(axis=1)
        keep = rows.max(axis=1) >= threshold
        new[np.flatnonzero(topics == -1)[keep]] = best[keep]
    return new


def reduce_by_distributions(topics: Sequence[int] | np.ndarray, distributions: np.ndarray) -> np.ndarray:
    """Outliers take the largest topic of their distribution; all-zero rows stay -1.

    Parameters
    ----------
    topics : array-like of shape (n_documents,)
    distributions : ndarray of shape (n_documents or n_outliers, n_topics)
        From ``approximate_distribution`` (``outlier_distributions``).

    Returns
    -------
    ndarray of shape (n_documents,), int64
    """
    topics = _as_topics(topics)
    distributions = _dense(distributions, "distributions")
    _check_topic_count(topics, distributions.shape[1], "distributions")
    return _assign_best(topics, _outlier_rows(topics, distributions, "distributions"))


def reduce_by_similarity(
    topics: Sequence[int] | np.ndarray,
    document_vectors: sp.spmatrix | np.ndarray,
    topic_vectors: sp.spmatrix | np.ndarray,
    threshold: float = 0,
    *,
    names: tuple[str, str] = ("document_vectors", "topic_vectors"),
) -> np.ndarray:
    """Outliers take the topic whose vector is most cosine-similar to theirs (c-TF-IDF or embeddings).

    Similarities below ``threshold`` count as 0; an outlier whose similarities
    then sum to at most 0 stays -1.

    Parameters
    ----------
    topics : array-like of shape (n_documents,)
    document_vectors : ndarray or sparse matrix of shape (n_documents or n_outliers, dim)
    topic_vectors : ndarray or sparse matrix of shape (n_topics, dim)
        Rows of topics 0..n_topics-1, no outlier row.
    threshold : float
    names : tuple of str
        The argument names used in error messages.

    Returns
    -------
    ndarray of shape (n_documents,), int64
    """
    topics = _as_topics(topics)
    documents = _matrix(document_vectors, names[0])
    topic_rows = _matrix(topic_vectors, names[1])
    if documents.shape[1] != topic_rows.shape[1]:
        raise StageInputError(
            f"{names[0]} has {documents.shape[1]} columns but {names[1]} has {topic_rows.shape[1]}; "
            "they must come from the same vectorizer or embedding model."
        )
    _check_topic_count(topics, topic_rows.shape[0], names[1])
    rows = _outlier_rows(topics, documents, names[0])
    if rows.shape[0] == 0 or topic_rows.shape[0] == 0:  # no outliers, or no topic to move them to
        return topics.copy()
    similarity = cosine_similarity(rows, topic_rows)
    similarity[similarity < threshold] = 0
    return _assign_best(topics, similarity)


def outlier_distributions(
    documents: Sequence[str],
    topics: Sequence[int] | np.ndarray,
    vectorizer: object,
    *,
    threshold: float = 0,
    **settings: Any,
) -> np.ndarray:
    """``approximate_distribution`` of the outlier documents, with ``min_similarity=threshold``.

    BERTopic's "distributions" strategy scores only the outliers and uses the
    threshold as the window similarity floor. ``settings`` are the other
    ``approximate_distribution`` arguments (``idf``, ``topic_ctfidf``, ``window`` ...).

    Returns
    -------
    ndarray of shape (n_outliers, n_topics)
    """
    if "min_similarity" in settings:
        raise ParamsError("outlier_distributions takes the window similarity floor as threshold, not min_similarity.")
    topics = _as_topics(topics)
    _check_documents(documents, topics)
    outliers = [documents[i] for i in np.flatnonzero(topics == -1)]
    topic_rows = settings.get("topic_embeddings" if settings.get("use_embedding_model") else "topic_ctfidf")
    if topic_rows is not None and topic_rows.shape[0] == 0:  # every document is an outlier: no topic to score
        return np.zeros((len(outliers), 0))
    distributions, _ = approximate_distribution(outliers, vectorizer, min_similarity=threshold, **settings)
    return distributions


def outlier_ctfidf(
    documents: Sequence[str],
    topics: Sequence[int] | np.ndarray,
    vectorizer: object,
    idf: np.ndarray,
    *,
    reduce_frequent_words: bool = False,
) -> sp.csr_matrix:
    """c-TF-IDF rows of the outlier documents: raw texts counted by the fitted vectorizer, weighted by idf.

    Returns
    -------
    csr_matrix of shape (n_outliers, n_terms)
    """
    topics = _as_topics(topics)
    _check_documents(documents, topics)
    counts = vectorizer.transform([documents[i] for i in np.flatnonzero(topics == -1)])
    if counts.shape[1] != len(idf):
        raise StageInputError(
            f"The vectorizer has {counts.shape[1]} terms but idf has {len(idf)}; give it the fitted vocabulary."
        )
    return ctfidf_transform(counts, np.asarray(idf, dtype=np.float64), reduce_frequent_words=reduce_frequent_words)


def _as_topics(topics: Sequence[int] | np.ndarray) -> np.ndarray:
    array = np.asarray(topics)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise StageInputError(
            f"topics must be a 1-D sequence of integer topic ids, got shape {array.shape}, dtype {array.dtype}."
        )
    return array.astype(np.int64)


def _check_documents(documents: Sequence[str], topics: np.ndarray) -> None:
    if len(documents) != len(topics):
        raise StageInputError(f"Got {len(documents)} documents but {len(topics)} topics; pass one topic per document.")


def _dense(values: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise StageInputError(f"{name} must be a 2-D (documents, topics) matrix, got shape {array.shape}.")
    return array


def _matrix(values: sp.spmatrix | np.ndarray, name: str) -> sp.csr_matrix | np.ndarray:
    return sp.csr_matrix(values) if sp.issparse(values) else _dense(values, name)


def _outlier_rows(topics: np.ndarray, values: np.ndarray | sp.csr_matrix, name: str) -> np.ndarray | sp.csr_matrix:
    """The rows of the outliers: all rows are per document, or they already are the outliers' rows."""
    outliers = np.flatnonzero(topics == -1)
    if values.shape[0] == len(topics):
        return values[outliers]
    if values.shape[0] == len(outliers):
        return values
    raise StageInputError(
        f"{name} has {values.shape[0]} rows; expected one per document ({len(topics)}) "
        f"or one per outlier ({len(outliers)})."
    )


def _check_topic_count(topics: np.ndarray, n_topics: int, name: str) -> None:
    highest = int(topics.max()) if topics.size else -1
    if highest >= n_topics:
        raise StageInputError(
            f"{name} covers {n_topics} topics but topic {highest} exists; "
            "pass one entry per topic 0..n_topics-1 (outlier topic dropped)."
        )


def _assign_best(topics: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Outliers (in order) take the column of their highest score; rows summing to <= 0 stay -1."""
    new = topics.copy()
    if scores.shape[0] and scores.shape[1]:
        found = scores.sum(axis=1) > 0
        new[np.flatnonzero(topics == -1)[found]] = scores.argmax(axis=1)[found]
    return new
