"""Run one stage through the store: compute it only when its key is new.

key = hash(stage name, its params section as used, its inputs' keys, any
extra content digest, the stage's code revision). Both Dagster assets and the
in-process ``TopicModel`` go through ``materialize_stage``. Inputs come from
the run's own ledger (``run_ledger``), never from pointers another run may
move; ``finish_step`` publishes the whole run when its last step is done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from topic_pipeline.core.estimators import estimator_fingerprint
from topic_pipeline.errors import StageInputError, StoreError, TopicPipelineError
from topic_pipeline.params import PipelineParams, fingerprint
from topic_pipeline.pipeline import warehouse
from topic_pipeline.pipeline.ledger import PublishHook, RunLedger
from topic_pipeline.pipeline.stages import STAGES, PrepareContext, Stage, StepContext, TimeWindow
from topic_pipeline.pipeline.store import MANIFEST, StageStore, write_json

CODE_REVISION = 1
logger = logging.getLogger("topic_pipeline")


@dataclass(frozen=True)
class StageOutcome:
    """What happened to one stage: its key, whether it ran, and its metadata."""

    stage: str
    key: str
    computed: bool
    seconds: float
    metadata: dict[str, Any]
    params: dict[str, Any]
    output_dir: Path


def section_params(stage: Stage, params: PipelineParams) -> dict[str, Any]:
    """The params a stage's output depends on: its own section (resolved) plus any extra sections by name."""
    used = params.section(stage.section).model_dump(mode="json") if stage.section else {}
    if stage.section_fields is not None:
        used = {name: used[name] for name in stage.section_fields}
    for extra in stage.extra_sections:
        used[extra] = params.section(extra).model_dump(mode="json")
    return used


def stage_code_version(stage: Stage, params: PipelineParams) -> str:
    """What Dagster shows as the asset's code version: params section + code revision."""
    return fingerprint({"params": section_params(stage, params), "revision": (CODE_REVISION, stage.revision)})


def stage_key(stage: Stage, params: dict[str, Any], input_keys: dict[str, Any], extra: str | None,
              partition: str | None = None) -> str:
    material = {"stage": stage.name, "params": params, "inputs": input_keys, "extra": extra,
                "revision": (CODE_REVISION, stage.revision)}
    if partition is not None:  # unpartitioned keys stay as they were
        material["partition"] = partition
    return fingerprint(material)


def is_partitioned(stage: Stage, params: PipelineParams) -> bool:
    """Whether ``stage`` is split by time window under these params."""
    return stage.partitioned and params.partitions.granularity is not None


def resolve_inputs(stage: Stage, params: PipelineParams, ledger: RunLedger, window: TimeWindow | None
                   ) -> tuple[dict[str, list[Path]], dict[str, Any]]:
    """Input folders and input keys as this run sees them: the same partition, all partitions, or the one output."""
    store = ledger.store
    folders: dict[str, list[Path]] = {}
    keys: dict[str, Any] = {}
    partitioned = [name for name in stage.inputs if is_partitioned(STAGES[name], params)]
    for upstream in stage.inputs:
        if upstream in partitioned and window is None:
            partitions = ledger.input_partitions(upstream, together=partitioned)
            folders[upstream] = [store.output_dir(upstream, key) for key in partitions.values()]
            keys[upstream] = partitions
        else:
            partition = window.key if window is not None and is_partitioned(STAGES[upstream], params) else None
            key = ledger.input_key(upstream, partition)
            folders[upstream], keys[upstream] = [store.output_dir(upstream, key)], key
        missing = [folder for folder in folders[upstream] if not (folder / MANIFEST).exists()]
        if missing:
            raise StoreError(f"Input '{upstream}' of stage '{stage.name}' is missing from the store ({missing[0]}); "
                             "it was deleted while this run used it.")
    return folders, keys


def new_ledger(store: StageStore, params: PipelineParams, run_id: str, *, stages: list[str] | None = None,
               parent_run_id: str | None = None) -> RunLedger:
    """The ledger of a run over ``stages`` (None: each stage call publishes itself)."""
    return RunLedger(store, run_id, stages=stages, parent_run_id=parent_run_id,
                     lease_seconds=params.store.lease_seconds)


def publish_hook(ledger: RunLedger) -> PublishHook:
    """What publishing does besides moving the pointers: the DuckDB file for the published warehouse.

    The file is built before the pointers move and renamed into place after,
    so a failed build leaves the old pointers with the old file.
    """
    def prepare(store: StageStore, previous: dict[str, Any], head: dict[str, Any]) -> Callable[[], None] | None:
        key = head["stages"].get("warehouse")
        if key is None:
            return None
        changed = previous["stages"].get("warehouse") != key
        if not (changed or ledger.produced("warehouse") or not warehouse.database_path(store).exists()):
            return None
        tmp = warehouse.prepare_database(store, store.output_dir("warehouse", key))
        return lambda: warehouse.commit_database(store, tmp)

    return prepare


def finish_step(ledger: RunLedger, stage: str) -> bool:
    """Mark a step of the run done; publish the run if it was the last one. Returns whether it published."""
    try:
        return ledger.finish_step(stage, publish_hook(ledger))
    except OSError as exc:
        if isinstance(exc, TopicPipelineError):
            raise
        raise StoreError(f"Publishing run {ledger.run_id} failed: {os_error_text(exc)}") from exc


def os_error_text(exc: OSError) -> str:
    """``<cause> (<file>)`` of an OSError, e.g. ``No space left on device (/data/x/embeddings.parquet)``."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    files = [str(f) for f in (exc.filename, exc.filename2) if f]
    return f"{cause} ({', '.join(files)})" if files else cause


def materialize_stage(
    name: str,
    params: PipelineParams,
    store: StageStore,
    *,
    run_id: str,
    log: logging.Logger | None = None,
    window: TimeWindow | None = None,
    inbox_file: str | None = None,
    estimator: Any | None = None,
    ledger: RunLedger | None = None,
) -> StageOutcome:
    """Reuse or compute stage ``name`` (one partition of it, for a partitioned stage).

    ``estimator`` is an object the stage fits instead of the one its params
    describe (``TopicModel(umap_model=...)``); its content hash joins the key.
    ``ledger`` is the run's ledger; without one the stage is a run of its own
    and is published at once.

    Raises
    ------
    StoreError
        An input stage has no stored output yet, or the store cannot be
        written (the message names the file and the cause, e.g. a full disk).
    StageInputError
        A partitioned stage without a window, or the stage's own complaint.
    TopicPipelineError
        Whatever the stage itself reports (bad corpus, too few documents, ...);
        nothing is stored for the failed stage.
    """
    own_run = ledger is None
    ledger = ledger or new_ledger(store, params, run_id)
    ledger.start()
    with ledger.holding_lease():
        try:
            outcome = _materialize(name, params, ledger, log or logger, window, inbox_file, estimator)
        except TopicPipelineError:
            raise
        except OSError as exc:
            raise StoreError(f"Stage '{name}' failed: {os_error_text(exc)}") from exc
    if own_run:
        finish_step(ledger, name)
    return outcome


def _materialize(name: str, params: PipelineParams, ledger: RunLedger, log: logging.Logger,
                 window: TimeWindow | None, inbox_file: str | None, estimator: Any | None) -> StageOutcome:
    stage = STAGES[name]
    store = ledger.store
    partitioned = is_partitioned(stage, params)
    if partitioned and window is None:
        raise StageInputError(
            f"Stage '{name}' is partitioned by {params.partitions.granularity}: materialize a partition or a range."
        )
    window = window if partitioned else None
    partition = window.key if window else None
    started_at = datetime.now(UTC)
    started = time.monotonic()
    inputs, input_keys = resolve_inputs(stage, params, ledger, window)
    prepare = PrepareContext(params=params, store=store, window=window, inbox_file=inbox_file, inputs=inputs,
                             ledger=ledger)
    extra, prepared = stage.prepare(prepare) if stage.prepare else (None, None)
    if estimator is not None:
        extra = f"{extra or ''}|estimator:{estimator_fingerprint(estimator)}"
    used = section_params(stage, params)
    key = stage_key(stage, used, input_keys, extra, partition)
    ctx = StepContext(params=params, inputs=inputs, out=store.output_dir(name, key), store=store, log=log,
                      prepared=prepared, window=window, key=key, estimator=estimator, ledger=ledger)

    computed = not ledger.claim(name, key, partition)
    if computed:
        log.info("%s%s: computing %s", name, f"[{partition}]" if window else "", key)
        with store.writing(name, key, ledger.token) as folder:
            ctx.out = folder
            metadata = stage.compute(ctx)
            manifest = {
                "stage": name,
                "key": key,
                "partition": partition,
                "run_id": ledger.run_id,
                "params": used,
                "inputs": input_keys,
                "created_at": datetime.now(UTC).isoformat(),
                "seconds": round(time.monotonic() - started, 3),
                "rows": metadata.get("rows"),
                "metadata": metadata,
            }
            write_json(folder / MANIFEST, manifest)
        ctx.out = store.output_dir(name, key)
    else:
        log.info("%s%s: reusing stored output %s", name, f"[{partition}]" if window else "", key)
        manifest = store.manifest(name, key)
    if not store.has(name, key):
        raise StoreError(f"Stage '{name}' finished but its output {key} is missing from {store.location}.")
    seconds = time.monotonic() - started
    store.record_run(
        {"run_id": ledger.run_id, "stage": name, "partition": partition, "key": key,
         "computed": computed, "seconds": round(seconds, 3), "started_at": started_at.isoformat()}
    )
    return StageOutcome(name, key, computed, seconds, manifest["metadata"], used, ctx.out)
