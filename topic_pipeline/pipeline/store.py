"""Content-addressed stage store: ``<root>/<stage>/<key>/`` plus one pointer file for all stages.

A stage output is written into a temporary folder beside its final place and
renamed into place only when complete, so a run killed at any moment leaves
either no output or a whole one. Runs resolve their inputs from what they
produced themselves (``run_ledger``); ``_current.json`` names the key of every
stage (and partition) of the last successful run, is replaced in one atomic
rename at the end of a run, and is what readers, the warehouse and ``gc`` go
by. Old keys stay until ``gc`` so that changing a parameter back is a cache hit.

Every read-modify-write of shared state (the pointer file, a run's claims,
``gc``) happens under ``lock()``: a lock file created with ``O_EXCL``, which
works on shared file systems too, broken only when its holder has left it
untouched for ``LOCK_STALE_SECONDS``.

Embeddings are also cached per document: ``embedding_cache/<model>/<part>.parquet``
maps a document's content hash to its vector, so no text is embedded twice.

The root may be object storage (``s3://bucket/prefix``, ``shared_storage``):
then ``shared`` is that prefix and holds every output, pointer, ledger, run
record, cache part and the lock, while ``root`` is this machine's mirror of
the outputs it reads plus what is only its own (logs, the DuckDB file, the
report, the corpus digest memo). Locally both are the same folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from topic_pipeline.errors import StoreError
from topic_pipeline.pipeline import shared_storage
from topic_pipeline.pipeline.shared_storage import MANIFEST, TMP_PREFIX, StorePath, atomic_path, renewing

DATA_ENV = "TOPIC_PIPELINE_DATA"
DEFAULT_DATA_ROOT = Path("data") / "warehouse"
HEAD = "_current.json"
LEGACY_CURRENT = "current"  # per-stage pointer files of stores written before _current.json
LEGACY_PARTITIONS = "partitions"
TMP_RUN_SEPARATOR = "~"  # .tmp-<key>~<run token>~<random>: gc knows which run a temporary folder belongs to
LOCK_STALE_SECONDS = 60.0
LOCK_TIMEOUT_SECONDS = 300.0


def default_root(configured: str | None = None) -> str | Path:
    """``$TOPIC_PIPELINE_DATA`` if set, else ``configured`` (params ``store.root``), else ``./data/warehouse``."""
    return os.environ.get(DATA_ENV) or configured or DEFAULT_DATA_ROOT


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    shared_storage.write_bytes(path, data)


def read_json(path: StorePath, default: Any) -> Any:
    """A small JSON file of the store's own, or ``default`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def write_json(path: StorePath, value: Any) -> None:
    """Atomically write JSON (manifests, pointers, run records), locally or on object storage."""
    shared_storage.write_bytes(path, json.dumps(value, indent=1, default=str).encode())


class StageStore:
    """Stage outputs under ``root``, addressed by stage name and key."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *, mirror: str | os.PathLike[str] | None = None
                 ) -> None:
        location = root if root is not None else default_root()
        self.location = str(location)
        self.remote = shared_storage.is_url(location)
        if self.remote:
            self.shared: StorePath = shared_storage.open_remote(self.location)
            self.root = Path(mirror) if mirror is not None else shared_storage.mirror_folder(self.location)
        else:
            self.root = shared_storage.local_location(location)
            self.shared = self.root

    @classmethod
    def configured(cls, params: Any = None) -> StageStore:
        """The store a run uses: ``$TOPIC_PIPELINE_DATA``, else params ``store.root``, else ``./data/warehouse``."""
        section = getattr(params, "store", None)
        return cls(default_root(getattr(section, "root", None)), mirror=getattr(section, "mirror", None))

    @property
    def shared_location(self) -> str:
        """The shared root as text: an absolute local path or the object storage URL (no trailing slash)."""
        return str(self.root.absolute()) if not self.remote else f"{self.shared.protocol}://{self.shared.path}"

    # --- stage outputs -------------------------------------------------------------
    def output_dir(self, stage: str, key: str) -> Path:
        """The local folder of an output; on object storage it is mirrored here on first use."""
        local = self.root / stage / key
        if self.remote and not (local / MANIFEST).exists():
            shared_storage.download_folder(self.shared / stage / key, local)
        return local

    def has(self, stage: str, key: str) -> bool:
        """Whether a complete output exists (the manifest is written last)."""
        return (self.shared / stage / key / MANIFEST).exists()

    def manifest(self, stage: str, key: str) -> dict[str, Any]:
        local = self.root / stage / key / MANIFEST
        path = local if local.exists() else self.shared / stage / key / MANIFEST
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise StoreError(f"Stage '{stage}' has no stored output {key} (looked in {path.parent}).") from None

    @contextlib.contextmanager
    def writing(self, stage: str, key: str, run_token: str = "") -> Iterator[Path]:
        """Yield a temporary folder; on success it becomes ``<stage>/<key>``.

        The caller writes its files and the manifest into the folder. On any
        exception the temporary folder is removed; after a kill it stays under
        a ``.tmp-`` name that readers never look at and ``gc`` deletes once the
        run it names (``run_token``) no longer holds a live lease.
        """
        stage_dir = self.root / stage
        stage_dir.mkdir(parents=True, exist_ok=True)
        tmp = stage_dir / f"{TMP_PREFIX}{key}{TMP_RUN_SEPARATOR}{run_token}{TMP_RUN_SEPARATOR}{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            yield tmp
            final = self.root / stage / key
            if not (tmp / MANIFEST).exists():
                raise StoreError(f"Stage '{stage}' wrote no manifest into {tmp}.")
            try:
                os.rename(tmp, final)
            except OSError:
                if not (final / MANIFEST).exists():
                    raise
                shutil.rmtree(tmp)  # another run stored the same key first; identical content
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if self.remote and not self.has(stage, key):
            shared_storage.upload_folder(final, self.shared / stage / key)

    # --- the pointer file ------------------------------------------------------------
    @property
    def head_path(self) -> StorePath:
        return self.shared / HEAD

    def head(self) -> dict[str, Any]:
        """The published pointers: ``{"stages": {stage: key}, "partitions": {stage: {partition: key}}, ...}``."""
        try:
            head = json.loads(self.head_path.read_text())
        except FileNotFoundError:
            return self._legacy_head()
        except (OSError, ValueError) as exc:
            raise StoreError(f"The pointer file {self.head_path} cannot be read ({exc}).") from exc
        if not isinstance(head, dict) or not isinstance(head.get("stages"), dict) \
                or not isinstance(head.get("partitions"), dict):
            raise StoreError(f"The pointer file {self.head_path} is not a pointer file (expected stages and partitions).")
        return head

    def _legacy_head(self) -> dict[str, Any]:
        """Pointers of a store written before ``_current.json``: one ``current`` file per stage."""
        stages, partitions = {}, {}
        if not self.remote and self.root.is_dir():
            for pointer in self.root.glob(f"*/{LEGACY_CURRENT}"):
                if pointer.is_file():
                    stages[pointer.parent.name] = pointer.read_text().strip()
            for folder in self.root.glob(f"*/{LEGACY_PARTITIONS}"):
                partitions[folder.parent.name] = {p.name: p.read_text().strip() for p in sorted(folder.iterdir())
                                                  if p.is_file() and not p.name.startswith(TMP_PREFIX)}
        return {"stages": stages, "partitions": partitions, "run_id": None}

    def write_head(self, head: dict[str, Any]) -> None:
        """Replace the pointer file in one rename (hold ``lock()`` while reading and writing it)."""
        write_json(self.head_path, head)

    def current(self, stage: str, partition: str | None = None) -> str | None:
        """The key last published for ``stage`` (or one of its partitions), None if it never ran."""
        head = self.head()
        if partition is None:
            return head["stages"].get(stage) or None
        return head["partitions"].get(stage, {}).get(partition) or None

    def set_current(self, stage: str, key: str, partition: str | None = None) -> None:
        """Point one stage (or partition) at ``key`` (runs publish all their keys at once instead)."""
        with self.lock():
            head = self.head()
            if partition is None:
                head["stages"][stage] = key
            else:
                head["partitions"].setdefault(stage, {})[partition] = key
            self.write_head(head)

    def current_partitions(self, stage: str) -> dict[str, str]:
        """Partition key -> current key of every published partition of ``stage``, sorted."""
        return dict(sorted(self.head()["partitions"].get(stage, {}).items()))

    def current_dir(self, stage: str, partition: str | None = None) -> Path:
        """Folder of the current output of ``stage`` (or a partition); a clear error if there is none."""
        key = self.current(stage, partition)
        if key is None or not self.has(stage, key):
            where = f" partition {partition}" if partition else ""
            raise StoreError(
                f"Stage '{stage}'{where} has no stored output under {self.location}; materialize it first "
                f"(topic-pipeline run --select {stage})."
            )
        return self.output_dir(stage, key)

    def stages(self) -> list[str]:
        """Stages that have a published output (or published partitions)."""
        head = self.head()
        return sorted(set(head["stages"]) | {s for s, parts in head["partitions"].items() if parts})

    # --- the store lock --------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
        """Hold the store's lock: one ``O_EXCL`` lock file (shared file systems included).

        The holder touches the file every few seconds while it holds it, so a
        lock file untouched for ``LOCK_STALE_SECONDS`` belongs to a process
        that died holding it and is broken. On object storage the lock is an
        object taken with a conditional write (``object_lock``).
        """
        if self.remote:
            from topic_pipeline.pipeline.object_lock import object_lock

            with object_lock(self.shared / "_locks" / "store.lock", stale_seconds=LOCK_STALE_SECONDS,
                             timeout=timeout):
                yield
            return
        path = self.root / "_locks" / "store.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        token = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._break_stale_lock(path)
                if time.monotonic() > deadline:
                    raise StoreError(f"The store {self.root} stayed locked for {timeout:.0f} s ({path}); "
                                     "another run or gc holds it.") from None
                time.sleep(0.02)
                continue
            with os.fdopen(descriptor, "w") as handle:
                handle.write(token)
            break
        try:
            with renewing(lambda: os.utime(path), LOCK_STALE_SECONDS / 12, "store-lock"):
                yield
        finally:
            with contextlib.suppress(OSError):
                if path.read_text() == token:
                    path.unlink()

    @staticmethod
    def _break_stale_lock(path: Path) -> None:
        """Remove a lock file nobody has touched for ``LOCK_STALE_SECONDS``.

        Only one breaker wins the rename; one that renamed a lock taken anew
        meanwhile (another inode) puts it back.
        """
        try:
            seen = path.stat()
        except FileNotFoundError:
            return
        if time.time() - seen.st_mtime <= LOCK_STALE_SECONDS:
            return
        stale = path.with_name(f"{path.name}.stale-{uuid.uuid4().hex}")
        try:
            os.rename(path, stale)
        except OSError:
            return
        with contextlib.suppress(OSError):
            if stale.stat().st_ino != seen.st_ino:
                os.link(stale, path)  # a fresh lock, not the stale one: give it back (fails if retaken)
            stale.unlink()

    # --- run log ---------------------------------------------------------------------
    @property
    def runs_dir(self) -> StorePath:
        return self.shared / "_stage_runs"

    def record_run(self, record: dict[str, Any]) -> None:
        """Append one stage execution to the run log (one small JSON file per record)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        write_json(self.runs_dir / f"{stamp}-{record['stage']}-{uuid.uuid4().hex[:8]}.json", record)

    # --- per-document embedding cache -------------------------------------------------
    def embedding_cache_dir(self, model_key: str) -> Path:
        """This machine's folder of the cache parts of one model (the mirror's, on object storage)."""
        return self.root / "embedding_cache" / model_key

    def cached_embeddings(self, model_key: str) -> tuple[list[str], np.ndarray | None]:
        """All cached (doc_hash, vector) pairs of one model, as a list and a float32 matrix."""
        if self.remote:  # parts are immutable: mirror the ones this machine has not seen yet
            local = self.embedding_cache_dir(model_key)
            for part in (self.shared / "embedding_cache" / model_key).glob("*.parquet"):
                if not (local / part.name).exists():
                    shared_storage.download_file(part, local / part.name)
        parts = sorted(self.embedding_cache_dir(model_key).glob("*.parquet"))
        if not parts:
            return [], None
        table = pa.concat_tables(pq.read_table(part) for part in parts)
        return table.column("doc_hash").to_pylist(), vectors_from_column(table.column("embedding"))

    def add_embeddings(self, model_key: str, doc_hashes: list[str], vectors: np.ndarray) -> None:
        """Store newly computed vectors as one more part file (atomic)."""
        table = pa.table({"doc_hash": doc_hashes, "embedding": vectors_to_column(vectors)})
        name = f"{uuid.uuid4().hex}.parquet"
        write_parquet_atomic(table, self.embedding_cache_dir(model_key) / name)
        if self.remote:
            shared_storage.upload_file(self.embedding_cache_dir(model_key) / name,
                                       self.shared / "embedding_cache" / model_key / name)


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
