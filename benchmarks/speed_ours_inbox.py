"""Our side of the "+1 % documents" scenarios: a base run, then a file of new posts dropped into the inbox.

The new posts are the ones right after the base slice in the corpus file (``speed_data`` picks the
sizes; at the corpus's full size the base gives up its last 1 %, since no post follows the last one).
Their precomputed vectors reach the pipeline as a Parquet of doc_id + vector
(``embedding.precomputed``) covering the base and the new posts: a row-aligned ``.npy`` cannot cover
inbox documents (they have no corpus row; the pipeline refuses them with that message).
``corpus.deduplicate`` is ``none`` here so every new post is modeled, as BERTopic's ``transform``
places every document it is given (``inbox`` would link a repeated text, e.g. an empty post, to its
first copy instead).

The inbox folder's path is part of the corpus params, so it stays the same for the base run and the
measured run; each repeat copies the base store, drops the file, runs, and takes the file out again.
After the measured run, ``topic-pipeline sql`` (not measured) checks that every new post is in DuckDB
with a topic.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from benchmarks.speed_measure import MeasurementError, run_quiet, venv_script
from benchmarks.speed_ours import (
    OursWorkspace,
    base_params,
    base_store,
    discard,
    fresh_copy,
    measure_run,
    run_env,
    with_changes,
)

MODES = ("assign", "refit")


def increment(ws: OursWorkspace, size: int) -> dict[str, Any]:
    """{"base": B, "new": K, "new_ids": [...]} for a benchmark size."""
    return ws.inputs["increments"][str(size)]


def inbox_params(ws: OursWorkspace, size: int, mode: str, config: str = "fit") -> tuple[dict[str, Any], Path]:
    """Params of the base slice with the inbox on, the joined-by-id vectors and ``updates.mode``."""
    sizes = increment(ws, size)
    inbox = ws.work / "inbox" / f"{mode}_{config}_{size}"
    vectors = ws.work / f"vectors_{sizes['base'] + sizes['new']}.parquet"
    params = base_params(ws, sizes["base"], config, inbox=inbox, vectors=vectors)
    return with_changes(params, {"updates": {"mode": mode}, "corpus": {"deduplicate": "none"}}), inbox


def _new_posts_file(ws: OursWorkspace, size: int) -> Path:
    sizes = increment(ws, size)
    return ws.work / f"new_{sizes['base']}_{sizes['new']}.parquet"


def check_visible(ws: OursWorkspace, store: Path, new_ids: list[str]) -> dict[str, Any]:
    """Through ``topic-pipeline sql``: how many new posts DuckDB shows, and with a topic."""
    listed = ", ".join("'" + doc_id.replace("'", "''") + "'" for doc_id in new_ids)
    sql = (f"SELECT (SELECT count(*) FROM documents WHERE doc_id IN ({listed})) AS in_documents, "
           f"(SELECT count(*) FROM document_topics WHERE doc_id IN ({listed}) AND topic_id IS NOT NULL) AS with_topic, "
           "(SELECT count(*) FROM documents) AS documents")
    out = run_quiet([venv_script("topic-pipeline"), "sql", sql, "--format", "json"], env=run_env(store), cwd=ws.work,
                    label="topic-pipeline sql (new documents)")
    row = json.loads(out.strip().splitlines()[-1])[0]
    row["new"] = len(new_ids)
    row["ok"] = row["in_documents"] == row["with_topic"] == len(new_ids)
    return row


def measure_increment(ws: OursWorkspace, size: int, mode: str, config: str = "fit") -> dict[str, Any]:
    """Base run with an empty inbox (once), then the new posts' file in the inbox and a measured run."""
    params, inbox = inbox_params(ws, size, mode, config)
    base = base_store(ws, f"inbox_{mode}_{config}_{size}", params)
    store = fresh_copy(ws, base)
    inbox.mkdir(parents=True, exist_ok=True)
    dropped = inbox / _new_posts_file(ws, size).name
    shutil.copy(_new_posts_file(ws, size), dropped)  # a plain copy: the file is new to the inbox now
    try:
        sample = measure_run(ws, params, store, f"ours +1% {mode}")
        sample["check"] = check_visible(ws, store, increment(ws, size)["new_ids"])
        if not sample["check"]["ok"]:
            raise MeasurementError(f"+1% {mode}: the new posts are not all in DuckDB with a topic: {sample['check']}")
        return sample
    finally:
        dropped.unlink(missing_ok=True)
        discard(store)
