"""A Dask cluster (``execution.dask_address``) and the texts to embed fanned out over it.

Tasks are spread round-robin over the workers (any worker may take over one
whose worker left). A text's vector does not depend on which chunk carried it,
so the vectors are the ones one process computes (up to a batch's padding).
``distributed`` fans the windows of a partition range out with the same tools.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from topic_pipeline.errors import StoreError
from topic_pipeline.params import EmbeddingParams


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
    nested = _inside_worker()
    if nested:  # a step running as a Dask task (execution.executor: dask): free its thread while it waits
        from distributed import secede

        secede()
    try:
        for future in as_completed(futures, loop=client.loop):
            index = futures[future]
            results[index] = future.result()
            if on_result is not None:
                on_result(index, results[index])
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        if nested:
            from distributed import rejoin

            rejoin()
    return results


def _inside_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


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
