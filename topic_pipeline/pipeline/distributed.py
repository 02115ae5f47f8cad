"""The windows of a partition range fanned out over a Dask cluster (``execution.dask_address``).

A window's stage output is the same function of the same inputs wherever it
runs: the worker writes it into the shared store (a shared folder or S3) under
the same key, through the same run ledger, so the result is the one a single
process computes, and a backfill of N windows on W workers runs N/W windows
per worker. A stage whose window reads the window before it runs them in order.

Global UMAP and HDBSCAN stay one step: umap-learn and hdbscan have no
distributed implementation. ``execution.executor: dask`` runs that step (like
every step) on a worker of the cluster, ``backend: cuml`` on a GPU.
"""

from __future__ import annotations

import logging
from typing import Any

from topic_pipeline.params import PipelineParams
from topic_pipeline.pipeline.dask_cluster import dask_client, map_on_cluster
from topic_pipeline.pipeline.ledger import RunLedger
from topic_pipeline.pipeline.runner import StageOutcome, materialize_stage
from topic_pipeline.pipeline.stages import STAGES, TimeWindow
from topic_pipeline.pipeline.store import StageStore

_LOG = logging.getLogger(__name__)


# --- the windows of a partition range --------------------------------------------------------------
def materialize_windows(name: str, params: PipelineParams, store: StageStore, windows: list[TimeWindow | None], *,
                        run_id: str, ledger: RunLedger, log: logging.Logger | Any = None,
                        inbox_file: str | None = None) -> list[StageOutcome]:
    """Every window of one step (a partition range, or the one unpartitioned ``None``), in order.

    With ``execution.dask_address`` and more than one window, each window is a
    task on the Dask cluster (``distributed``), unless each window reads the one
    before it (``Stage.reads_previous_window``); otherwise they run here, in order.
    """
    log = log or _LOG
    if params.execution.dask_address and len(windows) > 1 and not STAGES[name].reads_previous_window:
        outcomes, workers = materialize_windows_on_cluster(
            dask_client(params.execution.dask_address), name, params, store, windows, run_id=run_id, ledger=ledger,
            inbox_file=inbox_file, log=log)
        log.info("%s: %d windows on %d Dask workers", name, len(windows), len(workers))
        return outcomes
    return [materialize_stage(name, params, store, run_id=run_id, log=log, window=window, inbox_file=inbox_file,
                              ledger=ledger) for window in windows]


def _materialize_window(window: Any, job: dict[str, Any]) -> tuple[Any, str]:
    """On a worker: one window of a partitioned stage, in the run's own ledger on the shared store."""
    from distributed import get_worker

    store = StageStore(job["location"], mirror=job["mirror"])
    params = PipelineParams.model_validate_json(job["params"])
    ledger = RunLedger(store, job["run_id"], stages=job["stages"], parent_run_id=job["parent_run_id"],
                       lease_seconds=job["lease_seconds"])
    outcome = materialize_stage(job["stage"], params, store, run_id=job["run_id"], window=window,
                                inbox_file=job["inbox_file"], ledger=ledger, log=_LOG)
    return outcome, get_worker().address


def materialize_windows_on_cluster(client: Any, stage: str, params: PipelineParams, store: Any, windows: list[Any],
                                   *, run_id: str, ledger: Any, inbox_file: str | None,
                                   log: logging.Logger | Any) -> tuple[list[Any], set[str]]:
    """Every window of ``stage`` as a task on the cluster; the outcomes in window order and the workers used."""
    job = {"location": store.location, "mirror": str(store.root) if store.remote else None,
           "params": params.model_dump_json(), "run_id": run_id, "stage": stage, "inbox_file": inbox_file,
           "stages": sorted(ledger.stages) if ledger.stages is not None else None,
           "parent_run_id": ledger.parent.run_id if ledger.parent else None, "lease_seconds": ledger.lease_seconds}
    used: set[str] = set()

    def finished(index: int, result: tuple[Any, str]) -> None:
        outcome, worker = result
        used.add(worker)
        log.info("%s window %s: %s on Dask worker %s", stage, getattr(windows[index], "key", index),
                 "computed" if outcome.computed else "reused", worker)

    results = map_on_cluster(client, _materialize_window, windows, job, on_result=finished)
    return [outcome for outcome, _ in results], used
