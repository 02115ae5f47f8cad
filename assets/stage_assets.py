"""One Dagster asset per pipeline stage, generated from ``topic_pipeline.stages.STAGES``.

Each asset resolves its params (file + run-config overrides), hands the work to
``materialize_stage`` and reports the store key as its ``DataVersion``, so
Dagster's staleness follows exactly what the store would recompute.
"""

# No `from __future__ import annotations`: Dagster reads the config and resource annotations at runtime.

from typing import Any

import dagster as dg

from resources import PipelineResource
from topic_pipeline.errors import TopicPipelineError
from topic_pipeline.params import PipelineParams
from topic_pipeline.runner import StageOutcome, materialize_stage, section_params, stage_code_version
from topic_pipeline.stages import STAGES, Stage

GROUP = "topic_model"
AUTOMATION = dg.AutomationCondition.eager() | dg.AutomationCondition.code_version_changed()


class ParamOverrides(dg.PermissiveConfig):
    """Run-config overrides of this stage's params section, e.g. ``{min_cluster_size: 20}``.

    Overrides are validated like the params file and become part of the store
    key, so they are cached exactly as a file change would be.
    """


def outcome_metadata(outcome: StageOutcome) -> dict[str, Any]:
    """Materialization metadata: counts, key, params used, reuse flag, markdown previews."""
    metadata: dict[str, Any] = {
        "store_key": outcome.key,
        "computed": outcome.computed,
        "seconds": dg.MetadataValue.float(round(outcome.seconds, 3)),
        "params_used": dg.MetadataValue.json(outcome.params),
        "path": dg.MetadataValue.path(str(outcome.output_dir)),
    }
    for name, value in outcome.metadata.items():
        if name.endswith("_md"):
            metadata[name.removesuffix("_md")] = dg.MetadataValue.md(value)
        elif name.endswith("_file"):  # files inside the output folder: plots users can open
            metadata[name.removesuffix("_file")] = dg.MetadataValue.path(str(outcome.output_dir / value))
        elif name == "rows":
            metadata["dagster/row_count"] = dg.MetadataValue.int(int(value))
        else:
            metadata[name] = value
    return metadata


def build_stage_asset(stage: Stage, params: PipelineParams | None) -> dg.AssetsDefinition:
    """The asset for ``stage``; ``params`` (None if the file is invalid) sets its code version."""
    code_version = stage_code_version(stage, params) if params is not None else "params-invalid"
    definition_metadata = {"params": dg.MetadataValue.json(section_params(stage, params))} if params and stage.section else {}

    @dg.asset(
        name=stage.name,
        deps=[dg.AssetKey(upstream) for upstream in stage.inputs],
        description=stage.description,
        group_name=GROUP,
        code_version=code_version,
        automation_condition=AUTOMATION,
        metadata={"params_section": stage.section or "none", **definition_metadata},
        kinds={"duckdb"} if stage.name == "warehouse" else {"parquet"},
    )
    def stage_asset(context: dg.AssetExecutionContext, config: ParamOverrides, pipeline: PipelineResource) -> dg.MaterializeResult:
        try:
            run_params = pipeline.load_params()
            overrides = config.model_dump()
            if overrides and stage.section:
                run_params = run_params.with_overrides(stage.section, overrides, origin=f"run config of {stage.name}")
            outcome = materialize_stage(stage.name, run_params, pipeline.store(), run_id=context.run_id, log=context.log)
        except TopicPipelineError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        return dg.MaterializeResult(data_version=dg.DataVersion(outcome.key), metadata=outcome_metadata(outcome))

    return stage_asset


def build_stage_assets(params: PipelineParams | None) -> list[dg.AssetsDefinition]:
    return [build_stage_asset(stage, params) for stage in STAGES.values()]
