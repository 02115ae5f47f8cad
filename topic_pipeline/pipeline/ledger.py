"""What one run produced and read, its lease on the store, and the publication at its end.

Runs share one store. Reading inputs through the published pointers would let
a concurrent run swap an input under a running one (its bags from one run, its
c-TF-IDF from another), so each run keeps a ledger in ``_runs/<run>/``:

- ``keys/``: the key each of its steps produced or reused, per stage and partition;
- ``bases/`` and ``refs/``: outputs an update builds on (the previous fit), kept by gc;
- ``pins/``: the key of an input outside the run, read from the pointers once
  and then fixed for the whole run (or taken from the parent run on a
  re-execution);
- ``lease.json``: renewed while a step runs; ``gc`` keeps everything a run
  with a live lease references, on any host sharing the store;
- ``done/``: the steps that succeeded. The step that completes the run moves
  every pointer at once (one rename of ``_current.json``) and installs the
  DuckDB file for the published warehouse, both under the store lock, so
  readers always see one whole run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from topic_pipeline.errors import StoreError
from topic_pipeline.pipeline.shared_storage import renewing
from topic_pipeline.pipeline.store import StageStore, write_json

RUNS_DIR = "_runs"
# prepares what moves with the pointers; returns what installs it once they moved (or None)
PublishHook = Callable[[StageStore, dict[str, Any], dict[str, Any]], Callable[[], None] | None]
ALL_PARTITIONS = "*"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def run_token(run_id: str) -> str:
    """A file-name-safe form of a run id (Dagster's are UUIDs; ours are ``model-<uuid>``)."""
    return _SAFE.sub("_", run_id)[:80] or "run"


def _entry(stage: str, partition: str | None) -> str:
    return stage if partition is None else f"{stage}@{partition}"


def _parse_entry(name: str) -> tuple[str, str | None]:
    stage, _, partition = name.partition("@")
    return stage, partition or None


class RunLedger:
    """One run's record in the store.

    ``stages`` are the stages this run executes (None: unknown, e.g. a single
    stage called from a test, in which case any stage it has produced counts).
    An input stage of the run must have been produced by the run; any other
    input is pinned on first use.
    """

    def __init__(self, store: StageStore, run_id: str, *, stages: Iterable[str] | None = None,
                 parent_run_id: str | None = None, lease_seconds: float = 600.0) -> None:
        self.store = store
        self.run_id = run_id
        self.token = run_token(run_id)
        self.stages = frozenset(stages) if stages is not None else None
        self.parent = RunLedger(store, parent_run_id) if parent_run_id and parent_run_id != run_id else None
        self.lease_seconds = lease_seconds
        self.folder = store.shared / RUNS_DIR / self.token

    # --- the record --------------------------------------------------------------------
    def start(self) -> None:
        """Write ``run.json`` once (every step process of a run calls this) and take the lease."""
        self.renew_lease()  # first: a run folder gc sees already holds a live lease
        (self.folder / "keys").mkdir(parents=True, exist_ok=True)
        record = self.folder / "run.json"
        if not record.exists():
            write_json(record, {
                "run_id": self.run_id,
                "started_at": datetime.now(UTC).isoformat(),
                "stages": sorted(self.stages) if self.stages is not None else None,
                "parent_run_id": self.parent.run_id if self.parent else None,
            })

    def _read(self, kind: str, stage: str, partition: str | None) -> Any:
        path = self.folder / kind / _entry(stage, partition)
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return None

    def _write(self, kind: str, stage: str, partition: str | None, value: Any) -> None:
        write_json(self.folder / kind / _entry(stage, partition), value)

    def produced(self, stage: str, partition: str | None = None) -> str | None:
        """The key this run's step produced (or reused) for ``stage`` / ``partition``."""
        return self._read("keys", stage, partition)

    def produced_partitions(self, stage: str) -> dict[str, str]:
        folder = self.folder / "keys"
        found = {}
        if folder.is_dir():
            for path in folder.glob(f"{stage}@*"):
                found[_parse_entry(path.name)[1]] = json.loads(path.read_text())
        return found

    def claim(self, stage: str, key: str, partition: str | None = None) -> bool:
        """Record that this run uses ``key`` for ``stage``; return whether it is already stored.

        Recording and looking happen under the store lock, so a concurrent gc
        either sees the claim and keeps the output, or deleted it before the
        look (and the step computes it again).
        """
        with self.store.lock():
            self._write("keys", stage, partition, key)
            return self.store.has(stage, key)

    def protect(self, stage: str, key: str) -> None:
        """Keep another output (e.g. the fitted model an update builds on) for as long as this run is kept."""
        with self.store.lock():
            write_json(self.folder / "refs" / f"{stage}@{key}", key)

    # --- inputs --------------------------------------------------------------------------
    def input_key(self, stage: str, partition: str | None = None) -> str:
        """The key of input ``stage`` for this run: its own output, else a pin.

        Raises
        ------
        StoreError
            The stage belongs to this run but produced nothing (it failed), or
            it never ran anywhere.
        """
        key = self.produced(stage, partition)
        if key is not None:
            return key
        where = f" partition {partition}" if partition else ""
        if self.stages is not None and stage in self.stages:
            raise StoreError(f"Stage '{stage}'{where} is part of run {self.run_id} but stored no output in it.")
        pinned = self._read("pins", stage, partition)
        if pinned is not None:
            return pinned
        with self.store.lock():
            pinned = self._read("pins", stage, partition)
            if pinned is None:
                pinned = (self.parent.produced(stage, partition) or self.parent._read("pins", stage, partition)
                          if self.parent else None) or self.store.current(stage, partition)
                if pinned is None or not self.store.has(stage, pinned):
                    raise StoreError(
                        f"Stage '{stage}'{where} has no stored output under {self.store.location}; materialize it first "
                        f"(topic-pipeline run --select {stage}).")
                self._write("pins", stage, partition, pinned)
        return pinned

    def input_partitions(self, stage: str, together: Iterable[str] = ()) -> dict[str, str]:
        """Every partition of a partitioned input, as this run sees it (pinned on first use).

        The published partitions, with the ones this run (or its parent) produced laid over them.
        ``together`` are other partitioned inputs of the same step: they are pinned in the same
        moment, so a run never pairs one window's documents with another run's embeddings of it.
        """
        pinned = self._read("pins", stage, ALL_PARTITIONS)
        if pinned is not None:
            return pinned
        with self.store.lock():
            for name in dict.fromkeys([stage, *together]):
                if self._read("pins", name, ALL_PARTITIONS) is None:
                    self._write("pins", name, ALL_PARTITIONS, self._partitions_now(name))
        pinned = self._read("pins", stage, ALL_PARTITIONS)
        if not pinned:
            raise StoreError(f"Stage '{stage}' has no materialized partitions under {self.store.location}; "
                             "run a partition or a backfill first.")
        return pinned

    def _partitions_now(self, stage: str) -> dict[str, str]:
        partitions = self.store.current_partitions(stage)
        if self.parent:
            partitions |= self.parent.produced_partitions(stage)
        return dict(sorted((partitions | self.produced_partitions(stage)).items()))

    def visible_partitions(self, stage: str) -> dict[str, str]:
        """Published partitions of ``stage`` overlaid with the parent run's and this run's (a stage reading its own past)."""
        return self._partitions_now(stage)

    def base_key(self, stage: str) -> str | None:
        """The published output of ``stage`` an update builds on, fixed for this run and kept by gc while it is.

        Read, checked and recorded in one locked moment (the parent run's
        choice first, on a re-execution), so gc cannot delete it in between.
        """
        with self.store.lock():
            recorded = self._read("bases", stage, None)
            if recorded is None and self.parent:
                recorded = self.parent._read("bases", stage, None)
            key = recorded or self.store.current(stage)
            if key is None or not self.store.has(stage, key):
                return None
            self._write("bases", stage, None, key)
        return key

    # --- lease -----------------------------------------------------------------------------
    @property
    def lease_path(self) -> Path:
        return self.folder / "lease.json"

    def renew_lease(self) -> None:
        write_json(self.lease_path, {"run_id": self.run_id, "host": os.uname().nodename, "pid": os.getpid(),
                                     "expires_at": time.time() + self.lease_seconds})

    @contextlib.contextmanager
    def holding_lease(self) -> Iterator[None]:
        """Renew the lease now and every tenth of its length until the block ends (a step's whole run)."""
        self.renew_lease()
        with renewing(self.renew_lease, max(1.0, self.lease_seconds / 10), f"lease-{self.token}"):
            yield

    # --- the end of the run ----------------------------------------------------------------
    def finish_step(self, stage: str, on_publish: PublishHook) -> bool:
        """Mark ``stage`` done; the step that completes the run publishes it. Returns whether it did."""
        with self.store.lock():
            write_json(self.folder / "done" / stage, True)
            done = {path.name for path in (self.folder / "done").iterdir()}
            if self.stages is not None and not self.stages <= done:
                return False
            self._publish(on_publish)
            return True

    def _publish(self, on_publish: PublishHook) -> None:
        """Move every pointer this run (and the run it re-executes) produced or pinned (caller holds the lock).

        ``on_publish`` prepares what must change with the pointers (the DuckDB
        file) before they move, and returns the step that installs it after, so
        a failure to prepare leaves the old pointers and the old file together.
        """
        previous = self.store.head()
        head = {"stages": dict(previous["stages"]),
                "partitions": {stage: dict(parts) for stage, parts in previous["partitions"].items()}}
        for folder in ([self.parent.folder] if self.parent else []) + [self.folder]:
            for kind in ("pins", "keys"):  # own outputs last: they win over pins of the same stage
                _apply_entries(head, folder / kind)
        head |= {"run_id": self.run_id, "published_at": datetime.now(UTC).isoformat()}
        commit = on_publish(self.store, previous, head)
        self.store.write_head(head)
        if commit is not None:
            commit()
        write_json(self.folder / "published", head["published_at"])
        self.lease_path.unlink(missing_ok=True)

    def references(self) -> set[tuple[str, str]]:
        """Every (stage, key) this run produced, pinned or protected."""
        return run_references(self.folder)


def _apply_entries(head: dict[str, Any], folder: Path) -> None:
    """Lay the ledger entries of one folder (``keys/`` or ``pins/``) over the pointers in ``head``."""
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        stage, partition = _parse_entry(path.name)
        value = json.loads(path.read_text())
        if partition == ALL_PARTITIONS:
            head["partitions"].setdefault(stage, {}).update(value)
        elif partition is None:
            head["stages"][stage] = value
        else:
            head["partitions"].setdefault(stage, {})[partition] = value


def run_references(folder: Path) -> set[tuple[str, str]]:
    """(stage, key) pairs a run folder's keys, pins and refs name."""
    found: set[tuple[str, str]] = set()
    for kind in ("keys", "pins", "refs", "bases"):
        sub = folder / kind
        if not sub.is_dir():
            continue
        for path in sub.iterdir():
            if path.name.startswith("."):
                continue
            stage = _parse_entry(path.name)[0]
            try:
                value = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            values = value.values() if isinstance(value, dict) else [value]
            found |= {(stage, str(v)) for v in values}
    return found


def lease_alive(folder: Path, now: float | None = None) -> bool:
    """Whether the run in ``folder`` holds an unexpired lease (any host: the expiry is in the file)."""
    try:
        lease = json.loads((folder / "lease.json").read_text())
        return float(lease["expires_at"]) > (now if now is not None else time.time())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def run_started_at(folder: Path) -> str:
    try:
        return str(json.loads((folder / "run.json").read_text()).get("started_at", ""))
    except (OSError, ValueError):
        return ""
