"""Run one stage through the store: compute it only when its key is new.

key = hash(stage name, its params section as used, its inputs' keys, any
extra content digest, the stage's code revision). Both Dagster assets and the
in-process ``TopicModel`` go through ``materialize_stage``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from topic_pipeline.errors import StageInputError, StoreError
from topic_pipeline.estimators import estimator_fingerprint
from topic_pipeline.params import PipelineParams, fingerprint
from topic_pipeline.stages import STAGES, PrepareContext, Stage, StepContext, TimeWindow
from topic_pipeline.store import MANIFEST, StageStore, write_json

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


def resolve_inputs(stage: Stage, params: PipelineParams, store: StageStore, window: TimeWindow | None
                   ) -> tuple[dict[str, list[Path]], dict[str, Any]]:
    """Input folders and input keys: the same partition, all partitions, or the one output."""
    folders: dict[str, list[Path]] = {}
    keys: dict[str, Any] = {}
    for upstream in stage.inputs:
        if is_partitioned(STAGES[upstream], params) and window is None:
            partitions = store.current_partitions(upstream)
            if not partitions:
                raise StoreError(f"Stage '{upstream}' has no materialized partitions under {store.root}; "
                                 "run a partition or a backfill first.")
            folders[upstream] = [store.output_dir(upstream, key) for key in partitions.values()]
            keys[upstream] = partitions
        else:
            partition = window.key if window is not None and is_partitioned(STAGES[upstream], params) else None
            folder = store.current_dir(upstream, partition)
            folders[upstream], keys[upstream] = [folder], folder.name
    return folders, keys


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
) -> StageOutcome:
    """Reuse or compute stage ``name`` (one partition of it, for a partitioned stage).

    ``estimator`` is an object the stage fits instead of the one its params
    describe (``TopicModel(umap_model=...)``); its content hash joins the key.

    Raises
    ------
    StoreError
        An input stage has no stored output yet.
    StageInputError
        A partitioned stage without a window, or the stage's own complaint.
    TopicPipelineError
        Whatever the stage itself reports (bad corpus, too few documents, ...);
        nothing is stored for the failed stage.
    """
    stage = STAGES[name]
    log = log or logger
    partitioned = is_partitioned(stage, params)
    if partitioned and window is None:
        raise StageInputError(
            f"Stage '{name}' is partitioned by {params.partitions.granularity}: materialize a partition or a range."
        )
    window = window if partitioned else None
    started_at = datetime.now(UTC)
    started = time.monotonic()
    inputs, input_keys = resolve_inputs(stage, params, store, window)
    prepare = PrepareContext(params=params, store=store, window=window, inbox_file=inbox_file, inputs=inputs)
    extra, prepared = stage.prepare(prepare) if stage.prepare else (None, None)
    if estimator is not None:
        extra = f"{extra or ''}|estimator:{estimator_fingerprint(estimator)}"
    used = section_params(stage, params)
    key = stage_key(stage, used, input_keys, extra, window.key if window else None)
    ctx = StepContext(params=params, inputs=inputs, out=store.output_dir(name, key), store=store, log=log,
                      prepared=prepared, window=window, key=key, estimator=estimator)

    computed = not store.has(name, key)
    if computed:
        log.info("%s%s: computing %s", name, f"[{window.key}]" if window else "", key)
        with store.writing(name, key) as folder:
            ctx.out = folder
            metadata = stage.compute(ctx)
            manifest = {
                "stage": name,
                "key": key,
                "partition": window.key if window else None,
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
        log.info("%s%s: reusing stored output %s", name, f"[{window.key}]" if window else "", key)
        manifest = store.manifest(name, key)
        if stage.on_reuse:
            stage.on_reuse(ctx)
    if not store.has(name, key):
        raise StoreError(f"Stage '{name}' finished but its output {key} is missing from {store.root}.")
    store.set_current(name, key, window.key if window else None)
    seconds = time.monotonic() - started
    store.record_run(
        {"run_id": run_id, "stage": name, "partition": window.key if window else None, "key": key,
         "computed": computed, "seconds": round(seconds, 3), "started_at": started_at.isoformat()}
    )
    return StageOutcome(name, key, computed, seconds, manifest["metadata"], used, ctx.out)
