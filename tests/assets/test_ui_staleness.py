"""The Dagster UI's view of a params change: `dg dev` on 127.0.0.1, driven through GraphQL.

After a run, a params edit and a code-location reload, the changed asset is
flagged (code version changed) and nothing upstream of it is.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from conftest import newsgroups_slice_params
from dagster_graphql import DagsterGraphQLClient

ROOT = Path(__file__).resolve().parents[2]
STALENESS = """
{ assetNodes { assetKey { path } staleStatus staleCauses { key { path } category reason } } }
"""
LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _restore_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


@pytest.fixture
def dagster_ui(tmp_path):
    port = _free_port()
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(newsgroups_slice_params(300)))
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = os.environ | {"TOPIC_PIPELINE_PARAMS": str(params), "TOPIC_PIPELINE_DATA": str(tmp_path / "warehouse"),
                        "DAGSTER_HOME": str(home)}
    dg_bin = Path(sys.executable).with_name("dg")
    process = subprocess.Popen(
        [str(dg_bin), "dev", "--host", "127.0.0.1", "--port", str(port), "--use-active-venv"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=_restore_signals,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, "dg dev exited"
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "dg dev did not come up"
            time.sleep(1)
        yield port, params
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _graphql(port, query):
    response = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=60)
    response.raise_for_status()
    return response.json()["data"]


def _run_and_wait(client, port):
    run_id = client.submit_job_execution("topic_model")
    deadline = time.monotonic() + 300
    while (status := client.get_run_status(run_id).value) not in ("SUCCESS", "FAILURE", "CANCELED"):
        assert time.monotonic() < deadline
        time.sleep(1)
    assert status == "SUCCESS"


def _stale(port):
    nodes = _graphql(port, STALENESS)["assetNodes"]
    return {"/".join(n["assetKey"]["path"]): (n["staleStatus"], {c["category"] for c in n["staleCauses"]}) for n in nodes}


def test_params_change_flags_the_changed_asset(dagster_ui):
    port, params = dagster_ui
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    _run_and_wait(client, port)
    assert {status for status, _ in _stale(port).values()} == {"FRESH"}

    params.write_text(yaml.safe_dump(newsgroups_slice_params(300, clustering={"min_cluster_size": 12})))
    location = _graphql(port, LOCATIONS)["workspaceOrError"]["locationEntries"][0]["name"]
    client.reload_repository_location(location)
    stale = _stale(port)
    assert stale["clusters"] == ("STALE", {"CODE"})
    for upstream in ("documents", "embeddings", "reduced_embeddings"):
        assert stale[upstream][0] == "FRESH"

    _run_and_wait(client, port)  # the content-addressed store recomputes clusters and downstream only
    assert {status for status, _ in _stale(port).values()} == {"FRESH"}
