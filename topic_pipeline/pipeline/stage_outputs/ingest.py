"""The outputs of the steps that bring documents in: ``documents`` and ``embeddings`` (both partitioned)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from topic_pipeline.pipeline import outputs
from topic_pipeline.pipeline.stage_outputs.base import StageOutput, concat_frames, stack_vectors


@dataclass(frozen=True)
class DocumentsOutput(StageOutput):
    """``documents.parquet`` (doc_id, text, timestamp, label, doc_hash, ...) and ``links.parquet`` (repeats)."""

    stage: ClassVar[str] = "documents"

    @property
    def documents_file(self) -> Path:
        return outputs.table_path(self.folder, "documents")

    @property
    def links_file(self) -> Path:
        return outputs.table_path(self.folder, "links")

    def write(self, documents: pd.DataFrame, links: pd.DataFrame) -> None:
        outputs.write_table(self.folder, "documents", documents)
        outputs.write_table(self.folder, "links", links)

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        return outputs.read_table(self.folder, "documents", columns)

    def read_links(self) -> pd.DataFrame:
        return outputs.read_table(self.folder, "links")

    @classmethod
    def read_partitions(cls, folders: Sequence[Path], columns: list[str] | None = None) -> pd.DataFrame:
        """The documents of every partition, concatenated in partition order."""
        return concat_frames([part.read(columns) for part in cls.of(folders)])


@dataclass(frozen=True)
class EmbeddingsOutput(StageOutput):
    """``embeddings.parquet``: doc_id, doc_hash and a float32 vector per document."""

    stage: ClassVar[str] = "embeddings"

    def write(self, doc_ids: pd.Series, vectors: np.ndarray, doc_hash: pd.Series) -> None:
        outputs.write_vectors(self.folder, "embeddings", doc_ids, vectors, doc_hash=doc_hash)

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        return outputs.read_table(self.folder, "embeddings", columns)

    def vectors(self) -> np.ndarray:
        """ndarray of shape (n_documents, n_dimensions), float32."""
        return outputs.read_vectors(self.folder, "embeddings")

    @classmethod
    def read_partitions(cls, folders: Sequence[Path], columns: list[str] | None = None) -> pd.DataFrame:
        """The table of every partition, concatenated in partition order."""
        return concat_frames([part.read(columns) for part in cls.of(folders)])

    @classmethod
    def vectors_of_partitions(cls, folders: Sequence[Path]) -> np.ndarray:
        """The vectors of every partition, stacked in partition order."""
        return stack_vectors([part.vectors() for part in cls.of(folders)])
