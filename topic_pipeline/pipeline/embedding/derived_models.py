"""The on-disk cache of models derived from a source model (ONNX exports, int8 copies, static distillations).

A derivation costs seconds to a minute and its result depends only on the
source folder's files and the derivation's settings, so it is done once per
(backend, source fingerprint, settings) and kept in its own folder under
``$TOPIC_PIPELINE_MODEL_CACHE`` (default ``~/.cache/topic_pipeline/models``).

A folder is built under a temporary name beside its final one and published
with one ``os.rename``: a killed derivation leaves a temporary folder, never a
half model under the final name, and only final names are ever loaded. Two
processes deriving the same model take a lock file in turn (the second finds
the first's result); where locks do not work (some network file systems) both
build and the first rename wins, which is still safe. The holder of the lock
removes temporary folders of that model left by killed processes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from topic_pipeline.errors import EmbeddingError
from topic_pipeline.params import fingerprint

MODEL_CACHE_ENV = "TOPIC_PIPELINE_MODEL_CACHE"
MANIFEST_NAME = "derived.json"  # written last: a folder without it is not a derived model
_TEMP_PREFIX = ".tmp-"
progress = logging.getLogger("topic_pipeline.progress")  # shown on the terminal by `topic-pipeline run`


def derived_models_root() -> Path:
    """``$TOPIC_PIPELINE_MODEL_CACHE``, else ``~/.cache/topic_pipeline/models`` (read on each call)."""
    configured = os.environ.get(MODEL_CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "topic_pipeline" / "models"


def derived_model_folder(backend: str, model_name: str, source_fingerprint: str, settings: dict[str, Any]) -> Path:
    """Where the model derived from one source folder with one backend and its settings lives.

    The name starts with the backend and the model's name for a reader of the
    folder; the fingerprint of the source's files and the settings is what makes it unique.
    """
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_name.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1])[:60]
    digest = fingerprint({"backend": backend, "source": source_fingerprint, "settings": settings})
    return derived_models_root() / f"{backend}-{label or 'model'}-{digest}"


def is_published(folder: Path) -> bool:
    return (folder / MANIFEST_NAME).is_file()


def derive_once(folder: Path, build: Callable[[Path], None], *, announce: str, record: dict[str, Any]) -> Path:
    """``folder``, built by ``build(temp_folder)`` first if it is not published yet.

    ``announce`` is logged when a build starts (it may take a while);
    ``record`` goes into the folder's manifest (source, settings), for a reader.

    Raises
    ------
    EmbeddingError
        The cache folder cannot be created or written (the path is named).
    """
    if is_published(folder):
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(folder.parent / f".{folder.name}.lock") as locked:
            if is_published(folder):  # another process built it while this one waited
                return folder
            if locked:
                _remove_leftovers(folder)
            _build_and_publish(folder, build, announce, record)
    except OSError as exc:
        raise EmbeddingError(f"The derived model {folder} cannot be written ({type(exc).__name__}: "
                             f"{exc.strerror or exc}); set ${MODEL_CACHE_ENV} to a writable folder.") from exc
    return folder


def _build_and_publish(folder: Path, build: Callable[[Path], None], announce: str, record: dict[str, Any]) -> None:
    temp = folder.parent / f"{_TEMP_PREFIX}{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        progress.info("%s", announce)
        started = time.monotonic()
        build(temp)
        seconds = time.monotonic() - started
        manifest = record | {"seconds": round(seconds, 1), "files": sorted(p.name for p in temp.iterdir())}
        (temp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        try:
            os.rename(temp, folder)
        except OSError:
            if not is_published(folder):
                raise
            # another process published the same model first: keep its folder, drop ours
        progress.info("%s: done in %.0f s, kept in %s", folder.name, seconds, folder)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _remove_leftovers(folder: Path) -> None:
    """Temporary folders of ``folder`` from builds that were killed (a live build would hold the lock)."""
    for leftover in folder.parent.glob(f"{_TEMP_PREFIX}{folder.name}-*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on ``lock_path`` (yields False where file locks are not available)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the atomic rename alone keeps the cache consistent
        yield False
        return
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:  # e.g. a file system without locks
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
