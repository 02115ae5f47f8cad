"""``TopicModel.partial_fit`` in online mode: incremental reducer and clusterer, decaying bag of words.

Used when the model's ``umap_model`` and ``hdbscan_model`` both have
``partial_fit`` (BERTopic's online topic modeling, e.g. ``IncrementalPCA`` and
``MiniBatchKMeans`` with ``OnlineCountVectorizer(decay=...)``). The batches are
not stored: the state is the fitted models and ``online.OnlineTopics``.
Otherwise ``partial_fit`` adds the documents to the stage store and places them
in the fitted UMAP/HDBSCAN (``updates.mode: assign``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from topic_pipeline.ctfidf import ctfidf_transform, fit_idf
from topic_pipeline.fitted_topics import TopicDescription
from topic_pipeline.online import update_online
from topic_pipeline.representation import representative_documents, top_words, topic_name
from topic_pipeline.topic_mapper import TopicMapper
from topic_pipeline.vectorize import TopicBags


def is_online(model: Any) -> bool:
    return all(hasattr(part, "partial_fit") for part in (model.umap_model, model.hdbscan_model))


def _decay_settings(vectorizer_model: Any) -> tuple[float | None, float | None]:
    return getattr(vectorizer_model, "decay", None), getattr(vectorizer_model, "delete_min_df", None)


def partial_fit_online(model: Any, texts: list[str], embeddings: np.ndarray) -> dict[str, Any]:
    """Update the incremental models and the decayed bags with one batch; return the new fitted attributes."""
    from topic_pipeline.estimators import fresh_copy
    from topic_pipeline.model_ops import fit_params

    first = not hasattr(model, "_online_")
    reducer = fresh_copy(model.umap_model) if first else model._online_models_[0]
    clusterer = fresh_copy(model.hdbscan_model) if first else model._online_models_[1]
    params = fit_params(model, {"documents": "in-memory", "embeddings": None}, False, "refit")[0] if first \
        else model.params_
    embeddings = np.asarray(embeddings, dtype=np.float64)
    reducer.partial_fit(embeddings)
    reduced = np.nan_to_num(np.asarray(reducer.transform(embeddings), dtype=np.float64))  # one dtype across batches
    clusterer.partial_fit(reduced)
    decay, delete_min_df = _decay_settings(model.vectorizer_model)
    state, topics = update_online(None if first else model._online_, texts, embeddings,
                                  np.asarray(clusterer.labels_), params.vectorizer, decay=decay,
                                  delete_min_df=delete_min_df)
    return describe_online(state, topics, texts, params) | {
        "_online_": state, "_online_models_": (reducer, clusterer), "params_": params,
    }


def describe_online(state: Any, topics: np.ndarray, texts: list[str], params: Any) -> dict[str, Any]:
    """Fitted attributes from the accumulated (decayed) counts; representative documents from this batch."""
    vocabulary = np.asarray(state.vocabulary, dtype=object)
    counts = state.topic_term_counts
    idf = fit_idf(counts, vocabulary, params.ctfidf)
    weights = ctfidf_transform(counts, idf, reduce_frequent_words=params.ctfidf.reduce_frequent_words)
    n_words = params.representation.top_n_words
    words = dict(zip(state.topic_ids.tolist(), top_words(weights, vocabulary, n_words), strict=True))
    from topic_pipeline.vectorize import make_vectorizer

    doc_counts = make_vectorizer(params.vectorizer).set_params(vocabulary=list(vocabulary)).transform(texts)
    batch_ids = np.unique(topics)
    rows = [state.topic_ids.tolist().index(t) for t in batch_ids]
    representative = representative_documents(
        topics, batch_ids, doc_counts, weights[rows], idf, reduce_frequent_words=params.ctfidf.reduce_frequent_words,
        n_samples=params.representation.nr_repr_samples, n_docs=params.representation.nr_repr_docs)
    names = {t: topic_name(t, w, params.representation.name_words) for t, w in words.items()}
    description = TopicDescription(
        topic_ids=state.topic_ids, bags=TopicBags(state.topic_ids, vocabulary, counts, doc_counts), idf=idf,
        ctfidf=weights, words=words, aspects={}, names=names, representative_docs=representative,
        topic_embeddings=state.topic_embeddings, sizes=dict(state.topic_sizes))
    return {
        "topics_": [int(t) for t in topics], "topic_sizes_": dict(state.topic_sizes), "topic_representations_": words,
        "topic_aspects_": {}, "topic_labels_": names, "custom_labels_": None, "c_tf_idf_": weights,
        "representative_docs_": {t: [texts[r] for r in rows_] for t, rows_ in representative.items()},
        "topic_embeddings_": state.topic_embeddings, "_description_": description, "probabilities_": None,
        "topic_mapper_": TopicMapper.from_rows([[c, c, t] for c, t in sorted(state.cluster_to_topic.items())]),
        "documents_": None, "embeddings_": None, "store_": None, "zeroshot_topics_": {}, "fitted_models_": {},
    }


def predict_online(model: Any, vectors: np.ndarray) -> tuple[list[int], None]:
    reducer, clusterer = model._online_models_
    labels = clusterer.predict(np.nan_to_num(np.asarray(reducer.transform(vectors), dtype=np.float64)))
    mapping = model._online_.cluster_to_topic
    return [int(mapping.get(int(c), -1)) for c in labels], None

