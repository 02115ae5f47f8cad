"""Dagster's executor for the runs the UI, schedules and sensors launch, chosen by ``execution.executor``.

``in_process`` is the default (one process per run: the stages form a chain whose heavy
steps use every core themselves); ``multiprocess`` runs a process per step; ``dask``
(dagster-dask) runs each step as a task on the Dask cluster at ``execution.dask_address``,
UMAP and HDBSCAN included; ``k8s`` (dagster-k8s) runs each step as a Kubernetes job
configured by ``execution.k8s_job``. The CLI's ``topic-pipeline run`` always runs in its
own process (Dagster's ``execute_in_process``); the Dask fan-out of windows and embedding
chunks (``execution.dask_address``) applies to every executor.
"""

from __future__ import annotations

import dagster as dg
from dagster._config import process_config  # the check configured() defers to run time

from topic_pipeline.errors import ParamsError
from topic_pipeline.params import PipelineParams


def build_executor(params: PipelineParams | None) -> dg.ExecutorDefinition:
    """The executor ``params`` ask for (``in_process`` when the params file is unreadable).

    Raises
    ------
    ParamsError
        ``dask`` without ``dask_address``, an executor whose package is not installed,
        or ``k8s_job`` settings dagster-k8s does not accept.
    """
    execution = params.execution if params is not None else None
    if execution is None or execution.executor == "in_process":
        return dg.in_process_executor
    if execution.executor == "multiprocess":
        return dg.multiprocess_executor
    if execution.executor == "dask":
        if not execution.dask_address:
            raise ParamsError("execution.executor 'dask' needs execution.dask_address (tcp://host:8786).")
        dask_executor = _integration("dagster_dask", "dask_executor", "dask")
        return dask_executor.configured({"cluster": {"existing": {"address": execution.dask_address}}},
                                        name="dask_executor")
    k8s_job_executor = _integration("dagster_k8s", "k8s_job_executor", "k8s")
    checked = process_config(k8s_job_executor.config_schema.config_type, dict(execution.k8s_job))
    if not checked.success:  # configured() checks only when a run starts: say it when the location loads
        first = checked.errors[0].message.split(". Expected:")[0]
        raise ParamsError(f"execution.k8s_job: {first}.")
    return k8s_job_executor.configured(dict(execution.k8s_job), name="k8s_job_executor")


def _integration(module: str, name: str, extra: str):
    try:
        return getattr(__import__(module), name)
    except ImportError:
        raise ParamsError(f"execution.executor '{extra}' needs the package {module.replace('_', '-')} "
                          f"(pip install 'topic_pipeline[{extra}]').") from None
