"""Time-window partitions of the partitioned stages, from ``params.yaml`` ``partitions``."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from topic_pipeline.params import PipelineParams
from topic_pipeline.pipeline.stages import TimeWindow

_BY_GRANULARITY = {
    "day": dg.DailyPartitionsDefinition,
    "week": dg.WeeklyPartitionsDefinition,
    "month": dg.MonthlyPartitionsDefinition,
}


def time_partitions(params: PipelineParams | None) -> dg.TimeWindowPartitionsDefinition | None:
    """The partitions definition, or None when the corpus is unpartitioned.

    ``end_offset=1`` includes the window in progress, where inbox files without
    timestamps land (their ingest time is now).
    """
    if params is None or params.partitions.granularity is None:
        return None
    definition = _BY_GRANULARITY[params.partitions.granularity]
    return definition(start_date=params.partitions.start, end_offset=1, timezone="UTC")


def window_for(partitions: dg.TimeWindowPartitionsDefinition, key: str) -> TimeWindow:
    window = partitions.time_window_for_partition_key(key)
    return TimeWindow(key, pd.Timestamp(window.start).tz_convert("UTC"), pd.Timestamp(window.end).tz_convert("UTC"))


def partition_keys_for(partitions: dg.TimeWindowPartitionsDefinition, times: pd.Series) -> list[str]:
    """Sorted partition keys of the windows the given times fall in (times outside are ignored)."""
    keys = set()
    for when in times.dropna().unique():
        key = partitions.get_partition_key_for_timestamp(pd.Timestamp(when).timestamp())
        if key is not None:
            keys.add(key)
    return sorted(keys)
