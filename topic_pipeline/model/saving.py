"""``TopicModel`` <-> ``SavedTopicModel`` (BERTopic's safetensors layout), and merging fitted models.

A loaded model has no documents, UMAP or HDBSCAN: it assigns new documents to
the closest topic embedding (as BERTopic does after such a load), and the
c-TF-IDF based methods (``approximate_distribution``, ``reduce_outliers`` with
c-tf-idf/distributions) work when the c-TF-IDF was saved. An unfitted model
saves its settings and no topics, and loads back unfitted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone

from topic_pipeline.core.topic_mapper import TopicMapper
from topic_pipeline.core.vectorize import TopicBags
from topic_pipeline.errors import ParamsError
from topic_pipeline.model.fitted import FittedTopicModel, mapper_rows
from topic_pipeline.model.merging import merge_saved_models
from topic_pipeline.model.serialization import CONFIG_FILE, CTFIDF_CONFIG_FILE, SavedTopicModel, load_model, save_model
from topic_pipeline.model.settings import DEFAULT_MODEL, MULTILINGUAL_MODEL
from topic_pipeline.params import PipelineParams, parse_params
from topic_pipeline.pipeline.embedding import register_model
from topic_pipeline.representation.describe import TopicDescription

_COUNT_VECTORIZER_KEYS = ("ngram_range", "stop_words", "min_df", "max_df", "max_features", "lowercase")


def to_saved(record: FittedTopicModel | None, arguments: Mapping[str, Any]) -> SavedTopicModel:
    """What ``save`` writes: topics, words, labels, aspects, mapper, topic embeddings, c-TF-IDF and settings.

    ``record`` None (an unfitted model) writes the settings and no topics.
    """
    if record is None:
        return SavedTopicModel(topics=[], topic_sizes={}, topic_representations={},
                               topic_embeddings=np.zeros((0, 0), dtype=np.float32), topic_labels={},
                               topic_mapper=[], config=_config(arguments, None),
                               embedding_model=_embedding_name(arguments, None))
    params, description = record.params, record.description
    if description.topic_embeddings is None:
        raise ParamsError("This model has no topic embeddings to save; fit it with embeddings or a model.")
    has_ctfidf = description.ctfidf is not None
    return SavedTopicModel(
        topics=[int(t) for t in record.topics],
        topic_sizes=dict(description.sizes),
        topic_representations=dict(description.words),
        topic_embeddings=np.asarray(description.topic_embeddings, dtype=np.float32),
        topic_labels=dict(record.labels),
        topic_mapper=[list(row) for row in record.mapper_rows],
        custom_labels=None if record.custom_labels is None else list(record.custom_labels),
        topic_aspects={name: dict(words) for name, words in description.aspects.items()},
        ctfidf=description.ctfidf if has_ctfidf else None,
        idf=description.idf if has_ctfidf else None,
        vocabulary=[str(t) for t in description.vocabulary] if has_ctfidf else None,
        vectorizer_params={key: getattr(params.vectorizer, key) for key in _COUNT_VECTORIZER_KEYS},  # JSON-ed when written
        ctfidf_params={"bm25_weighting": params.ctfidf.bm25_weighting,
                       "reduce_frequent_words": params.ctfidf.reduce_frequent_words},
        config=_config(arguments, params),
        embedding_model=_embedding_name(arguments, params),
    )


def _config(arguments: Mapping[str, Any], params: PipelineParams | None) -> dict[str, Any]:
    """BERTopic's ``config.json`` hyperparameters: from the params a model was fitted with, else its arguments."""
    if params is None:
        return {
            "calculate_probabilities": bool(arguments["calculate_probabilities"]),
            "language": arguments["language"], "low_memory": bool(arguments["low_memory"]),
            "min_topic_size": int(arguments["min_topic_size"]), "n_gram_range": list(arguments["n_gram_range"]),
            "nr_topics": arguments["nr_topics"], "seed_topic_list": arguments["seed_topic_list"],
            "top_n_words": int(arguments["top_n_words"]), "verbose": bool(arguments["verbose"]),
            "zeroshot_min_similarity": arguments["zeroshot_min_similarity"],
            "zeroshot_topic_list": arguments["zeroshot_topic_list"],
        }
    return {
        "calculate_probabilities": bool(arguments["calculate_probabilities"]),
        "language": "english" if params.vectorizer.language == "english" else None,
        "low_memory": bool(arguments["low_memory"]), "min_topic_size": int(params.clustering.min_cluster_size),
        "n_gram_range": list(params.vectorizer.ngram_range), "nr_topics": params.topics.nr_topics,
        "seed_topic_list": params.guidance.seed_topic_list, "top_n_words": int(params.representation.top_n_words),
        "verbose": bool(arguments["verbose"]), "zeroshot_min_similarity": params.guidance.zeroshot_min_similarity,
        "zeroshot_topic_list": params.guidance.zeroshot_topic_list,
    }


def _embedding_name(arguments: Mapping[str, Any], params: PipelineParams | None) -> str | None:
    if params is None:
        model = arguments["embedding_model"]
        if model is None:
            return DEFAULT_MODEL if arguments["language"] == "english" else MULTILINGUAL_MODEL
        return model if isinstance(model, str) else None
    # a second registered object under one card name runs as "name@<fingerprint>"; save the card's name
    return re.sub(r"@[0-9a-f]{8,}$", "", params.embedding.model)


def save(record: FittedTopicModel | None, arguments: Mapping[str, Any], path: Path, serialization: str,
         save_ctfidf: bool, save_embedding_model: bool | str) -> None:
    if serialization != "safetensors":
        raise ParamsError(
            f"serialization={serialization!r} is not supported: only 'safetensors' (pickles run code when loaded)."
        )
    save_model(path, to_saved(record, arguments), serialization=serialization,
               save_ctfidf=save_ctfidf and record is not None, save_embedding_model=save_embedding_model)


def fitted_vectorizer(vectorizer: Any, vocabulary: np.ndarray) -> Any:
    """A copy of ``vectorizer`` fitted to ``vocabulary`` (BERTopic's ``vectorizer_model`` after fit)."""
    fitted = clone(vectorizer)
    fitted.vocabulary_ = {str(term): i for i, term in enumerate(vocabulary)}
    fitted.fixed_vocabulary_ = False
    return fitted


def _arguments(saved: SavedTopicModel, embedding_model: Any) -> dict[str, Any]:
    config = saved.config
    return dict(language=config.get("language") or "english", top_n_words=int(config.get("top_n_words", 10)),
                n_gram_range=tuple(config.get("n_gram_range", (1, 1))),
                min_topic_size=int(config.get("min_topic_size", 10)), nr_topics=config.get("nr_topics"),
                calculate_probabilities=bool(config.get("calculate_probabilities", False)),
                seed_topic_list=config.get("seed_topic_list"), zeroshot_topic_list=config.get("zeroshot_topic_list"),
                zeroshot_min_similarity=float(config.get("zeroshot_min_similarity", 0.7)),
                embedding_model=embedding_model if embedding_model is not None else saved.embedding_model)


def _saved_params(saved: SavedTopicModel, embedding_model: Any, origin: str) -> PipelineParams:
    config = saved.config
    vectorizer = {key: value for key, value in saved.vectorizer_params.items() if key in _COUNT_VECTORIZER_KEYS}
    language = "english" if config.get("language") == "english" else "none"
    embedding_name = saved.embedding_model or "all-MiniLM-L6-v2"
    if embedding_model is not None and not isinstance(embedding_model, str):
        embedding_name = register_model(embedding_model)
    elif isinstance(embedding_model, str):
        embedding_name = embedding_model
    return parse_params({
        "embedding": {"model": embedding_name},
        "vectorizer": vectorizer | {"language": language,
                                    "ngram_range": list(vectorizer.get("ngram_range", config.get("n_gram_range", (1, 1))))},
        "ctfidf": {key: saved.ctfidf_params[key] for key in ("bm25_weighting", "reduce_frequent_words")
                   if key in saved.ctfidf_params},
        "representation": {"top_n_words": int(config.get("top_n_words", 10))},
        "clustering": {"min_cluster_size": max(2, int(config.get("min_topic_size", 10))),
                       "calculate_probabilities": bool(config.get("calculate_probabilities", False))},
    }, origin=origin)


def from_saved(saved: SavedTopicModel, embedding_model: Any, origin: str = "saved model"
               ) -> tuple[dict[str, Any], FittedTopicModel | None]:
    """A ``TopicModel``'s constructor arguments and fitted record from a saved one (None: saved unfitted).

    ``origin`` starts any ParamsError about the saved settings, so a loaded folder's error names
    its files (``load_model`` checked their types and ranges; this adds the pipeline's own limits).
    """
    arguments = _arguments(saved, embedding_model)
    params = _saved_params(saved, embedding_model, origin)
    if not saved.topic_sizes:
        return arguments, None
    topic_ids = np.array(sorted(saved.topic_sizes), dtype=np.int64)
    bags = idf = ctfidf = None
    if saved.ctfidf is not None:
        n_terms = len(saved.vocabulary)
        bags = TopicBags(topic_ids, np.asarray(saved.vocabulary, dtype=object),
                         sp.csr_matrix((len(topic_ids), n_terms)), sp.csr_matrix((0, n_terms)))
        idf, ctfidf = np.asarray(saved.idf), sp.csr_matrix(saved.ctfidf)
    description = TopicDescription(
        topic_ids=topic_ids, bags=bags, idf=idf, ctfidf=ctfidf, words=dict(saved.topic_representations),
        aspects=dict(saved.topic_aspects), names=dict(saved.topic_labels), representative_docs={},
        topic_embeddings=np.asarray(saved.topic_embeddings, dtype=np.float32), sizes=dict(saved.topic_sizes))
    mapper = TopicMapper.from_rows(saved.topic_mapper or [[t, t] for t in topic_ids])
    return arguments, FittedTopicModel(
        params=params, topics=np.asarray(saved.topics, dtype=np.int64), description=description,
        mapper_rows=mapper_rows(mapper), representative_docs={},  # BERTopic saves none: NaN in get_topic_info
        custom_labels=saved.custom_labels)


def load(path: Path, embedding_model: Any) -> tuple[dict[str, Any], FittedTopicModel | None]:
    """``TopicModel.load``: ``load_model`` validates every file before anything here uses it."""
    return from_saved(load_model(path), embedding_model,
                      origin=f"saved model {path} ({CONFIG_FILE} / {CTFIDF_CONFIG_FILE} settings)")


def merge(models: list[tuple[FittedTopicModel, Mapping[str, Any]]], min_similarity: float, embedding_model: Any
          ) -> tuple[dict[str, Any], FittedTopicModel]:
    """BERTopic's ``merge_models`` over fitted models (their saved form)."""
    merged = merge_saved_models([to_saved(record, arguments) for record, arguments in models],
                                min_similarity=min_similarity)
    arguments, record = from_saved(merged, embedding_model)
    return arguments, record
