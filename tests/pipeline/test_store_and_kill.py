"""Atomic stage outputs: failures and SIGKILL never leave a partial output."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import newsgroups_slice_params

from topic_pipeline.pipeline.gc import apply_gc, plan_gc
from topic_pipeline.pipeline.ledger import RUNS_DIR
from topic_pipeline.pipeline.stages import STAGES
from topic_pipeline.pipeline.store import StageStore

ROOT = Path(__file__).resolve().parents[2]


def test_failed_write_leaves_nothing(tmp_path):
    store = StageStore(tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        with store.writing("clusters", "k1") as folder:
            (folder / "clusters.parquet").write_bytes(b"half")
            raise RuntimeError("boom")
    assert not store.has("clusters", "k1")
    assert list((tmp_path / "clusters").iterdir()) == []


def test_write_without_manifest_is_refused(tmp_path):
    store = StageStore(tmp_path)
    with pytest.raises(OSError, match="wrote no manifest"):
        with store.writing("clusters", "k1") as folder:
            (folder / "clusters.parquet").write_bytes(b"data")
    assert not (tmp_path / "clusters" / "k1").exists()


def test_gc_keeps_current_outputs(tmp_path):
    store = StageStore(tmp_path)
    for key in ("old", "new"):
        with store.writing("ctfidf", key) as folder:
            (folder / "manifest.json").write_text("{}")
    store.set_current("ctfidf", "new")
    removed = apply_gc(store, plan_gc(store))
    assert [p.name for p in removed] == ["old"]
    assert store.has("ctfidf", "new") and not store.has("ctfidf", "old")


def test_sigkill_mid_stage_then_rerun_reuses_finished_stages(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(newsgroups_slice_params(400)))
    root = tmp_path / "warehouse"
    env = os.environ | {"TOPIC_PIPELINE_PARAMS": str(params), "TOPIC_PIPELINE_DATA": str(root)}
    env.pop("DAGSTER_HOME", None)
    command = [sys.executable, "-m", "assets.cli", "run"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        # UMAP compiles for tens of seconds in a fresh process: kill while it writes nothing yet
        while not list((root / "reduced_embeddings").glob(".tmp-*")) if (root / "reduced_embeddings").exists() else True:
            assert process.poll() is None, "the run ended before it reached reduced_embeddings"
            assert time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    store = StageStore(root)
    # a killed run publishes nothing; what it finished is in its ledger and in the store
    assert all(store.current(stage) is None for stage in ("documents", "embeddings", "reduced_embeddings"))
    assert not [p for p in (root / "reduced_embeddings").iterdir() if not p.name.startswith(".tmp-")]
    (ledger,) = (root / RUNS_DIR).iterdir()
    finished = {stage: (ledger / "keys" / stage).read_text().strip('"') for stage in ("documents", "embeddings")}
    assert all(store.has(stage, key) for stage, key in finished.items())

    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    lines = {line.split()[0]: line.split()[1] for line in rerun.stdout.splitlines()
             if len(line.split()) > 1 and line.split()[0] in STAGES}  # the stage lines, not the hints after them
    assert lines["documents"] == "reused" and lines["embeddings"] == "reused"
    assert lines["reduced_embeddings"] == "computed" and lines["warehouse"] == "computed"
    assert {stage: store.current(stage) for stage in finished} == finished
    abandoned = list((root / "reduced_embeddings").glob(".tmp-*"))
    assert abandoned and abandoned[0] not in plan_gc(store).paths  # the killed run's lease still protects it
    later = plan_gc(store, now=time.time() + 3600)  # once the lease has expired, gc deletes it
    assert abandoned[0] in later.paths
    apply_gc(store, later)  # (apply plans again with the real clock: the lease is still live, nothing goes)
    assert abandoned[0].exists()
