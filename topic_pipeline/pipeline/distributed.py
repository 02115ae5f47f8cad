"""Fan work out over a Dask cluster (``execution.dask_address``): the windows of a range, the texts to embed.

Both are embarrassingly parallel and deterministic, so the result is the one a
single process computes: a window's stage output is the same function of the
same inputs wherever it runs (the worker writes it into the shared store under
the same key, through the same run ledger), and a text's vector does not
depend on which chunk carried it. Tasks are spread round-robin over the
workers (any worker may take over one whose worker left), so a backfill of N
windows on W workers runs N/W windows per worker.

Global UMAP and HDBSCAN stay one step on one machine: umap-learn and hdbscan
have no distributed implementation, and the GPU (``backend: cuml``) is the way
to make that step faster.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from topic_pipeline.errors import StoreError
from topic_pipeline.params import EmbeddingParams, PipelineParams

_LOG = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def dask_client(address: str) -> Any:
    """A client of the scheduler at ``address`` (one per process, reused).

    Raises
    ------
    StoreError
        ``distributed`` is not installed, or no scheduler answers at ``address``.
    """
    try:
        from distributed import Client
    except ImportError:
        raise StoreError(f"execution.dask_address is {address!r} but the package distributed is not installed "
                         "(pip install 'topic_pipeline[dask]').") from None
    try:
        return Client(address, timeout=30, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise StoreError(f"No Dask scheduler answers at execution.dask_address {address!r} ({exc}).") from None


def workers_of(client: Any) -> list[str]:
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise StoreError("The Dask cluster has no workers.")
    return workers


def map_on_cluster(client: Any, function: Callable[..., Any], items: Sequence[Any], *args: Any,
                   on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
    """``[function(item, *args) for item in items]`` as Dask tasks spread round-robin over the workers.

    ``on_result(index, result)`` is called as each task finishes (in completion order); the
    returned list is in the order of ``items``. A task's exception is raised here as it is.
    """
    from distributed import as_completed

    workers = workers_of(client)
    futures = {client.submit(function, item, *args, key=f"{getattr(function, '__name__', 'task')}-{index}-"
                             f"{id(items)}", workers=[workers[index % len(workers)]], allow_other_workers=True,
                             pure=False): index
               for index, item in enumerate(items)}
    results: list[Any] = [None] * len(items)
    try:
        for future in as_completed(futures, loop=client.loop):
            index = futures[future]
            results[index] = future.result()
            if on_result is not None:
                on_result(index, results[index])
    except BaseException:
        client.cancel(list(futures))
        raise
    return results


# --- the texts to embed -----------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _worker_model(settings_json: str) -> Any:
    from topic_pipeline.pipeline.embedding import load_embedding_model

    return load_embedding_model(EmbeddingParams.model_validate_json(settings_json))


def _embed_chunk(texts: list[str], settings_json: str) -> tuple[np.ndarray, str]:
    """On a worker: the vectors of one chunk (the model is loaded once per worker process) and the worker."""
    from distributed import get_worker

    from topic_pipeline.pipeline.embedding import embed_texts

    settings = EmbeddingParams.model_validate_json(settings_json)
    vectors = embed_texts(texts, settings, chunk_size=len(texts) or 1, model=_worker_model(settings_json))
    return vectors, get_worker().address


def embed_on_cluster(client: Any, texts: Sequence[str], settings: EmbeddingParams, chunk_size: int,
                     on_chunk: Callable[[int, np.ndarray], None]) -> tuple[np.ndarray, set[str]]:
    """Embed ``texts`` in chunks on the cluster; ``on_chunk(start, vectors)`` as each arrives. Vectors in order."""
    starts = list(range(0, len(texts), chunk_size))
    chunks = [list(texts[start:start + chunk_size]) for start in starts]
    used: set[str] = set()

    def arrived(index: int, result: tuple[np.ndarray, str]) -> None:
        used.add(result[1])
        on_chunk(starts[index], result[0])

    results = map_on_cluster(client, _embed_chunk, chunks, settings.model_dump_json(), on_result=arrived)
    return np.vstack([vectors for vectors, _ in results]), used


# --- the windows of a partition range --------------------------------------------------------------
def _materialize_window(window: Any, job: dict[str, Any]) -> tuple[Any, str]:
    """On a worker: one window of a partitioned stage, in the run's own ledger on the shared store."""
    from distributed import get_worker

    from topic_pipeline.pipeline.ledger import RunLedger
    from topic_pipeline.pipeline.runner import materialize_stage
    from topic_pipeline.pipeline.store import StageStore

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
