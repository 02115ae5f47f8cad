"""Where the store lives and what runs the work: settings of a deployment, part of no stage's key.

Moving the store to S3 or the work to a Dask cluster changes where and how fast a result is
computed, never the result, so none of these settings enters a stage's key (README "Scaling out").
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from topic_pipeline.params.sections_views import ParamsSection

ExecutorName = Literal["in_process", "multiprocess", "dask", "k8s"]


class StoreParams(ParamsSection):
    """Where the store is, and what ``topic-pipeline gc`` keeps besides the current outputs.

    ``root``: a folder or ``s3://bucket/prefix`` (AWS variables or profile give
    credentials and endpoint); ``$TOPIC_PIPELINE_DATA`` wins, default ``./data/warehouse``.
    ``mirror``: this machine's copy of what it reads from object storage (default
    under ``~/.cache/topic_pipeline/stores``). ``keep_runs``: outputs of the last
    N runs stay. ``lease_seconds``: how long a run's lease lasts unrenewed (a live
    run renews it every few seconds); an expired one belongs to a run that died.
    """

    keep_runs: int = Field(default=5, ge=0)
    lease_seconds: int = Field(default=600, ge=30)
    root: str | None = None
    mirror: str | None = None


class ExecutionParams(ParamsSection):
    """What runs the heavy work: this process, a Dask cluster, or Dagster's other executors.

    ``dask_address``: an existing Dask scheduler (``tcp://host:8786``). With it,
    the windows of a partition range are materialized as one Dask task each,
    spread over the workers, and the texts to embed go out in tasks of
    ``embedding_chunk`` texts; every worker must import this project and reach
    the store (a shared folder, or ``s3://``). ``executor`` is Dagster's executor
    for runs the UI, schedules and sensors launch: ``in_process`` (one process),
    ``multiprocess`` (a process per step), ``dask`` (dagster-dask, each step a
    task on ``dask_address``) or ``k8s`` (dagster-k8s, each step a Kubernetes
    job; ``k8s_job`` is its configuration, e.g. ``job_namespace``, ``image_pull_policy``).
    """

    dask_address: str | None = None
    embedding_chunk: int = Field(default=1024, ge=1)
    executor: ExecutorName = "in_process"
    k8s_job: dict = Field(default_factory=dict)
