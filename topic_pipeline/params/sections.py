"""Typed parameters per stage: one pydantic section per stage, validated with actionable messages.

Every stage owns one section. A stage's output is cached under a key derived
from the section's *resolved* values (defaults filled in), so writing a default
explicitly in the file, or leaving it out, gives the same key.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from topic_pipeline.errors import ParamsError
from topic_pipeline.params.representation import check_representation_classes, parse_representation
from topic_pipeline.params.sections_deployment import ExecutionParams, StoreParams
from topic_pipeline.params.sections_views import (
    DocumentMapParams,
    HierarchyParams,
    LinkageMethod,
    OverTimeParams,
    ParamsSection,
    QualityParams,
    ReportParams,
)
from topic_pipeline.params.trust import check_arguments, check_class_path

ClusterSelectionMethod = Literal["eom", "leaf"]
Deduplicate = Literal["inbox", "all", "none"]
Granularity = Literal["day", "week", "month"]
UpdateMode = Literal["refit", "assign"]
PreprocessLanguage = Literal["english", "none"]
ReductionMethod = Literal["umap", "pca", "none"]
ClusteringMethod = Literal["hdbscan", "fast_hdbscan", "kmeans", "labels"]
ComputeBackend = Literal["cpu", "cuml"]
OutlierStrategy = Literal["probabilities", "distributions", "c-tf-idf", "embeddings"]


__all__ = ["ParamsSection", "CorpusParams", "EmbeddingParams", "EstimatorSpec", "ReductionParams", "ClusteringParams", "OutlierParams", "TopicsParams", "GuidanceParams", "VectorizerParams", "CtfidfParams", "RepresentationParams", "HierarchyParams", "OverTimeParams", "DocumentMapParams", "ReportParams", "QualityParams", "PartitionsParams", "UpdatesParams", "StoreParams", "ExecutionParams", "TrustParams", "PipelineParams", "check_estimators", "validate_section", "unknown_key_message", "ClusterSelectionMethod", "LinkageMethod", "Deduplicate", "Granularity", "UpdateMode", "PreprocessLanguage", "ReductionMethod", "ClusteringMethod", "OutlierStrategy", "SECTION_NAMES"]




class CorpusParams(ParamsSection):
    """Where the documents come from and which columns hold what.

    ``source`` is ``20newsgroups`` (scikit-learn's loader, BERTopic's quick
    start corpus) or a path or glob of Parquet, CSV or JSON Lines files.
    Column names left as ``None`` use ``doc_id``, ``timestamp`` and ``label``
    when the files have them; a name given explicitly must exist.

    Files dropped into ``inbox`` (same formats and columns) join the corpus.
    ``deduplicate`` decides what happens to a text seen before under another
    doc_id: ``inbox`` links repeats that arrive through the inbox to the first
    copy instead of counting them again (the corpus itself is taken as given,
    as BERTopic does), ``all`` links every repeat, ``none`` keeps every row.
    """

    source: str = "20newsgroups"
    text_column: str = "text"
    id_column: str | None = None
    timestamp_column: str | None = None
    label_column: str | None = None
    limit: int | None = Field(default=None, ge=1)
    data_home: str | None = None
    inbox: str | None = "data/inbox"
    deduplicate: Deduplicate = "inbox"
    encoding: str = "utf-8"


class EmbeddingParams(ParamsSection):
    """Sentence-transformers model, or precomputed vectors used instead of one.

    ``backend``: ``torch`` (sentence-transformers), ``onnx`` (ONNX Runtime: the same vectors, 1.8x as fast),
    ``onnx_int8`` (int8 weights: 4-6x, cosine 0.99 to torch's) or ``static`` (a model2vec distillation: 200x,
    256-d, weaker topics). All but torch derive their model once from the model's local folder into
    $TOPIC_PIPELINE_MODEL_CACHE, run on the CPU (``device`` is torch's only: ``cuda``, ``mps``, or ``auto``,
    CUDA when torch sees a GPU) and cache their own vectors.
    """

    model: str = "all-MiniLM-L6-v2"
    precomputed: str | None = None
    # left out of the dump when torch, so that stores made before the field keep their keys
    backend: Literal["torch", "onnx", "onnx_int8", "static"] = Field(default="torch", exclude_if=lambda b: b == "torch")
    batch_size: int = Field(default=32, ge=1)
    normalize: bool = False
    device: str | None = None


class EstimatorSpec(ParamsSection):
    """Any scikit-learn-style estimator by import path: ``{class_path: sklearn.decomposition.PCA, params: {...}}``."""

    class_path: str = Field(pattern=r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$")
    params: dict[str, Any] = Field(default_factory=dict)


class ReductionParams(ParamsSection):
    """UMAP settings; BERTopic's defaults except a fixed ``random_state``.

    ``method``: ``umap`` (BERTopic's default), ``pca`` (``n_components``,
    ``random_state``) or ``none`` (the embeddings as they are: BERTopic's
    ``BaseDimensionalityReduction``). ``estimator`` names any other class with
    ``fit``/``transform`` and overrides ``method``. ``supervised: true`` gives
    the documents' labels to the reducer as ``y`` (-1 or empty = unlabeled:
    semi-supervised), as ``fit_transform(docs, y=...)`` does in BERTopic.
    """

    method: ReductionMethod = "umap"
    estimator: EstimatorSpec | None = None
    supervised: bool = False
    n_neighbors: int = Field(default=15, ge=2)
    n_components: int = Field(default=5, ge=1)
    min_dist: float = Field(default=0.0, ge=0.0)
    metric: str = "cosine"
    random_state: int | None = 42
    low_memory: bool = False
    # ``cuml``: RAPIDS cuML's UMAP / PCA on an NVIDIA GPU (close to, not the same as, umap-learn's vectors)
    backend: ComputeBackend = Field(default="cpu", exclude_if=lambda b: b == "cpu")


class ClusteringParams(ParamsSection):
    """HDBSCAN settings; ``min_cluster_size`` is BERTopic's ``min_topic_size``.

    ``method``: ``hdbscan`` (default), ``fast_hdbscan`` (same settings, if
    installed), ``kmeans`` (``n_clusters``; no outliers) or ``labels``
    (manual topic modeling: each document's label is its topic, as BERTopic
    with ``BaseCluster`` and ``y``). ``estimator`` names any other class with
    ``fit`` and ``labels_``. ``calculate_probabilities`` keeps HDBSCAN's
    topic-membership matrix (BERTopic's ``calculate_probabilities=True``).
    """

    method: ClusteringMethod = "hdbscan"
    estimator: EstimatorSpec | None = None
    n_clusters: int = Field(default=50, ge=1)
    random_state: int | None = 42
    calculate_probabilities: bool = False
    min_cluster_size: int = Field(default=10, ge=2)
    min_samples: int | None = Field(default=None, ge=1)
    metric: str = "euclidean"
    cluster_selection_method: ClusterSelectionMethod = "eom"
    cluster_selection_epsilon: float = Field(default=0.0, ge=0.0)
    allow_single_cluster: bool = False
    # ``cuml``: RAPIDS cuML's HDBSCAN / KMeans on an NVIDIA GPU
    backend: ComputeBackend = Field(default="cpu", exclude_if=lambda b: b == "cpu")


class OutlierParams(ParamsSection):
    """Reassign outlier documents (BERTopic's ``reduce_outliers`` + ``update_topics``)."""

    strategy: OutlierStrategy = "distributions"
    threshold: float = Field(default=0.0, ge=0.0)


class TopicsParams(ParamsSection):
    """How raw clusters become topic ids: sorted by size, largest = 0, outliers -1.

    ``nr_topics``: an int merges similar topics down to that many, the outlier
    topic -1 counted as one (as in BERTopic); ``auto`` merges with HDBSCAN
    over topic vectors; ``use_ctfidf`` compares c-TF-IDF rows instead
    of topic embeddings. ``outliers`` reassigns outlier documents afterwards.
    """

    nr_topics: int | Literal["auto"] | None = None
    use_ctfidf: bool = False
    outliers: OutlierParams | None = None

    @field_validator("nr_topics")
    @classmethod
    def _at_least_two(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 2:
            raise ValueError(f"must be 'auto' or an integer >= 2, got {value}")
        return value


class GuidanceParams(ParamsSection):
    """Guided and zero-shot topic modeling (BERTopic's ``seed_topic_list``, ``zeroshot_topic_list``).

    Seed lists pull matching documents together before UMAP (and their words
    get a 1.2 c-TF-IDF boost); zero-shot topics take every document whose
    embedding is at least ``zeroshot_min_similarity`` (cosine) to a topic
    name's embedding, and the rest is clustered. Both embed with
    ``embedding.model``.
    """

    seed_topic_list: list[list[str]] | None = None
    zeroshot_topic_list: list[str] | None = None
    zeroshot_min_similarity: float = Field(default=0.7, ge=-1.0, le=1.0)

    @field_validator("seed_topic_list", "zeroshot_topic_list")
    @classmethod
    def _not_empty(cls, value: list | None) -> list | None:
        if value is not None and (not value or any(not item for item in value)):
            raise ValueError("must be null or a non-empty list of non-empty entries")
        return value


class VectorizerParams(ParamsSection):
    """The bag-of-words: scikit-learn ``CountVectorizer`` arguments + BERTopic's cleaning."""

    ngram_range: tuple[int, int] = (1, 1)
    stop_words: str | list[str] | None = None
    min_df: int | float = 1
    max_df: int | float = 1.0
    max_features: int | None = Field(default=None, ge=1)
    lowercase: bool = True
    language: PreprocessLanguage = "english"

    @field_validator("min_df", "max_df")
    @classmethod
    def _document_frequency(cls, value: int | float) -> int | float:
        # scikit-learn's own constraints: a share of topics in [0, 1], or a count of at least 1
        if isinstance(value, bool) or (isinstance(value, int) and value < 1) or \
                (isinstance(value, float) and not 0.0 <= value <= 1.0):
            raise ValueError("must be a float in [0.0, 1.0] (a share of topics) or an integer >= 1")
        return value

    @field_validator("stop_words")
    @classmethod
    def _stop_word_list(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, str) and value != "english":
            raise ValueError("must be 'english', a list of words or null (scikit-learn has only English)")
        return value

    @field_validator("ngram_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] < 1 or value[1] < value[0]:
            raise ValueError(f"must be two integers 1 <= low <= high, got {list(value)}")
        return value


class CtfidfParams(ParamsSection):
    """Class-based TF-IDF weighting options (BERTopic's ``ClassTfidfTransformer``)."""

    bm25_weighting: bool = False
    reduce_frequent_words: bool = False
    seed_words: list[str] = Field(default_factory=list)
    seed_multiplier: float = 2.0


class RepresentationParams(ParamsSection):
    """Topic words, names and representative documents.

    ``quality`` also computes NPMI coherence, diversity, outlier share and the
    topic count (the ``quality`` section's checks read them); it tokenizes the
    corpus once more, so ``TopicModel`` (which BERTopic users call in loops)
    leaves it to ``topic_quality()``. ``pictures`` draws the two PNG previews
    the Dagster UI shows (matplotlib, about a second).
    """

    top_n_words: int = Field(default=10, ge=1, le=100)
    nr_repr_docs: int = Field(default=3, ge=1)
    nr_repr_samples: int = Field(default=500, ge=1)
    name_words: int = Field(default=4, ge=1)
    aspects: dict[str, Any] = Field(default_factory=dict)
    quality: bool = True
    pictures: bool = True

    @field_validator("aspects")
    @classmethod
    def _known_models(cls, value: dict[str, Any]) -> dict[str, Any]:
        parse_representation(value)  # raises with the valid model names
        return value


class PartitionsParams(ParamsSection):
    """Time-window partitions of ``documents``, ``embeddings`` and ``topics_over_time``.

    ``granularity: null`` keeps one unpartitioned corpus. A document falls in
    the window of its timestamp, or of its ingest time (its file's modification
    time) when it has none.
    """

    granularity: Granularity | None = None
    start: str = "1992-01-01"


class UpdatesParams(ParamsSection):
    """What happens to the model when new documents arrive.

    ``refit`` fits UMAP and HDBSCAN again on all documents. ``assign`` keeps
    the fitted models and places new documents with UMAP ``transform`` and
    HDBSCAN ``approximate_predict`` (topic ids stay stable), until
    ``refit_every`` documents have arrived since the last fit.
    """

    mode: UpdateMode = "refit"
    refit_every: int = Field(default=1000, ge=1)
    keep_models: bool = False


class TrustParams(ParamsSection):
    """Which code the params file may name.

    ``estimator.class_path`` may name classes of scikit-learn, umap, hdbscan,
    fast_hdbscan and cuML, classes registered in code
    (``topic_pipeline.register_estimator``), and classes of the modules listed
    here. This section is read from the params file only: run configuration
    (the Dagster launchpad) cannot change it.
    """

    trusted_modules: list[str] = Field(default_factory=list)

    @field_validator("trusted_modules")
    @classmethod
    def _module_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", name):
                raise ValueError(f"must be dotted module names, got {name!r}")
        return value


class PipelineParams(ParamsSection):
    """All sections of ``params.yaml``; a missing section takes its defaults."""

    corpus: CorpusParams = CorpusParams()
    embedding: EmbeddingParams = EmbeddingParams()
    reduction: ReductionParams = ReductionParams()
    clustering: ClusteringParams = ClusteringParams()
    guidance: GuidanceParams = GuidanceParams()
    topics: TopicsParams = TopicsParams()
    vectorizer: VectorizerParams = VectorizerParams()
    ctfidf: CtfidfParams = CtfidfParams()
    representation: RepresentationParams = RepresentationParams()
    hierarchy: HierarchyParams = HierarchyParams()
    over_time: OverTimeParams = OverTimeParams()
    document_map: DocumentMapParams = DocumentMapParams()
    report: ReportParams = ReportParams()
    quality: QualityParams = QualityParams()
    partitions: PartitionsParams = PartitionsParams()
    updates: UpdatesParams = UpdatesParams()
    store: StoreParams = StoreParams()
    execution: ExecutionParams = ExecutionParams()
    trust: TrustParams = TrustParams()

    def section(self, name: str) -> ParamsSection:
        """Return one section by name."""
        return getattr(self, name)

    def with_overrides(self, section: str, overrides: dict[str, Any], *, origin: str) -> PipelineParams:
        """Return a copy whose ``section`` has ``overrides`` applied, validated as in the file."""
        if not overrides:
            return self
        merged = self.section(section).model_dump() | dict(overrides)
        if section == "trust":
            raise ParamsError(f"{origin}: the 'trust' section is read from the params file only.")
        new_section = validate_section(section, merged, origin=origin)
        updated = self.model_copy(update={section: new_section})
        check_estimators(updated, origin=origin)  # model_copy does not run validators
        return updated


def check_estimators(params: PipelineParams, *, origin: str = "params") -> None:
    """Every ``estimator.class_path`` must pass the allow-list (``trust``) before anything imports it."""
    for name in ("reduction", "clustering"):
        spec = params.section(name).estimator
        if spec is not None:
            check_class_path(spec.class_path, params.trust.trusted_modules, where=f"{origin}: {name}.estimator.class_path")
            check_arguments(spec.class_path, spec.params, where=f"{origin}: {name}.estimator.params")
    check_representation_classes(params.representation.aspects, params.trust.trusted_modules, origin=origin)


SECTION_NAMES: tuple[str, ...] = tuple(PipelineParams.model_fields)


def validate_section(name: str, values: Any, *, origin: str) -> ParamsSection:
    """Validate one section's values; unknown keys get a 'did you mean' hint."""
    model = PipelineParams.model_fields[name].annotation
    if not isinstance(values, dict):
        raise ParamsError(f"{origin}: section '{name}' must be a mapping, got {type(values).__name__}.")
    unknown = [key for key in values if key not in model.model_fields]
    if unknown:
        raise ParamsError(unknown_key_message(origin, f"{name}.", unknown[0], tuple(model.model_fields)))
    try:
        return model(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ParamsError(
            f"{origin}: invalid value for '{name}.{where}': {error['msg']} (got {error.get('input')!r})."
        ) from None


def unknown_key_message(origin: str, prefix: str, key: str, valid: tuple[str, ...]) -> str:
    guess = difflib.get_close_matches(str(key), valid, n=1)
    hint = f" Did you mean '{prefix}{guess[0]}'?" if guess else ""
    return f"{origin}: unknown key '{prefix}{key}'.{hint} Valid keys: {', '.join(valid)}."


