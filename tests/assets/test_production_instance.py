"""The shipped production instance (deploy/dagster.yaml) on a real PostgreSQL server on 127.0.0.1.

A materialization through the CLI is recorded in PostgreSQL, and the daemon, reading the same
instance, records its sensor and schedule ticks there and launches the run the inbox sensor asks for.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import NEWSGROUPS, newsgroups_slice_params
from postgres_server import missing_reason, postgres_server

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=f"no PostgreSQL server: {missing_reason()}")


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as settings:
        yield settings


@pytest.fixture
def production_home(postgres, tmp_path, monkeypatch):
    """$DAGSTER_HOME holding the shipped deploy/dagster.yaml, its DAGSTER_PG_* variables set."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    for name, value in postgres.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _sql(postgres, statement: str) -> list[tuple]:
    import psycopg2

    with contextlib.closing(psycopg2.connect(host=postgres.host, port=postgres.port, user=postgres.user,
                                             password=postgres.password, dbname=postgres.database)) as connection:
        cursor = connection.cursor()
        cursor.execute(statement)
        return cursor.fetchall()


def _wait_for(condition, timeout: float, what: str, process: subprocess.Popen, postgres):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if process.poll() is not None or time.monotonic() > deadline:
            process.terminate()
            log = process.communicate(timeout=30)[1][-4000:]
            ticks = _sql(postgres, "SELECT type, status, tick_body FROM job_ticks")
            pytest.fail(f"no {what} within {timeout:.0f} s; ticks {ticks}; daemon log: {log}")
        time.sleep(2)


def test_runs_sensor_and_schedule_ticks_are_recorded_in_postgres(production_home, postgres, tmp_path, write_params,
                                                                 data_root, newsgroups_vectors_parquet):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    params = newsgroups_slice_params(200, corpus={"inbox": str(inbox)}, reduction={"method": "pca"})
    params["embedding"]["precomputed"] = str(newsgroups_vectors_parquet)  # by doc_id: inbox posts find theirs
    write_params(params)
    env = os.environ.copy()
    run = subprocess.run([sys.executable, "-m", "assets.cli", "run"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert _sql(postgres, "SELECT status FROM runs") == [("SUCCESS",)]
    materialized = _sql(postgres, "SELECT DISTINCT asset_key FROM event_logs WHERE dagster_event_type = "
                                  "'ASSET_MATERIALIZATION'")
    assert {'["topic_representations"]', '["warehouse"]'} <= {key for (key,) in materialized}

    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_file": {
        "relative_path": str(ROOT / "tests" / "assets" / "daemon_location.py"), "working_directory": str(ROOT)}}]}))
    started = subprocess.run(["dagster", "sensor", "start", "inbox_sensor", "-w", str(workspace)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert started.returncode == 0, started.stderr[-3000:]
    pd.read_parquet(NEWSGROUPS).iloc[200:230][["doc_id", "text"]].to_parquet(inbox / "new-posts.parquet")

    daemon = subprocess.Popen(["dagster-daemon", "run", "-w", str(workspace)], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ticks = lambda: dict(_sql(postgres, "SELECT type, status FROM job_ticks"))  # noqa: E731
        _wait_for(lambda: ticks().get("SENSOR") == "SUCCESS" and "SCHEDULE" in ticks(), 150,
                  "sensor and schedule tick", daemon, postgres)
        assert ticks()["SCHEDULE"] == "SKIPPED"
        statuses = lambda: [status for (status,) in _sql(postgres, "SELECT status FROM runs")]  # noqa: E731
        _wait_for(lambda: len(statuses()) == 2 and statuses().count("SUCCESS") == 2 or "FAILURE" in statuses(),
                  300, "finished sensor run", daemon, postgres)
        assert statuses() == ["SUCCESS", "SUCCESS"], statuses()
    finally:
        daemon.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(timeout=30)
        if daemon.poll() is None:
            daemon.kill()
    from topic_pipeline.pipeline.store import StageStore
    from topic_pipeline.pipeline.warehouse import query

    inbox_runs = _sql(postgres, "SELECT value FROM run_tags WHERE key = 'topic_pipeline/inbox_file'")
    assert inbox_runs == [(str(inbox / "new-posts.parquet"),)]
    # the new posts are in the published views (a repeated text among them is linked, not added)
    assert 220 < query(StageStore(data_root), "SELECT count(*) AS n FROM documents")["n"][0] <= 230
