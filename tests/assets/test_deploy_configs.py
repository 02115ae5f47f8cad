"""The shipped deployment files load and validate: the Kubernetes example, the instances, the executors."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from assets.definitions import build_definitions
from assets.executors import build_executor
from resources import PipelineResource
from topic_pipeline.errors import ParamsError
from topic_pipeline.params import load_params, parse_params

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"


def test_the_kubernetes_example_passes_dg_check_defs():
    env = os.environ | {"TOPIC_PIPELINE_PARAMS": str(K8S / "params.yaml")}
    checked = subprocess.run(["dg", "check", "defs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
    defs = build_definitions(PipelineResource(params_file=str(K8S / "params.yaml")))
    job = defs.resolve_job_def("topic_model")
    assert job.executor_def.name == "k8s_job_executor"
    params = load_params(K8S / "params.yaml")
    assert params.store.root.startswith("s3://") and params.reduction.backend == params.clustering.backend == "cuml"


@pytest.mark.parametrize("folder", [ROOT / "deploy", K8S])
def test_the_instance_files_validate(folder, monkeypatch):
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config

    for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"):
        monkeypatch.setenv(name, "5432" if name.endswith("PORT") else "x")
    config, _ = dagster_instance_config(str(folder))  # the instance schema, every section
    launcher = yaml.safe_load((folder / "dagster.yaml").read_text())["run_launcher"]
    if launcher["class"] == "K8sRunLauncher":
        from dagster_k8s import K8sRunLauncher

        checked = process_config(K8sRunLauncher.config_type(), launcher["config"])
        assert checked.success, [error.message for error in checked.errors]
    assert config["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"


def test_the_executor_follows_the_params():
    assert build_executor(None).name == "in_process"
    assert build_executor(parse_params({})).name == "in_process"
    assert build_executor(parse_params({"execution": {"executor": "multiprocess"}})).name == "multiprocess"
    dask = parse_params({"execution": {"executor": "dask", "dask_address": "tcp://127.0.0.1:8786"}})
    assert build_executor(dask).name == "dask_executor"
    with pytest.raises(ParamsError, match="needs execution.dask_address"):
        build_executor(parse_params({"execution": {"executor": "dask"}}))
    with pytest.raises(ParamsError, match=r'^execution.k8s_job: Received unexpected config entry "job_namespac"'):
        build_executor(parse_params({"execution": {"executor": "k8s", "k8s_job": {"job_namespac": "x"}}}))
