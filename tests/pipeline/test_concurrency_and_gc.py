"""Runs sharing one store never mix, and gc never deletes what a view, a pointer, a live run or a kept run uses.

PCA instead of UMAP wherever the reducer does not matter: no numba compile, so
each run takes seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from conftest import newsgroups_slice_params

from assets.cli import main
from topic_pipeline.errors import QueryError
from topic_pipeline.params import parse_params
from topic_pipeline.pipeline.ledger import RUNS_DIR, RunLedger
from topic_pipeline.pipeline.runner import finish_step, materialize_stage, new_ledger
from topic_pipeline.pipeline.stage_outputs import AssignmentsOutput, RepresentationsOutput
from topic_pipeline.pipeline.stages import STAGES
from topic_pipeline.pipeline.store import StageStore
from topic_pipeline.pipeline.warehouse import database_path, query

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ("documents", "document_topics", "topics", "topic_terms", "topic_hierarchy", "topics_over_time",
         "topics_per_class", "document_links", "stage_runs", "stage_versions")


def _params(limit: int = 300, **sections: dict) -> dict:
    return newsgroups_slice_params(limit, reduction={"method": "pca"} | sections.pop("reduction", {}), **sections)


def _ledgers(store: StageStore) -> list[RunLedger]:
    return [RunLedger(store, json.loads((folder / "run.json").read_text())["run_id"])
            for folder in sorted((store.root / RUNS_DIR).iterdir())]


def assert_own_lineage(store: StageStore, ledger: RunLedger) -> dict[str, str]:
    """Every output the run produced was computed from the keys that same run produced."""
    keys = {stage: ledger.produced(stage) for stage in STAGES}
    assert all(keys.values()), keys
    for stage, key in keys.items():
        inputs = store.manifest(stage, key)["inputs"]
        assert inputs == {upstream: keys[upstream] for upstream in STAGES[stage].inputs}, stage
    return keys


def assert_views_show(store: StageStore, keys: dict[str, str]) -> None:
    """The views show exactly the run whose keys are given: pointers, topics and documents agree."""
    assert {stage: store.current(stage) for stage in STAGES} == keys
    stored = AssignmentsOutput(store.output_dir("topic_assignments", keys["topic_assignments"])).read()
    shown = query(store, "SELECT doc_id, topic_id FROM document_topics ORDER BY doc_id")
    expected = stored[["doc_id", "topic_id"]].sort_values("doc_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(shown, expected, check_dtype=False)
    names = RepresentationsOutput(store.output_dir("topic_representations", keys["topic_representations"])).topics()
    assert sorted(query(store, "SELECT name FROM topics")["name"]) == sorted(names["name"])


def _step(ledger: RunLedger, params, stage: str) -> None:
    materialize_stage(stage, params, ledger.store, run_id=ledger.run_id, ledger=ledger)
    finish_step(ledger, stage)


def test_interleaved_runs_each_read_only_their_own_outputs(tmp_path):
    """Run A starts, run B runs whole in the middle of A, A finishes last: no output mixes the two."""
    store = StageStore(tmp_path / "warehouse")
    small = parse_params(_params(clustering={"min_cluster_size": 10}))
    large = parse_params(_params(clustering={"min_cluster_size": 25}))
    order = list(STAGES)
    first = new_ledger(store, small, "run-a", stages=order)
    second = new_ledger(store, large, "run-b", stages=order)
    for stage in order[:5]:  # A: up to topic_assignments
        _step(first, small, stage)
    for stage in order:
        _step(second, large, stage)
    assert store.head()["run_id"] == "run-b"
    for stage in order[5:]:
        _step(first, small, stage)
    a_keys, b_keys = assert_own_lineage(store, first), assert_own_lineage(store, second)
    changed = {stage for stage in order if a_keys[stage] != b_keys[stage]}
    assert changed == set(order) - {"documents", "embeddings", "reduced_embeddings", "document_map", "document_terms"}
    assert store.head()["run_id"] == "run-a"
    assert_views_show(store, a_keys)


def _cli(args: list[str], params: Path, root: Path) -> subprocess.Popen:
    env = os.environ | {"TOPIC_PIPELINE_PARAMS": str(params), "TOPIC_PIPELINE_DATA": str(root)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.Popen([sys.executable, "-m", "assets.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(process: subprocess.Popen, timeout: float = 600) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out


def test_two_processes_with_different_params_both_succeed_whole(tmp_path):
    root = tmp_path / "warehouse"
    files = []
    for size in (10, 25):
        files.append(tmp_path / f"params-{size}.yaml")
        files[-1].write_text(yaml.safe_dump(_params(clustering={"min_cluster_size": size})))
    processes = [_cli(["run"], file, root) for file in files]  # started together
    for process in processes:
        _finish(process)
    store = StageStore(root)
    ledgers = _ledgers(store)
    assert len(ledgers) == 2
    keys = [assert_own_lineage(store, ledger) for ledger in ledgers]
    sizes = {store.manifest("clusters", k["clusters"])["params"]["min_cluster_size"] for k in keys}
    assert sizes == {10, 25}
    last = next(k for ledger, k in zip(ledgers, keys, strict=True) if ledger.run_id == store.head()["run_id"])
    assert_views_show(store, last)


def test_gc_in_the_middle_of_a_run_spares_it(tmp_path):
    root = tmp_path / "warehouse"
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(yaml.safe_dump(_params(300)))
    second.write_text(yaml.safe_dump(newsgroups_slice_params(350)))  # UMAP: tens of seconds of numba compiling
    _finish(_cli(["run"], first, root))
    running = _cli(["run"], second, root)
    try:
        deadline = time.monotonic() + 300
        while not list(root.glob("reduced_embeddings/.tmp-*")):
            assert running.poll() is None, running.communicate()[1][-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.2)
        gc = subprocess.run([sys.executable, "-m", "assets.cli", "gc", "--yes"], cwd=ROOT, capture_output=True,
                            text=True, env=os.environ | {"TOPIC_PIPELINE_DATA": str(root),
                                                         "TOPIC_PIPELINE_PARAMS": str(second)}, timeout=120)
        assert gc.returncode == 0, gc.stderr
        store = StageStore(root)
        for view in VIEWS:  # the first run's views keep working while the second runs
            query(store, f"SELECT count(*) FROM {view}")
        assert query(store, "SELECT count(*) AS n FROM documents")["n"].item() == 300
        _finish(running)
    finally:
        if running.poll() is None:
            running.kill()
    (ledger,) = [item for item in _ledgers(store) if item.run_id == store.head()["run_id"]]
    assert_views_show(store, assert_own_lineage(store, ledger))
    assert query(store, "SELECT count(*) AS n FROM documents")["n"].item() == 350


def _readable(store: StageStore) -> None:
    for view in VIEWS:
        query(store, f"SELECT * FROM {view}")


def test_gc_after_failed_partial_and_reverted_runs_keeps_what_is_used(write_params, data_root, capsys):
    store = StageStore(data_root)
    write_params(_params())
    assert main(["run"]) == 0
    write_params(_params(clustering={"min_cluster_size": 15}))
    assert main(["run"]) == 0
    changed_back = store.current("topic_assignments")
    write_params(_params())
    assert main(["run"]) == 0  # changed back: every stage reused
    current = store.head()["stages"]
    write_params(_params(reduction={"method": "umap", "n_neighbors": 400}))
    assert main(["run"]) == 1  # fails in reduced_embeddings, after documents and embeddings
    write_params(_params(280))
    assert main(["run", "--select", "documents"]) == 0  # a new documents output the views do not read
    assert store.current("documents") != current["documents"]
    capsys.readouterr()
    referenced = set().union(*(ledger.references() for ledger in _ledgers(store)))
    stored = {(stage, key) for stage, key in referenced if store.has(stage, key)}  # the failed claim was never stored
    assert len(stored) > len(STAGES)

    assert main(["gc", "--yes"]) == 0
    _readable(store)
    assert query(store, "SELECT count(*) AS n FROM documents")["n"].item() == 300  # the warehouse's documents
    assert all(store.has(stage, key) for stage, key in store.head()["stages"].items())
    assert all(store.has(stage, key) for stage, key in stored)
    assert store.has("topic_assignments", changed_back)  # one of the last 5 runs

    write_params(_params(280, store={"keep_runs": 1}))
    assert main(["gc", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "deleted" in out and not store.has("topic_assignments", changed_back)
    _readable(store)
    assert all(store.has(stage, key) for stage, key in store.head()["stages"].items())


def test_a_moved_store_reads_its_own_files(write_params, data_root, tmp_path, monkeypatch, capsys):
    write_params(_params())
    assert main(["run"]) == 0
    moved = tmp_path / "moved"
    shutil.copytree(data_root, moved)
    with duckdb.connect(str(database_path(StageStore(moved))), read_only=True) as connection:
        with pytest.raises(duckdb.Error, match="moved or copied"):  # the copy's file never reads the original's
            connection.execute("SELECT count(*) FROM documents").fetchone()
    data_root.rename(tmp_path / "original-gone")  # reading the original's files now would fail
    monkeypatch.setenv("TOPIC_PIPELINE_DATA", str(moved))
    capsys.readouterr()
    assert main(["sql", "SELECT count(*) AS n FROM documents", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 300}]
    _readable(StageStore(moved))
    assert main(["run", "--select", "warehouse"]) == 0  # rebuilds the file for its new place
    with duckdb.connect(str(database_path(StageStore(moved))), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM documents").fetchone() == (300,)
    with pytest.raises(QueryError, match="No warehouse"):
        query(StageStore(tmp_path / "empty"), "SELECT 1")


def test_a_failed_publication_moves_no_pointer(tmp_path, monkeypatch):
    """The DuckDB file is built before the pointers move: if that fails, pointers and file stay together."""
    import topic_pipeline.pipeline.warehouse as warehouse

    store = StageStore(tmp_path / "warehouse")
    params = parse_params(_params())
    first = new_ledger(store, params, "run-ok", stages=list(STAGES))
    for stage in STAGES:
        _step(first, params, stage)
    before = store.head()
    changed = parse_params(_params(clustering={"min_cluster_size": 20}))
    second = new_ledger(store, changed, "run-broken", stages=list(STAGES))

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device", str(database_path(store)))

    monkeypatch.setattr(warehouse, "prepare_database", no_space)
    with pytest.raises(OSError, match="No space left"):
        for stage in STAGES:
            _step(second, changed, stage)
    assert store.head() == before
    assert_views_show(store, assert_own_lineage(store, first))
