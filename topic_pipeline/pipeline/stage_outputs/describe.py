"""The outputs of the steps that describe the topics, and the warehouse's view definitions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topic_pipeline.pipeline import outputs
from topic_pipeline.pipeline.stage_outputs.base import StageOutput, concat_frames
from topic_pipeline.plots.report_page import write_report_page


@dataclass(frozen=True)
class RepresentationsOutput(StageOutput):
    """``topics.parquet``, ``topic_terms.parquet``, ``topic_quality.parquet`` and two small pictures (PNG)."""

    stage: ClassVar[str] = "topic_representations"

    @property
    def topics_file(self) -> Path:
        return outputs.table_path(self.folder, "topics")

    @property
    def terms_file(self) -> Path:
        return outputs.table_path(self.folder, "topic_terms")

    @property
    def quality_file(self) -> Path:
        return outputs.table_path(self.folder, "topic_quality")

    @property
    def topic_words_image(self) -> Path:
        return self.folder / "topic_words.png"

    @property
    def topic_sizes_image(self) -> Path:
        return self.folder / "topic_sizes.png"

    def write(self, topics: pd.DataFrame, terms: pd.DataFrame, quality: pd.DataFrame) -> None:
        """``topics``: one row per topic; ``terms``: topic_id, aspect, rank, term, weight;
        ``quality``: metric, topic_id (null for corpus-wide values), value."""
        outputs.write_table(self.folder, "topics", topics)
        outputs.write_table(self.folder, "topic_terms", terms)
        outputs.write_table(self.folder, "topic_quality", quality)

    def topics(self) -> pd.DataFrame:
        return outputs.read_table(self.folder, "topics")

    def terms(self) -> pd.DataFrame:
        return outputs.read_table(self.folder, "topic_terms")

    def quality(self) -> pd.DataFrame:
        return outputs.read_table(self.folder, "topic_quality")


@dataclass(frozen=True)
class HierarchyOutput(StageOutput):
    """``topic_hierarchy.parquet`` (the merge tree) and ``topic_tree.txt`` (it drawn as text)."""

    stage: ClassVar[str] = "topic_hierarchy"

    @property
    def table_file(self) -> Path:
        return outputs.table_path(self.folder, "topic_hierarchy")

    @property
    def tree_file(self) -> Path:
        return self.folder / "topic_tree.txt"

    def write(self, tree: pd.DataFrame, text: str | None = None) -> None:
        """An empty hierarchy has no ``text``."""
        outputs.write_table(self.folder, "topic_hierarchy", tree)
        if text is not None:
            self.tree_file.write_text(text + "\n")

    def read(self) -> pd.DataFrame:
        return outputs.read_table(self.folder, "topic_hierarchy")


@dataclass(frozen=True)
class OverTimeOutput(StageOutput):
    """``topics_over_time.parquet`` and the last bin's tuned c-TF-IDF rows (the next window's evolution tuning)."""

    stage: ClassVar[str] = "topics_over_time"

    @property
    def table_file(self) -> Path:
        return outputs.table_path(self.folder, "topics_over_time")

    def write(self, table: pd.DataFrame, tuned_rows: Mapping[int, sp.csr_matrix]) -> None:
        outputs.write_table(self.folder, "topics_over_time", table)
        topics = np.array(sorted(tuned_rows), dtype=np.int64)
        outputs.write_array(self.folder, "last_bin_topics", topics)
        if len(topics):
            outputs.write_sparse(self.folder, "last_bin_rows", sp.vstack([tuned_rows[int(t)] for t in topics]))

    def read(self) -> pd.DataFrame:
        return outputs.read_table(self.folder, "topics_over_time")

    def tuned_rows(self) -> dict[int, sp.csr_matrix]:
        """Topic -> its tuned c-TF-IDF row of shape (1, n_terms) in the last bin."""
        topics = np.asarray(outputs.read_array(self.folder, "last_bin_topics"))
        if not len(topics):
            return {}
        matrix = outputs.read_sparse(self.folder, "last_bin_rows")
        return {int(t): matrix[i] for i, t in enumerate(topics)}

    @classmethod
    def read_partitions(cls, folders: Sequence[Path]) -> pd.DataFrame:
        """The tables of every partition, concatenated in partition order."""
        return concat_frames([part.read() for part in cls.of(folders)])


@dataclass(frozen=True)
class PerClassOutput(StageOutput):
    """``topics_per_class.parquet``: topic_id, class, frequency, words."""

    stage: ClassVar[str] = "topics_per_class"

    @property
    def table_file(self) -> Path:
        return outputs.table_path(self.folder, "topics_per_class")

    def write(self, table: pd.DataFrame) -> None:
        outputs.write_table(self.folder, "topics_per_class", table)

    def read(self) -> pd.DataFrame:
        return outputs.read_table(self.folder, "topics_per_class")


@dataclass(frozen=True)
class DocumentMapOutput(StageOutput):
    """``document_map.parquet``: doc_id, x, y (the 2-D map of the documents; empty when switched off)."""

    stage: ClassVar[str] = "document_map"

    @property
    def table_file(self) -> Path:
        return outputs.table_path(self.folder, "document_map")

    def write(self, table: pd.DataFrame) -> None:
        outputs.write_table(self.folder, "document_map", table)

    def read(self) -> pd.DataFrame:
        return outputs.read_table(self.folder, "document_map")


@dataclass(frozen=True)
class ReportOutput(StageOutput):
    """``report.html``: the whole report in one file (plotly.js inside), opened with a browser alone."""

    stage: ClassVar[str] = "topic_report"

    @property
    def report_file(self) -> Path:
        return self.folder / "report.html"

    def write(self, page: str) -> None:
        write_report_page(page, self.report_file)


@dataclass(frozen=True)
class WarehouseOutput(StageOutput):
    """``views.sql``: the DuckDB view definitions, paths relative to the store root."""

    stage: ClassVar[str] = "warehouse"

    def write(self, statements: Sequence[str]) -> None:
        (self.folder / "views.sql").write_text(";\n".join(statements) + ";\n")

    def views(self) -> list[str]:
        return [s for s in (self.folder / "views.sql").read_text().split(";\n") if s.strip()]
