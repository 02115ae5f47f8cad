"""One Dagster asset per pipeline stage, generated from ``topic_pipeline.pipeline.stages.STAGES``.

Each asset resolves its params (file + run-config overrides), hands the work to
``materialize_stage`` and reports the store key as its ``DataVersion``, so
Dagster's staleness follows exactly what the store would recompute. What the UI shows of
it comes from ``assets.metadata`` (previews, pictures), ``assets.run_config`` (the launchpad's
typed fields) and ``assets.quality_checks`` (the checks on topic_representations).
"""

# No `from __future__ import annotations`: Dagster reads the config and resource annotations at runtime.

import logging
import traceback
from typing import Any

import dagster as dg

from assets.metadata import outcome_metadata, range_metadata, used_params
from assets.partitions import time_partitions, window_for
from assets.quality_checks import quality_check_results, quality_check_specs
from assets.run_config import section_config_schema
from resources import PipelineResource
from topic_pipeline.errors import ParamsError, TopicPipelineError
from topic_pipeline.params import PipelineParams
from topic_pipeline.pipeline.distributed import materialize_windows
from topic_pipeline.pipeline.runner import (
    finish_step,
    new_ledger,
    section_params,
    stage_code_version,
)
from topic_pipeline.pipeline.stages import STAGES, Stage

GROUP = "topic_model"
AUTOMATION = dg.AutomationCondition.eager() | dg.AutomationCondition.code_version_changed()
INBOX_FILE_TAG = "topic_pipeline/inbox_file"  # set by the inbox sensor: the file a run was started for
PROGRESS_LOGGER = "topic_pipeline.progress"  # the CLI shows these lines while Dagster's own log goes to a file


class StepLog:
    """Dagster's step log, with each line also sent to the ``topic_pipeline.progress`` Python logger."""

    def __init__(self, dagster_log: Any) -> None:
        self._dagster_log = dagster_log
        self._progress = logging.getLogger(PROGRESS_LOGGER)

    def _emit(self, level: int, message: str, *args: Any) -> None:
        self._dagster_log.log(level, message, *args)
        self._progress.log(level, message, *args)

    def debug(self, message: str, *args: Any) -> None:
        self._emit(logging.DEBUG, message, *args)

    def info(self, message: str, *args: Any) -> None:
        self._emit(logging.INFO, message, *args)

    def warning(self, message: str, *args: Any) -> None:
        self._emit(logging.WARNING, message, *args)

    def error(self, message: str, *args: Any) -> None:
        self._emit(logging.ERROR, message, *args)


def run_stages(context: dg.AssetExecutionContext) -> list[str]:
    """The stages this run executes: its step keys, else every asset of its job."""
    steps = context.run.step_keys_to_execute
    names = steps if steps is not None else [key.to_user_string() for key in
                                             context.job_def.asset_layer.executable_asset_keys]
    return sorted(name for name in names if name in STAGES)


def stage_failure(stage: str, exc: BaseException) -> dg.Failure:
    """One line naming the stage and the cause; the traceback stays in the log and the event's metadata."""
    if isinstance(exc, TopicPipelineError):
        return dg.Failure(description=str(exc), allow_retries=False)
    detail = str(exc).splitlines()[0] if str(exc) else ""
    return dg.Failure(
        description=f"Stage '{stage}' failed: {type(exc).__name__}{': ' + detail if detail else ''}",
        metadata={"traceback": dg.MetadataValue.text("".join(traceback.format_exception(exc)))},
        allow_retries=False,
    )


def _deps(stage: Stage, partitions: dg.TimeWindowPartitionsDefinition | None) -> list[dg.AssetDep]:
    """Global stages read every partition of a partitioned input; a partitioned stage its own window."""
    deps = []
    for upstream in stage.inputs:
        all_partitions = partitions is not None and STAGES[upstream].partitioned and not stage.partitioned
        deps.append(dg.AssetDep(upstream, partition_mapping=dg.AllPartitionMapping() if all_partitions else None))
    if partitions is not None and stage.reads_previous_window:
        deps.append(dg.AssetDep(stage.name, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)))
    return deps


def build_stage_asset(stage: Stage, params: PipelineParams | None) -> dg.AssetsDefinition:
    """The asset for ``stage``; ``params`` (None if the file is invalid) sets its code version and partitions."""
    code_version = stage_code_version(stage, params) if params is not None else "params-invalid"
    definition_metadata = ({"params": dg.MetadataValue.json(used_params(stage, section_params(stage, params)))}
                           if params and stage.section else {})
    pipeline_partitions = time_partitions(params)
    partitions = pipeline_partitions if stage.partitioned else None

    @dg.asset(
        name=stage.name,
        deps=_deps(stage, pipeline_partitions),
        description=stage.description,
        group_name=GROUP,
        code_version=code_version,
        automation_condition=AUTOMATION,
        metadata={"params_section": stage.section or "none", **definition_metadata},
        kinds={stage.kind},
        partitions_def=partitions,
        # every asset single-run when partitioned: one run (and one global refit) covers a whole range
        backfill_policy=dg.BackfillPolicy.single_run() if pipeline_partitions is not None else None,
        config_schema=section_config_schema(stage.section, stage.section_fields),
        check_specs=quality_check_specs(stage.name),
    )
    def stage_asset(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
        log = StepLog(context.log)
        try:
            run_params = pipeline.load_params()
            overrides = dict(context.op_config or {})
            unused = sorted(set(overrides) - set(stage.section_fields or overrides))
            if unused:
                raise ParamsError(f"run config of {stage.name}: {stage.name} does not read {stage.section}."
                                  f"{unused[0]}; it reads only {', '.join(stage.section_fields)}.")
            if overrides and stage.section:
                run_params = run_params.with_overrides(stage.section, overrides, origin=f"run config of {stage.name}")
            windows = ([window_for(partitions, key) for key in sorted(context.partition_keys)]
                       if partitions is not None else [None])
            store = pipeline.store(run_params)
            ledger = new_ledger(store, run_params, context.run_id, stages=run_stages(context),
                                parent_run_id=context.run.parent_run_id)
            outcomes = materialize_windows(stage.name, run_params, store, windows, run_id=context.run_id, log=log,
                                           inbox_file=context.run.tags.get(INBOX_FILE_TAG), ledger=ledger)
            if finish_step(ledger, stage.name):
                log.info("Published run %s: the pointers and the warehouse now show it", context.run_id)
        except Exception as exc:
            if not isinstance(exc, TopicPipelineError):
                context.log.error("".join(traceback.format_exception(exc)))
            raise stage_failure(stage.name, exc) from exc
        if len(outcomes) == 1:
            return dg.MaterializeResult(data_version=dg.DataVersion(outcomes[0].key), metadata=outcome_metadata(outcomes[0]),
                                        check_results=quality_check_results(context, outcomes[0].metadata, run_params))
        return dg.MaterializeResult(metadata=range_metadata(outcomes, [w.key for w in windows]))

    return stage_asset


def build_stage_assets(params: PipelineParams | None) -> list[dg.AssetsDefinition]:
    return [build_stage_asset(stage, params) for stage in STAGES.values()]
