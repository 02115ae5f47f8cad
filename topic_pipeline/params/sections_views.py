"""The params sections of the stages that describe and show results: the hierarchy, topics over time and
per class, the document map, the report, the quality checks.

Kept apart from ``sections`` (the modeling stages) only to keep modules small; ``PipelineParams``
holds them like any other section. The optional stages (BERTopic's ``fit_transform`` computes none of
them) have an on/off switch, on by default: a stage switched off writes an empty output at once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ParamsSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


LinkageMethod = Literal["ward", "average", "complete", "single"]


class HierarchyParams(ParamsSection):
    """Merge tree of the topics (BERTopic's ``hierarchical_topics``); ``enabled: false`` leaves it empty."""

    enabled: bool = True
    linkage: LinkageMethod = "ward"
    name_words: int = Field(default=5, ge=1)


class OverTimeParams(ParamsSection):
    """Topics over time (BERTopic's ``topics_over_time``) and per class (``topics_per_class``).

    ``nr_bins`` cuts the timestamp range into equal bins (BERTopic: None = one
    bin per distinct timestamp, impractical for second-level timestamps).
    ``enabled`` switches topics over time on or off, ``per_class`` topics per class.
    """

    enabled: bool = True
    per_class: bool = True
    nr_bins: int | None = Field(default=20, ge=1)
    global_tuning: bool = True
    evolution_tuning: bool = True
    top_n_words: int = Field(default=10, ge=5)


class DocumentMapParams(ParamsSection):
    """The 2-D map of the documents that ``visualize_documents`` and the report draw.

    BERTopic's ``visualize_documents`` runs this UMAP on the embeddings every time
    it is called; here it runs once per embeddings and is stored. ``enabled: false``
    leaves the stage empty (the report then has no documents map).
    """

    enabled: bool = True
    n_neighbors: int = Field(default=10, ge=2)
    min_dist: float = Field(default=0.0, ge=0.0)
    metric: str = "cosine"
    random_state: int | None = 42


class ReportParams(ParamsSection):
    """The HTML report (asset ``topic_report``): one file with the topic table and the figures."""

    enabled: bool = True
    title: str = "Topic model report"
    top_n_topics: int | None = Field(default=30, ge=1)
    n_words: int = Field(default=5, ge=1, le=30)
    documents_sample: float = Field(default=1.0, gt=0.0, le=1.0)
    max_documents: int = Field(default=20000, ge=1)


class QualityParams(ParamsSection):
    """Thresholds of the topic-quality checks on ``topic_representations`` (the values are always computed).

    NPMI is gensim's ``c_npmi`` of each topic's top 10 words, a sliding window of
    10 tokens over the corpus's own tokens; diversity is unique top-10 words over
    10 x topics. A check fails (``severity``: WARN shows it, ERROR also marks the
    check as an error) when its value is outside its bound; null switches a bound off.
    Thresholds are read when the checks run and are part of no stage's key.
    """

    min_npmi: float | None = Field(default=0.0, ge=-1.0, le=1.0)
    min_diversity: float | None = Field(default=0.5, ge=0.0, le=1.0)
    max_outlier_share: float | None = Field(default=0.5, ge=0.0, le=1.0)
    min_topics: int | None = Field(default=2, ge=0)
    max_topics: int | None = Field(default=None, ge=1)
    severity: Literal["WARN", "ERROR"] = "WARN"

