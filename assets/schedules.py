"""A nightly refresh: the latest time window when partitioned, else the whole pipeline."""

from __future__ import annotations

import dagster as dg


def build_refresh_schedule(job: dg.UnresolvedAssetJobDefinition, partitioned: bool) -> dg.ScheduleDefinition:
    if partitioned:
        return dg.build_schedule_from_partitioned_job(
            job, name="refresh_latest_window", hour_of_day=1, default_status=dg.DefaultScheduleStatus.STOPPED,
            description="Recomputes the latest time window (and the global model from all windows).",
        )
    return dg.ScheduleDefinition(
        name="refresh_latest_window", job=job, cron_schedule="0 1 * * *", execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Recomputes the pipeline nightly; unchanged stages are cache hits.",
    )
