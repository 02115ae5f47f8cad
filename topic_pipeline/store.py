"""Content-addressed stage store: ``<root>/<stage>/<key>/`` plus a ``current`` pointer.

A stage output is written into a temporary folder beside its final place and
renamed into place only when complete, so a run killed at any moment leaves
either no output or a whole one. ``current`` names the key a stage last
materialized; downstream stages read their inputs through it. Old keys stay
until ``gc`` so that changing a parameter back is a cache hit.

Embeddings are also cached per document: ``embedding_cache/<model>/<part>.parquet``
maps a document's content hash to its vector, so no text is embedded twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from topic_pipeline.errors import StoreError

DATA_ENV = "TOPIC_PIPELINE_DATA"
DEFAULT_DATA_ROOT = Path("data") / "warehouse"
MANIFEST = "manifest.json"
CURRENT = "current"
PARTITIONS = "partitions"
_TMP_PREFIX = ".tmp-"


def default_root() -> Path:
    """``$TOPIC_PIPELINE_DATA`` if set, else ``./data/warehouse``."""
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA_ROOT)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary name beside ``path``; rename it to ``path`` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{_TMP_PREFIX}{path.name}.{uuid.uuid4().hex}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_json(path: Path, value: Any) -> None:
    """Atomically write JSON (used for manifests, pointers and run records)."""
    atomic_write_bytes(path, json.dumps(value, indent=1, default=str).encode())


class StageStore:
    """Stage outputs under ``root``, addressed by stage name and key."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    # --- stage outputs -------------------------------------------------------------
    def output_dir(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def has(self, stage: str, key: str) -> bool:
        """Whether a complete output exists (the manifest is written last)."""
        return (self.output_dir(stage, key) / MANIFEST).exists()

    def manifest(self, stage: str, key: str) -> dict[str, Any]:
        path = self.output_dir(stage, key) / MANIFEST
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise StoreError(f"Stage '{stage}' has no stored output {key} (looked in {path.parent}).") from None

    @contextlib.contextmanager
    def writing(self, stage: str, key: str) -> Iterator[Path]:
        """Yield a temporary folder; on success it becomes ``<stage>/<key>``.

        The caller writes its files and the manifest into the folder. On any
        exception (or a kill) the temporary folder is removed or left under a
        ``.tmp-`` name that readers never look at and ``gc`` deletes.
        """
        stage_dir = self.root / stage
        stage_dir.mkdir(parents=True, exist_ok=True)
        self._remove_abandoned_tmp(stage_dir)
        tmp = stage_dir / f"{_TMP_PREFIX}{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            yield tmp
            final = self.output_dir(stage, key)
            if not (tmp / MANIFEST).exists():
                raise StoreError(f"Stage '{stage}' wrote no manifest into {tmp}.")
            try:
                os.rename(tmp, final)
            except OSError:
                if not self.has(stage, key):
                    raise
                shutil.rmtree(tmp)  # another run stored the same key first; identical content
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @staticmethod
    def _remove_abandoned_tmp(stage_dir: Path) -> None:
        """Delete temporary folders whose writing process no longer exists."""
        for tmp in stage_dir.glob(f"{_TMP_PREFIX}*"):
            parts = tmp.name.split("-")
            pid = int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None
            if pid is not None and not _pid_alive(pid):
                shutil.rmtree(tmp, ignore_errors=True)

    def _pointer(self, stage: str, partition: str | None) -> Path:
        return self.root / stage / (CURRENT if partition is None else f"{PARTITIONS}/{partition}")

    def current(self, stage: str, partition: str | None = None) -> str | None:
        """The key last materialized for ``stage`` (or one of its partitions), None if it never ran."""
        try:
            return self._pointer(stage, partition).read_text().strip() or None
        except FileNotFoundError:
            return None

    def set_current(self, stage: str, key: str, partition: str | None = None) -> None:
        atomic_write_bytes(self._pointer(stage, partition), key.encode())

    def current_partitions(self, stage: str) -> dict[str, str]:
        """Partition key -> current key of every materialized partition of ``stage``, sorted."""
        folder = self.root / stage / PARTITIONS
        if not folder.is_dir():
            return {}
        return {p.name: p.read_text().strip() for p in sorted(folder.iterdir()) if not p.name.startswith(_TMP_PREFIX)}

    def current_dir(self, stage: str, partition: str | None = None) -> Path:
        """Folder of the current output of ``stage`` (or a partition); a clear error if there is none."""
        key = self.current(stage, partition)
        if key is None or not self.has(stage, key):
            where = f" partition {partition}" if partition else ""
            raise StoreError(
                f"Stage '{stage}'{where} has no stored output under {self.root}; materialize it first "
                f"(topic-pipeline run --select {stage})."
            )
        return self.output_dir(stage, key)

    def stages(self) -> list[str]:
        """Stages that have a current output (or current partitions)."""
        if not self.root.exists():
            return []
        names = {p.parent.name for p in self.root.glob(f"*/{CURRENT}")}
        return sorted(names | {p.parent.name for p in self.root.glob(f"*/{PARTITIONS}")})

    # --- run log ---------------------------------------------------------------------
    @property
    def runs_dir(self) -> Path:
        return self.root / "_stage_runs"

    def record_run(self, record: dict[str, Any]) -> None:
        """Append one stage execution to the run log (one small JSON file per record)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        write_json(self.runs_dir / f"{stamp}-{record['stage']}-{uuid.uuid4().hex[:8]}.json", record)

    # --- garbage collection ------------------------------------------------------------
    def gc(self) -> list[Path]:
        """Delete outputs that are not ``current`` and abandoned temporary folders."""
        removed: list[Path] = []
        for stage in self.stages():
            keep = {self.current(stage), *self.current_partitions(stage).values()}
            for child in (self.root / stage).iterdir():
                if child.is_dir() and child.name not in keep and child.name != PARTITIONS:
                    shutil.rmtree(child, ignore_errors=True)
                    removed.append(child)
        return removed

    # --- per-document embedding cache -------------------------------------------------
    def embedding_cache_dir(self, model_key: str) -> Path:
        return self.root / "embedding_cache" / model_key

    def cached_embeddings(self, model_key: str) -> tuple[list[str], np.ndarray | None]:
        """All cached (doc_hash, vector) pairs of one model, as a list and a float32 matrix."""
        parts = sorted(self.embedding_cache_dir(model_key).glob("*.parquet"))
        if not parts:
            return [], None
        table = pa.concat_tables(pq.read_table(part) for part in parts)
        return table.column("doc_hash").to_pylist(), vectors_from_column(table.column("embedding"))

    def add_embeddings(self, model_key: str, doc_hashes: list[str], vectors: np.ndarray) -> None:
        """Store newly computed vectors as one more part file (atomic)."""
        table = pa.table({"doc_hash": doc_hashes, "embedding": vectors_to_column(vectors)})
        target = self.embedding_cache_dir(model_key) / f"{uuid.uuid4().hex}.parquet"
        write_parquet_atomic(table, target)


def vectors_to_column(vectors: np.ndarray) -> pa.FixedSizeListArray:
    """A float32 matrix as an Arrow ``FixedSizeList<float32>`` column (one row per vector)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])


def vectors_from_column(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Inverse of ``vectors_to_column``: a float32 matrix (no copy for a single chunk)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = array.type.list_size
    return array.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file through a temporary name and an atomic rename."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
