"""What every stage output class shares: the folder, the manifest, optional parts, partitions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from topic_pipeline.pipeline import outputs
from topic_pipeline.pipeline.fitted_models import FITTED_MODEL, load_fitted_model


def concat_frames(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Tables of several partitions as one (a single table is returned as it is)."""
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def stack_vectors(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Vectors of several partitions as one array (a single array is returned as it is)."""
    return np.vstack(parts) if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class StageOutput:
    """The files of one stored output folder of ``stage``."""

    folder: Path
    stage: ClassVar[str]

    @classmethod
    def of(cls, folders: Sequence[Path]) -> list[Self]:
        """One output per folder (the partitions of a partitioned input, in order)."""
        return [cls(folder) for folder in folders]

    def manifest(self) -> dict[str, Any]:
        """The output's manifest: its params, inputs and metadata."""
        return outputs.read_manifest(self.folder)


@dataclass(frozen=True)
class FittedModelOutput(StageOutput):
    """An output that may keep its fitted estimator (``updates.mode: assign``, ``keep_models``, zero-shot)."""

    def fitted_model_file(self) -> Path | None:
        """The pickled estimator, if this output kept one (loaded only through ``load_fitted_model``)."""
        path = self.folder / FITTED_MODEL
        return path if path.exists() else None

    def load_fitted_model(self) -> object:
        """The fitted estimator, unpickled only when its digest matches the manifest's.

        Raises
        ------
        StoreError
            No model, no digest in the manifest, or a file that differs from it.
        """
        return load_fitted_model(self.folder)


def read_optional_array(output: StageOutput, name: str) -> np.ndarray | None:
    """An optional part: None when the output has no such file."""
    exists = outputs.array_path(output.folder, name).exists()
    return outputs.read_array(output.folder, name) if exists else None


def read_optional_table(output: StageOutput, name: str) -> pd.DataFrame | None:
    """An optional part: None when the output has no such file."""
    exists = outputs.table_path(output.folder, name).exists()
    return outputs.read_table(output.folder, name) if exists else None
