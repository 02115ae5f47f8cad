"""``TopicModel`` <-> ``SavedTopicModel`` (BERTopic's safetensors layout), and merging fitted models.

A loaded model has no documents, UMAP or HDBSCAN: it assigns new documents to
the closest topic embedding (as BERTopic does after such a load), and the
c-TF-IDF based methods (``approximate_distribution``, ``reduce_outliers`` with
c-tf-idf/distributions) work when the c-TF-IDF was saved.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.fitted_topics import TopicDescription
from topic_pipeline.params import parse_params
from topic_pipeline.serialization import (CONFIG_FILE, CTFIDF_CONFIG_FILE, SavedTopicModel, load_model,
                                          save_model)
from topic_pipeline.topic_mapper import TopicMapper
from topic_pipeline.vectorize import TopicBags

_COUNT_VECTORIZER_KEYS = ("ngram_range", "stop_words", "min_df", "max_df", "max_features", "lowercase")


def to_saved(model: Any) -> SavedTopicModel:
    """What ``save`` writes: topics, words, labels, aspects, mapper, topic embeddings, c-TF-IDF and settings."""
    params = model.params_
    description = model._description_
    if model.topic_embeddings_ is None:
        raise StageInputError("This model has no topic embeddings to save; fit it with embeddings or a model.")
    return SavedTopicModel(
        topics=list(model.topics_),
        topic_sizes=dict(model.topic_sizes_),
        topic_representations=dict(model.topic_representations_),
        topic_embeddings=np.asarray(model.topic_embeddings_, dtype=np.float32),
        topic_labels=dict(model.topic_labels_),
        topic_mapper=[list(row) for row in model.topic_mapper_.mappings_],
        custom_labels=None if model.custom_labels_ is None else list(model.custom_labels_),
        topic_aspects={name: dict(words) for name, words in model.topic_aspects_.items()},
        ctfidf=None if description is None else description.ctfidf,
        idf=None if description is None else description.idf,
        vocabulary=None if description is None else [str(t) for t in description.bags.vocabulary],
        vectorizer_params={key: _plain(getattr(params.vectorizer, key)) for key in _COUNT_VECTORIZER_KEYS},
        ctfidf_params={"bm25_weighting": params.ctfidf.bm25_weighting,
                       "reduce_frequent_words": params.ctfidf.reduce_frequent_words},
        config={
            "calculate_probabilities": bool(model.calculate_probabilities),
            "language": "english" if params.vectorizer.language == "english" else None,
            "low_memory": bool(model.low_memory), "min_topic_size": int(params.clustering.min_cluster_size),
            "n_gram_range": list(params.vectorizer.ngram_range), "nr_topics": params.topics.nr_topics,
            "seed_topic_list": params.guidance.seed_topic_list, "top_n_words": int(params.representation.top_n_words),
            "verbose": bool(model.verbose), "zeroshot_min_similarity": params.guidance.zeroshot_min_similarity,
            "zeroshot_topic_list": params.guidance.zeroshot_topic_list,
        },
        # a second registered object under one card name runs as "name@<fingerprint>"; save the card's name
        embedding_model=re.sub(r"@[0-9a-f]{8,}$", "", params.embedding.model),
    )


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def save(model: Any, path: Path, serialization: str, save_ctfidf: bool, save_embedding_model: bool | str) -> None:
    if serialization != "safetensors":
        raise ParamsError(
            f"serialization={serialization!r} is not supported: only 'safetensors' (pickles run code when loaded)."
        )
    save_model(path, to_saved(model), serialization=serialization, save_ctfidf=save_ctfidf,
               save_embedding_model=save_embedding_model)


def from_saved(cls: type, saved: SavedTopicModel, embedding_model: Any, origin: str = "saved model") -> Any:
    """A fitted ``TopicModel`` from a saved one (no documents, no reducer or clusterer).

    ``origin`` starts any ParamsError about the saved settings, so a loaded folder's error names
    its files (``load_model`` checked their types and ranges; this adds the pipeline's own limits).
    """
    config = saved.config
    vectorizer = {key: value for key, value in saved.vectorizer_params.items() if key in _COUNT_VECTORIZER_KEYS}
    language = "english" if config.get("language") == "english" else "none"
    model = cls(language=config.get("language") or "english", top_n_words=int(config.get("top_n_words", 10)),
                n_gram_range=tuple(config.get("n_gram_range", (1, 1))),
                min_topic_size=int(config.get("min_topic_size", 10)), nr_topics=config.get("nr_topics"),
                calculate_probabilities=bool(config.get("calculate_probabilities", False)),
                seed_topic_list=config.get("seed_topic_list"), zeroshot_topic_list=config.get("zeroshot_topic_list"),
                zeroshot_min_similarity=float(config.get("zeroshot_min_similarity", 0.7)),
                embedding_model=embedding_model if embedding_model is not None else saved.embedding_model)
    embedding_name = saved.embedding_model or "all-MiniLM-L6-v2"
    if embedding_model is not None and not isinstance(embedding_model, str):
        from topic_pipeline.embedding import register_model

        embedding_name = register_model(embedding_model)
    elif isinstance(embedding_model, str):
        embedding_name = embedding_model
    params = parse_params({
        "embedding": {"model": embedding_name},
        "vectorizer": vectorizer | {"language": language,
                                    "ngram_range": list(vectorizer.get("ngram_range", config.get("n_gram_range", (1, 1))))},
        "ctfidf": {key: saved.ctfidf_params[key] for key in ("bm25_weighting", "reduce_frequent_words")
                   if key in saved.ctfidf_params},
        "representation": {"top_n_words": int(config.get("top_n_words", 10))},
        "clustering": {"min_cluster_size": max(2, int(config.get("min_topic_size", 10))),
                       "calculate_probabilities": bool(config.get("calculate_probabilities", False))},
    }, origin=origin)
    topic_ids = np.array(sorted(saved.topic_sizes), dtype=np.int64)
    description = None
    if saved.ctfidf is not None:
        n_terms = len(saved.vocabulary)
        description = TopicDescription(
            topic_ids=topic_ids,
            bags=TopicBags(topic_ids, np.asarray(saved.vocabulary, dtype=object),
                           sp.csr_matrix((len(topic_ids), n_terms)), sp.csr_matrix((0, n_terms))),
            idf=np.asarray(saved.idf), ctfidf=sp.csr_matrix(saved.ctfidf), words=dict(saved.topic_representations),
            aspects=dict(saved.topic_aspects), names=dict(saved.topic_labels), representative_docs={},
            topic_embeddings=np.asarray(saved.topic_embeddings), sizes=dict(saved.topic_sizes),
        )
    state = {
        "topics_": list(saved.topics), "topic_sizes_": dict(saved.topic_sizes),
        "topic_representations_": dict(saved.topic_representations),
        "topic_aspects_": dict(saved.topic_aspects), "topic_labels_": dict(saved.topic_labels),
        "custom_labels_": saved.custom_labels, "representative_docs_": {},
        "c_tf_idf_": None if description is None else description.ctfidf,
        "topic_embeddings_": np.asarray(saved.topic_embeddings, dtype=np.float32),
        "topic_mapper_": TopicMapper.from_rows(saved.topic_mapper or [[t, t] for t in topic_ids]),
        "_description_": description, "store_": None, "params_": params, "documents_": None, "embeddings_": None,
        "probabilities_": None, "zeroshot_topics_": {}, "fitted_models_": {},
    }
    model._set_state(state)
    return model


def load(cls: type, path: Path, embedding_model: Any) -> Any:
    """``TopicModel.load``: ``load_model`` validates every file before anything here uses it."""
    return from_saved(cls, load_model(path), embedding_model,
                      origin=f"saved model {path} ({CONFIG_FILE} / {CTFIDF_CONFIG_FILE} settings)")


def merge(cls: type, models: list[Any], min_similarity: float, embedding_model: Any) -> Any:
    """BERTopic's ``merge_models`` over fitted ``TopicModel`` s (their saved form)."""
    from topic_pipeline.model_merging import merge_saved_models

    if not models:
        raise StageInputError("merge_models needs at least one fitted model.")
    for position, model in enumerate(models):
        if not hasattr(model, "topics_"):
            raise StageInputError(f"models[{position}] is not fitted; fit or load it before merging.")
    merged = merge_saved_models([to_saved(m) for m in models], min_similarity=min_similarity)
    return from_saved(cls, merged, embedding_model if embedding_model is not None else models[0].embedding_model)
