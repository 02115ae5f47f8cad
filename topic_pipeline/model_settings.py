"""Translate BERTopic-style constructor arguments into pipeline params and estimator objects.

``TopicModel`` takes what ``BERTopic`` takes (``umap_model``, ``hdbscan_model``,
``vectorizer_model``, ``ctfidf_model``, ``representation_model`` ...). Settings
that have a params equivalent become params, so they are validated and cached
like every other parameter; a reducer or clusterer object is handed to its
stage as is (its content hash joins the store key).
"""

from __future__ import annotations

from typing import Any

from topic_pipeline.errors import ParamsError

MULTILINGUAL_MODEL = "paraphrase-multilingual-MiniLM-L12-v2"
DEFAULT_MODEL = "all-MiniLM-L6-v2"

# CountVectorizer arguments that have a vectorizer params field
_VECTORIZER_FIELDS = ("ngram_range", "stop_words", "min_df", "max_df", "max_features", "lowercase")
# CountVectorizer arguments we cannot reproduce from params: refuse a non-default value rather than ignore it
_UNSUPPORTED_VECTORIZER = {"tokenizer": None, "preprocessor": None, "analyzer": "word", "vocabulary": None,
                           "token_pattern": r"(?u)\b\w\w+\b", "binary": False, "strip_accents": None}


def vectorizer_section(vectorizer_model: Any) -> dict[str, Any]:
    """Params of a scikit-learn ``CountVectorizer`` (BERTopic's ``vectorizer_model``).

    Raises
    ------
    ParamsError
        The vectorizer uses a setting the pipeline cannot reproduce (custom
        tokenizer, analyzer, fixed vocabulary, ...), or is not a CountVectorizer.
    """
    if not hasattr(vectorizer_model, "get_params"):
        raise ParamsError(f"vectorizer_model must be a scikit-learn CountVectorizer, got {type(vectorizer_model).__name__}.")
    settings = vectorizer_model.get_params()
    odd = [name for name, default in _UNSUPPORTED_VECTORIZER.items() if name in settings and settings[name] != default]
    # OnlineCountVectorizer (BERTopic's or ours) adds decay/delete_min_df, read by online partial_fit
    if odd or type(vectorizer_model).__name__ not in ("CountVectorizer", "OnlineCountVectorizer"):
        what = ", ".join(odd) if odd else type(vectorizer_model).__name__
        raise ParamsError(
            f"vectorizer_model: {what} is not supported; use CountVectorizer with ngram_range, stop_words, min_df, "
            "max_df, max_features or lowercase (the settings that are cached as vectorizer params)."
        )
    section = {name: settings[name] for name in _VECTORIZER_FIELDS}
    section["ngram_range"] = list(section["ngram_range"])
    if isinstance(section["stop_words"], (set, frozenset, tuple)):
        section["stop_words"] = sorted(section["stop_words"])
    return section


def ctfidf_section(ctfidf_model: Any) -> dict[str, Any]:
    """Params of a ``ClassTfidfTransformer`` (BERTopic's or ours)."""
    section = {name: getattr(ctfidf_model, name) for name in ("bm25_weighting", "reduce_frequent_words")
               if hasattr(ctfidf_model, name)}
    if getattr(ctfidf_model, "seed_words", None):
        section["seed_words"] = list(ctfidf_model.seed_words)
        section["seed_multiplier"] = float(getattr(ctfidf_model, "seed_multiplier", 2.0))
    return section


def representation_section(representation_model: Any) -> dict[str, Any]:
    """Aspects params from BERTopic-style ``representation_model`` (one model, a chain, or a dict of aspects).

    One model or a list fine-tunes the main representation, as in BERTopic.
    """
    from topic_pipeline.aspects import parse_representation

    value = representation_model if isinstance(representation_model, dict) else {"Main": representation_model}
    parsed = parse_representation(value)
    return {name: [spec.model_dump(mode="json") for spec in chain] for name, chain in parsed.items()}


def is_placeholder(model: Any, name: str) -> bool:
    """BERTopic's "skip this step" classes (``BaseDimensionalityReduction``, ``BaseCluster``), ours or theirs."""
    return model is not None and type(model).__name__ == name


def pipeline_sections(model: Any, *, has_labels: bool) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Params sections and per-stage estimator objects for a ``TopicModel``'s constructor arguments.

    The user's ``params`` sections win over what the BERTopic-style arguments imply.
    """
    from topic_pipeline.embedding import register_model

    estimators: dict[str, Any] = {}
    embedding = model.embedding_model
    if embedding is None:
        embedding = DEFAULT_MODEL if model.language == "english" else MULTILINGUAL_MODEL
    elif not isinstance(embedding, str):
        embedding = register_model(embedding)
    reduction: dict[str, Any] = {"low_memory": bool(model.low_memory), "supervised": has_labels}
    if is_placeholder(model.umap_model, "BaseDimensionalityReduction"):
        reduction["method"] = "none"
    elif model.umap_model is not None:
        estimators["reduced_embeddings"] = model.umap_model
    clustering: dict[str, Any] = {"min_cluster_size": model.min_topic_size,
                                  "calculate_probabilities": bool(model.calculate_probabilities)}
    if is_placeholder(model.hdbscan_model, "BaseCluster"):
        clustering["method"] = "labels"
    elif model.hdbscan_model is not None:
        estimators["clusters"] = model.hdbscan_model
    vectorizer = (vectorizer_section(model.vectorizer_model) if model.vectorizer_model is not None
                  else {"ngram_range": list(model.n_gram_range)})
    # BERTopic keeps only [A-Za-z0-9 ] for English, and cleans nothing once a custom embedding model is given
    vectorizer["language"] = "english" if model.language == "english" and model.embedding_model is None else "none"
    sections: dict[str, dict[str, Any]] = {
        "embedding": {"model": embedding},
        "reduction": reduction,
        "clustering": clustering,
        "guidance": {"seed_topic_list": model.seed_topic_list, "zeroshot_topic_list": model.zeroshot_topic_list,
                     "zeroshot_min_similarity": model.zeroshot_min_similarity},
        "topics": {"nr_topics": model.nr_topics},
        "vectorizer": vectorizer,
        "ctfidf": ctfidf_section(model.ctfidf_model) if model.ctfidf_model is not None else {},
        "representation": {"top_n_words": model.top_n_words,
                           "aspects": representation_section(model.representation_model)
                           if model.representation_model is not None else {}},
        "updates": {"mode": "refit", "keep_models": True},
    }
    for name, values in (model.params or {}).items():
        sections[name] = sections.get(name, {}) | dict(values)
    return sections, estimators
