"""``gc``: delete stored outputs nothing uses any more, and orphaned temporary files.

An output stays when anything may still read it:
- the published pointers (``_current.json``), every stage and partition;
- the published warehouse's inputs, which the DuckDB views read;
- a run holding a live lease (any host: the expiry is written in the lease),
  together with its temporary folders;
- the last ``keep_runs`` runs, whatever their outcome;
- and, for each of those, everything it was computed from (manifest inputs),
  so a kept result can be traced and recomputed cheaply.

Planning reads the store without the lock (it may take a while on a big
store); deleting takes the lock, plans again and renames only what both plans
agree on out of the way, then removes it after releasing the lock. A run that
claims an output (``RunLedger.claim``) does so under the same lock, so no
output a run has started to use is ever deleted under it.

On object storage (``StageStore.remote``) the plan is made over the shared
prefix, and an object cannot be renamed cheaply: what goes is deleted while
the lock is held, which is as safe (claims wait for the lock) and costs one
batch request per thousand objects. The machine's mirror is then pruned of
every output the store no longer keeps. Outputs whose upload was cut short
(files, no manifest) go once they are ``temporary_age`` old and no run claims
them.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from topic_pipeline.errors import StoreError
from topic_pipeline.pipeline import shared_storage
from topic_pipeline.pipeline.ledger import RUNS_DIR, lease_alive, run_references, run_started_at
from topic_pipeline.pipeline.shared_storage import StorePath
from topic_pipeline.pipeline.store import MANIFEST, TMP_PREFIX, TMP_RUN_SEPARATOR, StageStore

TRASH_PREFIX = ".trash-"
# the one folder of the store root that holds no stage outputs and has no leading "_"
_NOT_STAGES = {"embedding_cache"}


@dataclass(frozen=True)
class GcPlan:
    """What gc would delete, and how many outputs stay."""

    outputs: list[StorePath] = field(default_factory=list)
    temporaries: list[StorePath] = field(default_factory=list)
    runs: list[StorePath] = field(default_factory=list)
    kept: int = 0
    bytes: int = 0

    @property
    def paths(self) -> list[StorePath]:
        return [*self.outputs, *self.temporaries, *self.runs]

    @property
    def empty(self) -> bool:
        return not self.paths


def _stage_dirs(root: StorePath) -> list[StorePath]:
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir()
                   if p.is_dir() and not p.name.startswith((".", "_")) and p.name not in _NOT_STAGES), key=str)


def _run_folders(store: StageStore) -> list[StorePath]:
    folder = store.shared / RUNS_DIR
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=run_started_at, reverse=True) \
        if folder.is_dir() else []


def _manifest_inputs(store: StageStore, stage: str, key: str) -> set[tuple[str, str]]:
    try:
        manifest = store.manifest(stage, key)
    except (OSError, ValueError):
        return set()
    found = set()
    for upstream, value in (manifest.get("inputs") or {}).items():
        values = value.values() if isinstance(value, dict) else [value]
        found |= {(upstream, str(v)) for v in values if v}
    return found


def referenced_outputs(store: StageStore, *, keep_runs: int, now: float | None = None
                       ) -> tuple[set[tuple[str, str]], set[str], list[Path]]:
    """(stage, key) pairs to keep, the tokens of live runs, and the run folders that may go."""
    head = store.head()
    roots = {(stage, key) for stage, key in head["stages"].items()}
    roots |= {(stage, key) for stage, parts in head["partitions"].items() for key in parts.values()}
    live, stale = set(), []
    now = time.time() if now is None else now
    for position, folder in enumerate(_run_folders(store)):
        # a run folder still being created (no run.json yet) counts as live for a while
        starting = not (folder / "run.json").exists() and now - folder.stat().st_mtime < 3600
        alive = lease_alive(folder, now) or starting
        if alive:
            live.add(folder.name)
        if alive or position < keep_runs:
            roots |= run_references(folder)
        else:
            stale.append(folder)
    keep, todo = set(), list(roots)
    while todo:  # everything a kept output was computed from (the warehouse's inputs among them)
        item = todo.pop()
        if item in keep:
            continue
        keep.add(item)
        todo.extend(_manifest_inputs(store, *item) - keep)
    return keep, live, stale


def _tmp_run(name: str) -> str | None:
    """The run token in a stage's temporary folder name (``.tmp-<key>~<run>~<random>``), if any."""
    parts = name.split(TMP_RUN_SEPARATOR)
    return parts[1] if len(parts) == 3 else None


def _newest_change(folder: StorePath) -> float:
    """When anything in an object storage folder last changed (0 for an empty one)."""
    found = folder.fs.find(folder.path, detail=True).values()
    return max((info["LastModified"].timestamp() for info in found if info.get("LastModified")), default=0.0)


def plan_gc(store: StageStore, *, keep_runs: int = 5, now: float | None = None,
            temporary_age: float = 3600.0) -> GcPlan:
    """What gc would delete now (nothing is touched).

    Temporary files of atomic writes (``.tmp-*`` files anywhere in the store,
    the warehouse's included) count as orphaned once ``temporary_age`` seconds
    old; a stage's temporary folder as soon as its run holds no live lease.
    """
    now = time.time() if now is None else now
    keep, live, stale_runs = referenced_outputs(store, keep_runs=keep_runs, now=now)
    outputs, temporaries, kept = [], [], 0
    for stage_dir in _stage_dirs(store.shared):
        for child in sorted(stage_dir.iterdir(), key=str):
            if child.name.startswith(TRASH_PREFIX):
                temporaries.append(child)
            elif child.name.startswith(TMP_PREFIX) and child.is_dir():
                if _tmp_run(child.name) not in live:
                    temporaries.append(child)
            elif child.is_dir() and (child / MANIFEST).exists():
                if (stage_dir.name, child.name) in keep:
                    kept += 1
                else:
                    outputs.append(child)
            elif store.remote and child.is_dir() and (stage_dir.name, child.name) not in keep \
                    and now - _newest_change(child) > temporary_age:
                temporaries.append(child)  # an upload cut short
    temporaries += _orphaned_temporaries(store.root, set(temporaries), now, temporary_age)
    if store.remote:
        temporaries += _unkept_mirror_copies(store.root, keep, now, temporary_age)
    runs = [folder for folder in stale_runs if folder.name not in live]
    total = sum(shared_storage.tree_size(path) for path in outputs)
    return GcPlan(outputs, sorted(temporaries, key=str), runs, kept, total)


def _orphaned_temporaries(root: Path, planned: set[StorePath], now: float, temporary_age: float) -> list[Path]:
    """Temporary files of atomic writes on this machine's disk older than ``temporary_age``."""
    found = []
    for path in root.rglob(f"{TMP_PREFIX}*") if root.is_dir() else []:
        if path.is_file() and path not in planned and not any(parent in planned for parent in path.parents):
            with contextlib.suppress(FileNotFoundError):
                if now - path.stat().st_mtime > temporary_age:
                    found.append(path)
    return found


def _unkept_mirror_copies(mirror: Path, keep: set[tuple[str, str]], now: float, temporary_age: float
                          ) -> list[Path]:
    """Mirrored outputs of a remote store that it no longer keeps, and copies cut short (local files only)."""
    found = []
    for stage_dir in _stage_dirs(mirror):
        for child in stage_dir.iterdir():
            if not child.is_dir():
                continue
            if child.name.startswith(TMP_PREFIX):
                with contextlib.suppress(FileNotFoundError):
                    if now - child.stat().st_mtime > temporary_age:
                        found.append(child)
            elif not child.name.startswith(".") and (stage_dir.name, child.name) not in keep:
                found.append(child)
    return found


def apply_gc(store: StageStore, plan: GcPlan, *, keep_runs: int = 5) -> list[StorePath]:
    """Delete what ``plan`` lists and is still unused now; return what was deleted.

    Under the store lock the plan is made again and only paths in both are
    renamed to ``.trash-`` names (fast, atomic); the trash is removed after the
    lock is released.
    """
    trash: list[tuple[StorePath, Path]] = []
    deleted: list[StorePath] = []
    with store.lock():
        again = {str(path) for path in plan_gc(store, keep_runs=keep_runs).paths}
        for path in plan.paths:
            if str(path) not in again or not path.exists():
                continue
            if not shared_storage.is_local(path):
                try:
                    shared_storage.remove_tree(path)
                except OSError as exc:
                    raise StoreError(f"gc could not delete {path}: {exc}") from exc
                deleted.append(path)
                continue
            moved = path.with_name(f"{TRASH_PREFIX}{uuid.uuid4().hex[:8]}-{path.name}")
            try:
                path.rename(moved)
            except OSError:
                continue
            trash.append((path, moved))
    for _, moved in trash:
        if moved.is_dir():
            shutil.rmtree(moved, ignore_errors=True)
        else:
            moved.unlink(missing_ok=True)
    return deleted + [original for original, _ in trash]
