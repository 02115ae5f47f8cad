"""The Dagster code location: stage assets, the job over them, the pipeline resource."""

from __future__ import annotations

import logging

import dagster as dg

from assets.executors import build_executor
from assets.partitions import time_partitions
from assets.schedules import build_refresh_schedule
from assets.sensors import build_inbox_sensor
from assets.stage_assets import build_stage_assets
from resources import PipelineResource
from topic_pipeline.errors import ParamsError
from topic_pipeline.params import PipelineParams


def current_params(pipeline: PipelineResource) -> PipelineParams | None:
    """Params as the resource's file reads now; an invalid file still loads the location (runs then fail clearly)."""
    try:
        return pipeline.load_params()
    except ParamsError as exc:
        logging.getLogger("topic_pipeline").warning("%s", exc)
        return None


def build_definitions(pipeline: PipelineResource | None = None) -> dg.Definitions:
    """Definitions whose code versions and partitions reflect the params ``pipeline`` reads.

    The resource is the one place params are read: here (code versions, partitions, the schedule),
    in every step and in the sensor. Rebuilt on each code-location reload, so an edited file shows.
    """
    pipeline = pipeline or PipelineResource()
    params = current_params(pipeline)
    stage_assets = build_stage_assets(params)
    job = dg.define_asset_job(
        "topic_model",
        selection=dg.AssetSelection.assets(*stage_assets),
        description="Every stage, from documents to the DuckDB warehouse.",
    )
    asset_keys = [asset.key for asset in stage_assets]
    return dg.Definitions(
        assets=stage_assets,
        jobs=[job],
        sensors=[build_inbox_sensor(asset_keys)],
        schedules=[build_refresh_schedule(job, partitioned=time_partitions(params) is not None)],
        resources={"pipeline": pipeline},
        # By default one process per run, not one per step: each step process would import pandas,
        # scikit-learn and Dagster again and load numba's compiled UMAP code again (seconds per step, so a
        # "Materialize all" with every stage reused took minutes). The stages form a chain whose heavy steps
        # use every core themselves (numba, BLAS). execution.executor picks another (assets/executors.py).
        executor=build_executor(params),
    )


defs = build_definitions()
