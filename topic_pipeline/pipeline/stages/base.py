"""What every stage step gets and is: the context objects and the ``Stage`` record."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from topic_pipeline.errors import StageInputError
from topic_pipeline.params import PipelineParams
from topic_pipeline.pipeline import outputs
from topic_pipeline.pipeline.ledger import RunLedger
from topic_pipeline.pipeline.stage_outputs import DocumentsOutput, EmbeddingsOutput, StageOutput
from topic_pipeline.pipeline.store import StageStore

OutputT = TypeVar("OutputT", bound=StageOutput)


@dataclass(frozen=True)
class TimeWindow:
    """One time-window partition: documents with start <= time < end."""

    key: str
    start: pd.Timestamp
    end: pd.Timestamp


@dataclass(frozen=True)
class PrepareContext:
    """What a stage's ``prepare`` sees before the cache lookup."""

    params: PipelineParams
    store: StageStore
    window: TimeWindow | None
    inbox_file: str | None
    inputs: dict[str, list[Path]]
    ledger: RunLedger


@dataclass
class StepContext:
    """Everything a step may use: its params, its inputs' folders, its output folder.

    An input is a list of folders: one, or every partition of a partitioned
    input read by a global stage (in partition order). Its files are read
    through its output class: ``ctx.input(ClustersOutput).membership()``, or
    for the documents and embeddings (which may be partitioned) all partitions
    concatenated: ``ctx.documents(columns)``, ``ctx.embedding_vectors()``.
    """

    params: PipelineParams
    inputs: dict[str, list[Path]]
    out: Path
    store: StageStore
    log: logging.Logger
    prepared: Any = None
    window: TimeWindow | None = None
    key: str = ""
    estimator: Any = None
    ledger: RunLedger | None = None

    def input_dir(self, stage: str) -> Path:
        folders = self.inputs[stage]
        if len(folders) != 1:
            raise StageInputError(f"Input '{stage}' has {len(folders)} partitions where one output was expected.")
        return folders[0]

    def input(self, kind: type[OutputT]) -> OutputT:
        """The output of the one-folder input ``kind.stage``, e.g. ``ctx.input(CtfidfOutput).idf()``."""
        return kind(self.input_dir(kind.stage))

    def documents(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The documents table, all its partitions concatenated."""
        return DocumentsOutput.read_partitions(self.inputs[DocumentsOutput.stage], columns)

    def embeddings(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The embeddings table (doc_id, doc_hash, vector), all its partitions concatenated."""
        return EmbeddingsOutput.read_partitions(self.inputs[EmbeddingsOutput.stage], columns)

    def embedding_vectors(self) -> np.ndarray:
        """ndarray of shape (n_documents, n_dimensions): the vectors of all partitions, stacked."""
        return EmbeddingsOutput.vectors_of_partitions(self.inputs[EmbeddingsOutput.stage])

    def input_params(self, stage: str) -> dict[str, Any]:
        """The params an input was computed with (from its manifest), not today's file."""
        return outputs.read_manifest(self.inputs[stage][0])["params"]


@dataclass(frozen=True)
class Stage:
    """One node of the graph.

    ``prepare`` runs before the cache lookup and returns extra key material
    (e.g. a digest of the corpus content) plus state handed to ``compute``.
    ``partitioned`` stages
    are split by time window when ``partitions.granularity`` is set.
    ``extra_sections`` are other params sections the output depends on;
    ``section_fields`` the fields of ``section`` it uses when not all of them (the others are
    neither in its key nor shown as its params).
    ``kind`` is what the output is stored as (Dagster shows it as the asset's kind);
    ``reads_previous_window``: a partitioned stage whose window reads the previous window's
    output (evolution tuning), a dependency of the asset on itself.
    """

    name: str
    section: str | None
    inputs: tuple[str, ...]
    compute: Callable[[StepContext], dict[str, Any]]
    description: str
    revision: int = 1
    prepare: Callable[[PrepareContext], tuple[str, Any]] | None = None
    partitioned: bool = False
    extra_sections: tuple[str, ...] = ()
    section_fields: tuple[str, ...] | None = None
    kind: str = "parquet"
    reads_previous_window: bool = False
