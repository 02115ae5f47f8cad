"""Our side of the speed benchmark: ``topic-pipeline run --params P`` in a fresh process, measured with wait4.

Everything a run touches lies in the benchmark's temporary folder: the params file, the store
(``$TOPIC_PIPELINE_DATA``, and ``store.root`` where the params schema has it), the inbox, the working
directory, ``DAGSTER_HOME`` for ``dg launch``. Params are written as JSON, which YAML reads as it is.

The params are BERTopic's equivalents (``benchmarks.parity``): precomputed MiniLM vectors, no stop
words, no extra representation aspects, the default UMAP (``random_state`` 42, as the BERTopic side
sets it). Two configurations: ``fit`` switches off every stage BERTopic's ``fit_transform`` does not
compute (the document map, the report, topic quality, the hierarchy, topics over time and per class;
each switch only where the schema has it), ``full`` keeps the defaults with every stage on.

A scenario that changes one parameter first builds a base store once (not measured), then measures
each repeat on a fresh copy of it, so a repeat never finds the previous repeat's output in the store.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.speed_measure import ROOT, measure_command, run_quiet, venv_script

CONFIGS = ("fit", "full")
# scenario -> the params change that ours measures after a base run
CHANGES: dict[str, dict[str, dict[str, Any]]] = {
    "clustering": {"clustering": {"min_cluster_size": 15}},
    "top_n_words": {"representation": {"top_n_words": 20}},
    "ngram": {"vectorizer": {"ngram_range": [1, 2]}},
    "stop_words": {"vectorizer": {"stop_words": "english"}},
    "probabilities": {"clustering": {"calculate_probabilities": True}},
}


@dataclass
class OursWorkspace:
    """The benchmark's temporary folder and what ``speed_data`` wrote there; base stores by name."""

    work: Path
    inputs: dict[str, Any]
    bases: dict[str, Path] = field(default_factory=dict)

    def path(self, *parts: str) -> Path:
        path = self.work.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def base_params(ws: OursWorkspace, size: int, config: str, *, inbox: Path | None = None,
                vectors: Path | None = None) -> dict[str, Any]:
    """BERTopic-equivalent params for the first ``size`` posts in configuration ``fit`` or ``full``."""
    slice_path = ws.work / f"posts_{size}"
    params: dict[str, Any] = {
        "corpus": {"source": f"{slice_path}.parquet", "inbox": str(inbox) if inbox else None},
        "embedding": {"precomputed": str(vectors or f"{slice_path}.npy")},
        "reduction": {"random_state": 42},
        "vectorizer": {"stop_words": None},
        "representation": {"aspects": {}},
    }
    if config == "fit":
        for section, switches in ws.inputs["switches"].items():
            params.setdefault(section, {}).update({switch: False for switch in switches})
    return params


def with_changes(params: dict[str, Any], changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A copy of ``params`` with each section updated by ``changes``."""
    changed = copy.deepcopy(params)
    for section, values in changes.items():
        changed.setdefault(section, {}).update(values)
    return changed


def _write_params(ws: OursWorkspace, params: dict[str, Any], store: Path) -> Path:
    if ws.inputs.get("store_root"):
        params = with_changes(params, {"store": {"root": str(store)}})
    path = ws.path("params", f"{uuid.uuid4().hex[:10]}.yaml")
    path.write_text(json.dumps(params, indent=1))
    return path


def run_env(store: Path, dagster_home: Path | None = None) -> dict[str, str]:
    """This environment with the store set and no Dagster home (an ephemeral instance), unless given one."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "TOPIC_PIPELINE_PARAMS")}
    env["TOPIC_PIPELINE_DATA"] = str(store)
    env.setdefault("HF_HUB_OFFLINE", "1")
    if dagster_home is not None:
        env["DAGSTER_HOME"] = str(dagster_home)
    return env


def _run_argv(params_file: Path) -> list[str]:
    return [venv_script("topic-pipeline"), "run", "--params", str(params_file)]


def measure_run(ws: OursWorkspace, params: dict[str, Any], store: Path, label: str) -> dict[str, Any]:
    """One measured ``topic-pipeline run`` on ``store``; computed/reused stage counts from its output."""
    params_file = _write_params(ws, params, store)
    sample = measure_command(_run_argv(params_file), env=run_env(store), cwd=ws.work, label=label)
    lines = sample["stdout"].splitlines()
    sample["computed_stages"] = sum(" computed " in line for line in lines)
    sample["reused_stages"] = sum(" reused " in line for line in lines)
    return sample


def setup_run(ws: OursWorkspace, params: dict[str, Any], store: Path, label: str) -> None:
    """An unmeasured run that fills ``store`` (the base a scenario changes one parameter of)."""
    run_quiet(_run_argv(_write_params(ws, params, store)), env=run_env(store), cwd=ws.work, label=label)


def base_store(ws: OursWorkspace, name: str, params: dict[str, Any]) -> Path:
    """The store of one run of ``params``, built once per benchmark (``name`` says which)."""
    if name not in ws.bases:
        store = ws.path("stores", name)
        if not store.exists():
            setup_run(ws, params, store, f"setup {name}")
        ws.bases[name] = store
    return ws.bases[name]


def adopt_store(ws: OursWorkspace, name: str, store: Path) -> None:
    """Keep a measured cold run's store as the base ``name`` (saves building it again)."""
    ws.bases.setdefault(name, store)


def fresh_copy(ws: OursWorkspace, store: Path) -> Path:
    """A private copy of a base store for one measured repeat (removed by ``discard``)."""
    target = ws.path("scratch", uuid.uuid4().hex[:10])
    shutil.copytree(store, target, symlinks=True)
    return target


def discard(store: Path) -> None:
    shutil.rmtree(store, ignore_errors=True)


def measure_cold(ws: OursWorkspace, size: int, config: str, keep_as: str | None) -> dict[str, Any]:
    """Every stage on an empty store; the store is kept as a base when ``keep_as`` names one."""
    store = ws.path("scratch", uuid.uuid4().hex[:10])
    sample = measure_run(ws, base_params(ws, size, config), store, f"ours cold {config} {size}")
    if keep_as and keep_as not in ws.bases:
        adopt_store(ws, keep_as, store)
    else:
        discard(store)
    return sample


def measure_change(ws: OursWorkspace, size: int, config: str, scenario: str) -> dict[str, Any]:
    """Base run (once), then this scenario's one-parameter change on a fresh copy of the base (measured)."""
    params = base_params(ws, size, config)
    store = fresh_copy(ws, base_store(ws, f"base_{config}_{size}", params))
    try:
        return measure_run(ws, with_changes(params, CHANGES[scenario]), store, f"ours {scenario} {config}")
    finally:
        discard(store)


def measure_unchanged(ws: OursWorkspace, size: int, config: str) -> dict[str, Any]:
    """The same params again on the base store: every stage stored, no Dagster run needed."""
    params = base_params(ws, size, config)
    store = base_store(ws, f"base_{config}_{size}", params)
    return measure_run(ws, params, store, f"ours unchanged {config}")


def measure_dg_launch(ws: OursWorkspace, size: int, config: str) -> dict[str, Any]:
    """``dg launch --assets '*'`` (the UI's "Materialize all") on the base store: every stage reused."""
    params = base_params(ws, size, config)
    store = base_store(ws, f"base_{config}_{size}", params)
    home = ws.path("dagster_home", uuid.uuid4().hex[:10])
    home.mkdir()
    env = run_env(store, dagster_home=home) | {"TOPIC_PIPELINE_PARAMS": str(_write_params(ws, params, store))}
    sample = measure_command([venv_script("dg"), "launch", "--assets", "*"], env=env, cwd=ROOT,
                             label="dg launch --assets '*'")
    shutil.rmtree(home, ignore_errors=True)
    return sample
