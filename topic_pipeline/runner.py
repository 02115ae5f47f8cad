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

from topic_pipeline.errors import StoreError
from topic_pipeline.params import PipelineParams, fingerprint
from topic_pipeline.stages import STAGES, Stage, StepContext
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
    """The params a stage's output depends on (its own section, resolved)."""
    return params.section(stage.section).model_dump(mode="json") if stage.section else {}


def stage_code_version(stage: Stage, params: PipelineParams) -> str:
    """What Dagster shows as the asset's code version: params section + code revision."""
    return fingerprint({"params": section_params(stage, params), "revision": (CODE_REVISION, stage.revision)})


def stage_key(stage: Stage, params: dict[str, Any], input_keys: dict[str, str], extra: str | None) -> str:
    return fingerprint(
        {"stage": stage.name, "params": params, "inputs": input_keys, "extra": extra, "revision": (CODE_REVISION, stage.revision)}
    )


def materialize_stage(
    name: str,
    params: PipelineParams,
    store: StageStore,
    *,
    run_id: str,
    log: logging.Logger | None = None,
) -> StageOutcome:
    """Reuse or compute stage ``name`` from the current outputs of its inputs.

    Raises
    ------
    StoreError
        An input stage has no stored output yet.
    TopicPipelineError
        Whatever the stage itself reports (bad corpus, too few documents, ...);
        nothing is stored for the failed stage.
    """
    stage = STAGES[name]
    log = log or logger
    started_at = datetime.now(UTC)
    started = time.monotonic()
    inputs = {upstream: store.current_dir(upstream) for upstream in stage.inputs}
    input_keys = {upstream: folder.name for upstream, folder in inputs.items()}
    extra, prepared = stage.prepare(params) if stage.prepare else (None, None)
    used = section_params(stage, params)
    key = stage_key(stage, used, input_keys, extra)
    ctx = StepContext(params=params, inputs=inputs, out=store.output_dir(name, key), store=store, log=log, prepared=prepared)

    computed = not store.has(name, key)
    if computed:
        log.info("%s: computing %s", name, key)
        with store.writing(name, key) as folder:
            ctx.out = folder
            metadata = stage.compute(ctx)
            manifest = {
                "stage": name,
                "key": key,
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
        log.info("%s: reusing stored output %s", name, key)
        manifest = store.manifest(name, key)
        if stage.on_reuse:
            stage.on_reuse(ctx)
    if not store.has(name, key):
        raise StoreError(f"Stage '{name}' finished but its output {key} is missing from {store.root}.")
    store.set_current(name, key)
    seconds = time.monotonic() - started
    store.record_run(
        {"run_id": run_id, "stage": name, "key": key, "computed": computed, "seconds": round(seconds, 3),
         "started_at": started_at.isoformat()}
    )
    return StageOutcome(name, key, computed, seconds, manifest["metadata"], used, ctx.out)
