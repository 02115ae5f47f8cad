"""The inbox sensor: new or changed files in ``corpus.inbox`` start a run for the windows they touch.

The cursor maps each file to its (modification time, size): a file is processed
once, and again only when it changes. A file that cannot be read still gets
its run, which then fails with the file's problem; other files go on.
"""

from __future__ import annotations

import json

import dagster as dg

from assets.partitions import partition_keys_for, time_partitions
from assets.stage_assets import INBOX_FILE_TAG
from resources import PipelineResource
from topic_pipeline.errors import TopicPipelineError
from topic_pipeline.params import PipelineParams
from topic_pipeline.pipeline.corpus import inbox_files, read_corpus_file

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def inbox_run_requests(params: PipelineParams, cursor: dict[str, str], asset_keys: list[dg.AssetKey],
                       log=None) -> tuple[list[dg.RunRequest], dict[str, str]]:
    """Run requests for inbox files not seen in ``cursor`` (or changed since), and the new cursor."""
    partitions = time_partitions(params)
    requests, seen = [], dict(cursor)
    for path in inbox_files(params.corpus):
        stat = path.stat()
        signature = f"{stat.st_mtime_ns}:{stat.st_size}"
        if cursor.get(str(path)) == signature:
            continue
        seen[str(path)] = signature
        tags = {INBOX_FILE_TAG: str(path)}
        if partitions is not None:
            try:
                rows = read_corpus_file(path, params.corpus)
                keys = partition_keys_for(partitions, rows["timestamp"].fillna(rows["ingested_at"]))
            except TopicPipelineError as exc:  # the run for this file reports it; choose any window
                if log:
                    log.warning("Inbox file %s cannot be read: %s", path, exc)
                keys = []
            keys = keys or [partitions.get_last_partition_key()]
            tags |= {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
        requests.append(dg.RunRequest(run_key=f"{path}:{signature}", asset_selection=asset_keys, tags=tags))
    return requests, seen


def build_inbox_sensor(asset_keys: list[dg.AssetKey]) -> dg.SensorDefinition:
    @dg.sensor(
        name="inbox_sensor",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED,
        asset_selection=dg.AssetSelection.assets(*asset_keys),
        description="Runs the pipeline for new or changed files in the inbox folder (corpus.inbox).",
    )
    def inbox_sensor(context: dg.SensorEvaluationContext, pipeline: PipelineResource) -> dg.SensorResult:
        params = pipeline.load_params()
        cursor = json.loads(context.cursor) if context.cursor else {}
        requests, cursor = inbox_run_requests(params, cursor, asset_keys, log=context.log)
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))

    return inbox_sensor
