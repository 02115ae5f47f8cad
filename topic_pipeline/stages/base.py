"""What every stage step gets and is: the context objects and the ``Stage`` record."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline import artifacts, plots
from topic_pipeline.errors import StageInputError
from topic_pipeline.params import PipelineParams
from topic_pipeline.run_ledger import RunLedger
from topic_pipeline.store import StageStore


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
    input read by a global stage (in partition order).
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

    def read_table(self, stage: str, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A table of an input, all its partitions concatenated."""
        frames = [artifacts.read_table(folder, name, columns) for folder in self.inputs[stage]]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def read_vectors(self, stage: str, name: str) -> np.ndarray:
        parts = [artifacts.read_vectors(folder, name) for folder in self.inputs[stage]]
        return np.vstack(parts) if len(parts) > 1 else parts[0]

    def shared_plotly_js(self) -> str:
        """URL of the store's one copy of plotly.js, relative to an output folder (<root>/<stage>/<key>/)."""
        plots.write_plotly_js(self.store.root / "_static" / "plotly.min.js")
        return "../../_static/plotly.min.js"

    def input_params(self, stage: str) -> dict[str, Any]:
        """The params an input was computed with (from its manifest), not today's file."""
        return artifacts.read_manifest(self.inputs[stage][0])["params"]


@dataclass(frozen=True)
class Stage:
    """One node of the graph.

    ``prepare`` runs before the cache lookup and returns extra key material
    (e.g. a digest of the corpus content) plus state handed to ``compute``.
    ``partitioned`` stages
    are split by time window when ``partitions.granularity`` is set.
    ``extra_sections`` are other params sections the output depends on.
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
