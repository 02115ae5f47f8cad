"""``TopicModel.partial_fit`` in online mode: incremental reducer and clusterer, decaying bag of words.

Used when the model's ``umap_model`` and ``hdbscan_model`` both have
``partial_fit`` (BERTopic's online topic modeling, e.g. ``IncrementalPCA`` and
``MiniBatchKMeans`` with ``OnlineCountVectorizer(decay=...)``). The batches are
not stored: the state is the fitted models and ``online.OnlineTopics``.
Otherwise ``partial_fit`` adds the documents to the stage store and places them
in the fitted UMAP/HDBSCAN (``updates.mode: assign``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from topic_pipeline.core.ctfidf import ctfidf_weights
from topic_pipeline.core.estimators import fresh_copy
from topic_pipeline.core.online import OnlineTopics, update_online
from topic_pipeline.core.topic_mapper import TopicMapper
from topic_pipeline.core.topic_words import CANDIDATE_WORDS, representative_documents, top_words, topic_name
from topic_pipeline.core.vectorize import TopicBags, make_vectorizer
from topic_pipeline.model.fitted import FittedTopicModel, OnlineModels, mapper_rows, representative_texts
from topic_pipeline.model.fitting import IN_MEMORY_INPUTS, fit_params
from topic_pipeline.params import PipelineParams
from topic_pipeline.representation.describe import TopicDescription


def is_online(reducer: Any, clusterer: Any) -> bool:
    """Both models learn incrementally: BERTopic's online topic modeling applies."""
    return all(hasattr(part, "partial_fit") for part in (reducer, clusterer))


def first_params(arguments: Mapping[str, Any]) -> PipelineParams:
    """The params of a model's first online batch (later batches keep them)."""
    return fit_params(arguments, IN_MEMORY_INPUTS, False, "refit")[0]


def partial_fit_online(record: FittedTopicModel | None, arguments: Mapping[str, Any], texts: list[str],
                       embeddings: np.ndarray) -> FittedTopicModel:
    """Update the incremental models and the decayed bags with one batch; return the next fitted model."""
    previous = None if record is None else record.online
    if previous is None:
        reducer, clusterer = fresh_copy(arguments["umap_model"]), fresh_copy(arguments["hdbscan_model"])
        params = first_params(arguments)
    else:
        reducer, clusterer, params = previous.reducer, previous.clusterer, record.params
    # float64 throughout: with float32 input IncrementalPCA's later transforms come out float64 while
    # MiniBatchKMeans keeps float32 centres from the first batch, and its next partial_fit fails (BERTopic's
    # partial_fit does, on float32 embeddings); float64 values equal BERTopic's when it is given float64
    embeddings = np.asarray(embeddings, dtype=np.float64)
    reducer.partial_fit(embeddings)
    reduced = np.nan_to_num(np.asarray(reducer.transform(embeddings), dtype=np.float64))
    clusterer.partial_fit(reduced)
    vectorizer_model = arguments["vectorizer_model"]
    state, topics = update_online(None if previous is None else previous.state, texts, embeddings,
                                  np.asarray(clusterer.labels_), params.vectorizer,
                                  decay=getattr(vectorizer_model, "decay", None),
                                  delete_min_df=getattr(vectorizer_model, "delete_min_df", None))
    description = describe_online(state, topics, texts, params)
    return FittedTopicModel(
        params=params, topics=topics, description=description,
        mapper_rows=mapper_rows(TopicMapper.from_rows([[c, c, t] for c, t in sorted(state.cluster_to_topic.items())])),
        representative_docs=representative_texts(description, texts),
        online=OnlineModels(state=state, reducer=reducer, clusterer=clusterer))


def describe_online(state: OnlineTopics, topics: np.ndarray, texts: list[str], params: PipelineParams
                    ) -> TopicDescription:
    """The description from the accumulated (decayed) counts; representative documents from this batch."""
    vocabulary = np.asarray(state.vocabulary, dtype=object)
    counts = state.topic_term_counts
    idf, weights = ctfidf_weights(counts, vocabulary, params.ctfidf)
    n_words = params.representation.top_n_words
    candidates = top_words(weights, vocabulary, max(n_words, CANDIDATE_WORDS))  # BERTopic's n: ties depend on it
    words = {int(t): w[:n_words] for t, w in zip(state.topic_ids, candidates, strict=True)}
    doc_counts = make_vectorizer(params.vectorizer).set_params(vocabulary=list(vocabulary)).transform(texts)
    batch_ids = np.unique(topics)
    rows = [state.topic_ids.tolist().index(t) for t in batch_ids]
    representative = representative_documents(
        topics, batch_ids, doc_counts, weights[rows], idf, reduce_frequent_words=params.ctfidf.reduce_frequent_words,
        n_samples=params.representation.nr_repr_samples, n_docs=params.representation.nr_repr_docs)
    return TopicDescription(
        topic_ids=state.topic_ids, bags=TopicBags(state.topic_ids, vocabulary, counts, doc_counts), idf=idf,
        ctfidf=weights, words=words, aspects={},
        names={t: topic_name(t, w, params.representation.name_words) for t, w in words.items()},
        representative_docs=representative, topic_embeddings=state.topic_embeddings, sizes=dict(state.topic_sizes))
