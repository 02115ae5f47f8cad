"""Translate BERTopic-style constructor arguments into pipeline params and estimator objects.

``TopicModel`` takes what ``BERTopic`` takes (``umap_model``, ``hdbscan_model``,
``vectorizer_model``, ``ctfidf_model``, ``representation_model`` ...). Settings
that have a params equivalent become params, so they are validated and cached
like every other parameter; a reducer or clusterer object is handed to its
stage as is (its content hash joins the store key).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from topic_pipeline.core.estimators import fresh_copy
from topic_pipeline.errors import ParamsError
from topic_pipeline.model.placeholders import ClassTfidfTransformer
from topic_pipeline.params.representation import MAIN_ASPECT, is_spec_mapping, parse_representation
from topic_pipeline.pipeline.embedding import register_model
from topic_pipeline.representation.objects import representation_specs

logger = logging.getLogger("topic_pipeline")

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
    # attributes, not get_params(): BERTopic's OnlineCountVectorizer takes CountVectorizer's settings as **kwargs,
    # so its get_params() lists only decay and delete_min_df
    settings = {name: getattr(vectorizer_model, name) for name in (*_VECTORIZER_FIELDS, *_UNSUPPORTED_VECTORIZER)
                if hasattr(vectorizer_model, name)}
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

    One model or a list fine-tunes the main representation, as in BERTopic. Objects become settings
    (``representation.objects.representation_specs``): BERTopic's KeyBERTInspired and
    MaximalMarginalRelevance become ours, a ``RepresentationModel`` its class path + params, any other
    BERTopic ``BaseRepresentation`` an in-process entry keyed by its attributes.

    Raises
    ------
    ParamsError
        A model of an unknown kind, or one whose settings cannot key the cache.
    """
    value = representation_specs(representation_model)
    if not isinstance(value, dict) or is_spec_mapping(value):
        value = {MAIN_ASPECT: value}
    parsed = parse_representation(value)
    return {name: [spec.model_dump(mode="json") for spec in chain] for name, chain in parsed.items()}


def default_submodels(low_memory: bool, min_topic_size: int, n_gram_range: tuple[int, int]) -> dict[str, Any]:
    """BERTopic's default ``umap_model``, ``hdbscan_model``, ``vectorizer_model`` and ``ctfidf_model``.

    ``TopicModel`` sets these at construction, as BERTopic does, so code like
    ``topic_model.umap_model.random_state = 42`` works. An instance left as built
    runs as the pipeline's own reduction/clustering params (cached like any
    setting, UMAP with the params' fixed seed); a changed one runs as that object.
    """
    from hdbscan import HDBSCAN
    from sklearn.feature_extraction.text import CountVectorizer
    from umap import UMAP

    return {
        "umap_model": UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=low_memory),
        "hdbscan_model": HDBSCAN(min_cluster_size=min_topic_size, metric="euclidean", cluster_selection_method="eom",
                                 prediction_data=True),
        "vectorizer_model": CountVectorizer(ngram_range=n_gram_range),
        "ctfidf_model": ClassTfidfTransformer(),
    }


def is_default_instance(estimator: Any, default: Any) -> bool:
    """``estimator`` is of the default's class with the default's settings (fitted or not)."""
    if type(estimator) is not type(default) or not hasattr(estimator, "get_params"):
        return False
    return _comparable(estimator.get_params(deep=False)) == _comparable(default.get_params(deep=False))


def _comparable(settings: dict[str, Any]) -> dict[str, str]:
    return {name: repr(value) for name, value in settings.items()}


def is_placeholder(model: Any, name: str) -> bool:
    """BERTopic's "skip this step" classes (``BaseDimensionalityReduction``, ``BaseCluster``), ours or theirs."""
    return model is not None and type(model).__name__ == name


def _embedding_section(args: SimpleNamespace) -> dict[str, Any]:
    """A model name, a registered model object, or, as BERTopic does, the language's default model
    for an object that cannot embed (with a warning instead of a failed fit)."""
    embedding = args.embedding_model
    default = DEFAULT_MODEL if args.language == "english" else MULTILINGUAL_MODEL
    if embedding is None:
        embedding = default
    elif not isinstance(embedding, str):
        if hasattr(embedding, "encode"):
            embedding = register_model(embedding)
        else:
            # BERTopic's select_backend ends with all-MiniLM-L6-v2 whatever the language (it is None by then)
            logger.warning("embedding_model %s.%s has no encode method; embedding with %s instead, as BERTopic "
                           "does. Give a sentence-transformers model, its name or a local path.",
                           type(embedding).__module__, type(embedding).__qualname__, DEFAULT_MODEL)
            embedding = DEFAULT_MODEL
    return {"model": embedding}


def _estimator_sections(args: SimpleNamespace, has_labels: bool) -> tuple[dict, dict, dict[str, Any]]:
    """Reduction and clustering sections, and the estimator objects that replace them."""
    defaults = default_submodels(bool(args.low_memory), int(args.min_topic_size), tuple(args.n_gram_range))
    estimators: dict[str, Any] = {}
    reduction: dict[str, Any] = {"low_memory": bool(args.low_memory), "supervised": has_labels}
    if is_placeholder(args.umap_model, "BaseDimensionalityReduction"):
        reduction["method"] = "none"
    elif args.umap_model is not None and not is_default_instance(args.umap_model, defaults["umap_model"]):
        estimators["reduced_embeddings"] = fresh_copy(args.umap_model)  # keyed by settings, fitted or not
    clustering: dict[str, Any] = {"min_cluster_size": args.min_topic_size,
                                  "calculate_probabilities": bool(args.calculate_probabilities)}
    if is_placeholder(args.hdbscan_model, "BaseCluster"):
        clustering["method"] = "labels"
    elif args.hdbscan_model is not None and not is_default_instance(args.hdbscan_model, defaults["hdbscan_model"]):
        estimators["clusters"] = fresh_copy(args.hdbscan_model)
    return reduction, clustering, estimators


def pipeline_sections(arguments: Mapping[str, Any], *, has_labels: bool
                      ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Params sections and per-stage estimator objects for a ``TopicModel``'s constructor ``arguments``.

    The user's ``params`` sections win over what the BERTopic-style arguments imply.
    """
    args = SimpleNamespace(**arguments)
    reduction, clustering, estimators = _estimator_sections(args, has_labels)
    vectorizer = (vectorizer_section(args.vectorizer_model) if args.vectorizer_model is not None
                  else {"ngram_range": list(args.n_gram_range)})
    # BERTopic keeps only [A-Za-z0-9 ] for English, and cleans nothing once a custom embedding model is given
    vectorizer["language"] = "english" if args.language == "english" and args.embedding_model is None else "none"
    sections: dict[str, dict[str, Any]] = {
        "embedding": _embedding_section(args),
        "reduction": reduction,
        "clustering": clustering,
        "guidance": {"seed_topic_list": args.seed_topic_list, "zeroshot_topic_list": args.zeroshot_topic_list,
                     "zeroshot_min_similarity": args.zeroshot_min_similarity},
        "topics": {"nr_topics": args.nr_topics},
        "vectorizer": vectorizer,
        "ctfidf": ctfidf_section(args.ctfidf_model) if args.ctfidf_model is not None else {},
        "representation": {"top_n_words": args.top_n_words,
                           "aspects": representation_section(args.representation_model)
                           if args.representation_model is not None else {},
                           # fit as BERTopic does: topic_quality() computes quality on demand, and the PNG
                           # previews are the Dagster UI's (the visualize_* methods draw the figures)
                           "quality": False, "pictures": False},
        "updates": {"mode": "refit", "keep_models": True},
    }
    for name, values in (args.params or {}).items():
        sections[name] = sections.get(name, {}) | dict(values)
    return sections, estimators
