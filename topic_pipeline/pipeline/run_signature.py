"""Knowing, in a fraction of a second, that a whole run would reuse every stage.

A run with nothing to do still pays for starting Dagster and the libraries
each stage imports (seconds). Every stage key is a function of the params,
the corpus files, the embedding source and the stage revisions; after a
complete unpartitioned run the CLI records a fingerprint of those
(``run_signature``) with the keys it published. A later run with the same
fingerprint, whose keys are still the published ones and still stored, has
nothing to compute: ``unchanged_run`` returns those keys and the CLI stops
there. Anything it cannot vouch for (time partitions, a selection, a file it
cannot read) returns None and the run goes through Dagster as usual.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from topic_pipeline.errors import TopicPipelineError
from topic_pipeline.params import EmbeddingParams, PipelineParams, fingerprint
from topic_pipeline.pipeline.corpus import files_signature
from topic_pipeline.pipeline.store import StageStore, read_json, write_json

RECORD = Path("_signatures") / "last_run.json"


def run_signature(params: PipelineParams) -> str | None:
    """Fingerprint of everything the stage keys of a full unpartitioned run derive from; None if partitioned."""
    from topic_pipeline.pipeline.runner import CODE_REVISION
    from topic_pipeline.pipeline.stages import STAGES

    if params.partitions.granularity is not None:
        return None
    return fingerprint({
        "params": params.model_dump(mode="json"),
        "corpus": files_signature(params.corpus),
        "embedding": _embedding_source(params.embedding),
        "revisions": {name: [CODE_REVISION, stage.revision] for name, stage in STAGES.items()},
    })


def _embedding_source(settings: EmbeddingParams) -> list:
    """The state of the files the embeddings come from: the precomputed file, or the model's folder."""
    from topic_pipeline.pipeline.embedding import local_model_folder

    if settings.precomputed:
        folder, files = None, [Path(settings.precomputed)]
    else:
        folder = local_model_folder(settings.model)
        files = sorted(Path(root, name) for root, _, names in os.walk(folder) for name in names) if folder else []
    state = []
    for path in files:
        try:
            status = path.stat()
        except OSError:
            return [str(folder), "unreadable"]
        state.append([str(path), status.st_size, status.st_mtime_ns, status.st_ino])
    return state if files else [settings.model, "no local files"]


def remember_run(store: StageStore, signature: str | None) -> None:
    """After a complete run: its signature with the keys the store now publishes."""
    if signature is None:
        return
    try:
        head = store.head()
        (store.root / RECORD).parent.mkdir(parents=True, exist_ok=True)
        write_json(store.root / RECORD, {"signature": signature, "stages": head["stages"]})
    except (TopicPipelineError, OSError, ValueError):
        pass  # only an optimisation: the next run goes through Dagster


def unchanged_run(store: StageStore, signature: str | None) -> dict[str, str] | None:
    """The published stage keys when a run with ``signature`` would reuse every one of them, else None."""
    from topic_pipeline.pipeline.stages import STAGES
    from topic_pipeline.pipeline.warehouse import database_path

    record: Any = read_json(store.root / RECORD, None)
    if signature is None or not isinstance(record, dict) or record.get("signature") != signature:
        return None
    try:
        published = store.head()["stages"]
    except (TopicPipelineError, OSError, ValueError):
        return None
    keys = {name: published.get(name) for name in STAGES}
    if keys != {name: record["stages"].get(name) for name in STAGES}:
        return None  # another run (the UI, a TopicModel, a partial run) published since
    if not all(key and store.has(name, key) for name, key in keys.items()) or not database_path(store).exists():
        return None
    return keys
