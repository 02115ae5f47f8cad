"""Using a fitted model on new documents: embedding, ``transform``, ``find_topics``, distributions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics.pairwise import cosine_similarity

from topic_pipeline.core.clustering import assign_clusters, is_hdbscan
from topic_pipeline.core.distribution import approximate_distribution
from topic_pipeline.core.reduction import transform_embeddings
from topic_pipeline.core.soft_clustering import membership_of_new
from topic_pipeline.core.vectorize import make_vectorizer
from topic_pipeline.errors import ModelArgumentError
from topic_pipeline.model.fitted import FittedTopicModel, topic_embedding_rows
from topic_pipeline.params import EmbeddingParams
from topic_pipeline.pipeline.embedding import embed_texts
from topic_pipeline.pipeline.fitted_models import load_fitted_model

Embed = Callable[[list[str]], np.ndarray]


def encoder(settings: EmbeddingParams) -> Embed:
    """``texts -> vectors`` with the embedding model a model was fitted with."""
    return lambda texts: embed_texts(list(texts), settings)


def load_stage_model(path: Path) -> Any:
    """A stored fitted reducer or clusterer, refused unless it matches the digest its stage stored."""
    return load_fitted_model(path.parent)


def predict(record: FittedTopicModel, vectors: np.ndarray, *, calculate_probabilities: bool
            ) -> tuple[list[int], np.ndarray | None]:
    """BERTopic's ``transform``: reducer + clusterer when the model has them, else cosine to topic embeddings."""
    if record.online is not None:
        online = record.online
        reduced = online.reducer.transform(np.asarray(vectors, dtype=np.float64))
        labels = online.clusterer.predict(np.nan_to_num(np.asarray(reduced, dtype=np.float64)))
        mapping = online.state.cluster_to_topic
        return [int(mapping.get(int(c), -1)) for c in labels], None
    fitted = record.fitted_models
    if set(fitted) == {"reduced_embeddings", "clusters"} and not record.zeroshot_names:
        clusterer = load_stage_model(fitted["clusters"])
        reduced = transform_embeddings(load_stage_model(fitted["reduced_embeddings"]), vectors)
        labels, strengths = assign_clusters(clusterer, reduced)
        mapping = record.mapper().get_mappings()
        topics = [int(mapping.get(int(c), -1)) for c in labels]
        if calculate_probabilities and is_hdbscan(clusterer):
            return topics, membership_of_new(clusterer, reduced, mapping)
        return topics, None if np.isnan(strengths).all() else strengths
    if record.description.topic_embeddings is None:
        raise ModelArgumentError("This model has no topic embeddings to assign new documents with.")
    ids = topic_embedding_rows(record)
    similarity = cosine_similarity(vectors, record.description.topic_embeddings)
    topics = [ids[i] for i in similarity.argmax(axis=1)]
    return topics, similarity if calculate_probabilities else similarity.max(axis=1)


def find_topics(record: FittedTopicModel, term_vector: np.ndarray, top_n: int) -> tuple[list[int], list[float]]:
    """The ``top_n`` topics whose embeddings are most similar to ``term_vector`` (shape (1, dim))."""
    if record.description.topic_embeddings is None:
        raise ModelArgumentError("find_topics needs topic embeddings; fit the model with embeddings or a model.")
    ids = topic_embedding_rows(record)
    similarity = cosine_similarity(term_vector, record.description.topic_embeddings).ravel()
    best = np.argsort(similarity)[-top_n:][::-1]
    return [ids[i] for i in best], [float(similarity[i]) for i in best]


def distributions(record: FittedTopicModel, texts: list[str], settings: dict[str, Any], embed: Embed | None
                  ) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """BERTopic's ``approximate_distribution`` over the fitted vocabulary and c-TF-IDF."""
    description = record.description
    if description.ctfidf is None:
        raise ModelArgumentError("approximate_distribution needs the c-TF-IDF; save the model with save_ctfidf=True.")
    params = record.params
    keep = np.flatnonzero(description.topic_ids != -1)
    vectorizer = make_vectorizer(params.vectorizer).set_params(vocabulary=list(description.vocabulary))
    topic_embeddings = description.topic_embeddings
    distribution, tokens = approximate_distribution(
        texts, vectorizer, idf=description.idf, topic_ctfidf=description.ctfidf[keep],
        reduce_frequent_words=params.ctfidf.reduce_frequent_words,
        embed=embed if settings.get("use_embedding_model", False) else None,
        topic_embeddings=None if topic_embeddings is None else topic_embeddings[keep],
        **settings,
    )
    # BERTopic returns plain (n_tokens, n_topics) arrays, which code written for it indexes by [token, topic]
    return distribution, None if tokens is None else [frame.to_numpy() for frame in tokens]
