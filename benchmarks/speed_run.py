"""Carrying out a speed plan: the measurements of each scenario, interleaved, gathered into table rows.

A row holds one scenario at one size: our medians per configuration, BERTopic's median, how
BERTopic was measured (a fresh process, or one operation in a warm fitted process), the ratios and
the targets. The order and the repeat rule are ``speed_plan``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import speed_ours, speed_ours_inbox
from benchmarks.speed_measure import ROOT, MeasurementError, WarmWorker, measure_command, python_argv, summarize
from benchmarks.speed_plan import BERTOPIC_OPS, INCREMENT_SCENARIOS, LABELS, LONG_S, Plan
from benchmarks.speed_table import add_ratios, evaluate_targets

Log = Callable[[str], None]


def measure_sides(sides: dict[str, Callable[[], dict[str, Any]]], repeats: int, log: Log,
                  label: str) -> dict[str, dict[str, Any]]:
    """Each side ``repeats`` times, interleaved in ``sides`` order; a side whose first sample was long stops."""
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    for repeat in range(repeats):
        for name, measure in sides.items():
            if repeat and samples[name][0]["wall_s"] >= LONG_S:
                continue
            sample = measure()
            samples[name].append(sample)
            log(f"  {label} {name} #{repeat + 1}: wall {sample['wall_s']:.1f} s, CPU {sample['cpu_s']:.1f} s, "
                f"peak {sample['peak_rss_mib']:.0f} MiB, load {sample['load_before'][0]:.1f}")
    return {name: summarize(values) for name, values in samples.items() if values}


def failed_row(scenario: str, size: int, error: Exception) -> dict[str, Any]:
    """A scenario that could not be measured: the table says so and the other scenarios still run."""
    return {"scenario": scenario, "label": LABELS[scenario].format(n=f"{size:,}"), "size": size,
            "error": str(error)[-2000:], "ours": {}, "targets": []}


def guarded(scenario: str, size: int, log: Log, run: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """``run()``'s rows, or one failed row when a measured command failed (the project may be mid-change)."""
    try:
        return run()
    except MeasurementError as exc:
        log(f"  {scenario} FAILED: {str(exc).splitlines()[0]}")
        return [failed_row(scenario, size, exc)]


def _row(scenario: str, size: int, results: dict[str, dict[str, Any]], how: str | None, judged: bool = True,
         **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"scenario": scenario, "label": LABELS[scenario].format(n=f"{size:,}"), "size": size,
                           "ours": {c: results[c] for c in ("fit", "full") if c in results},
                           "bertopic": results.get("bertopic"), "bertopic_how": how, **extra}
    add_ratios(row)
    evaluate_targets(row, judged)
    return row


def _cold_bertopic(ws: speed_ours.OursWorkspace, size: int) -> dict[str, Any]:
    spec = {"mode": "cold", "corpus": str(ws.work / f"posts_{size}.parquet"),
            "embeddings": str(ws.work / f"posts_{size}.npy")}
    return measure_command(python_argv("benchmarks.speed_bertopic", json.dumps(spec)), cwd=ROOT,
                           label=f"BERTopic cold {size}")


def run_cold(ws: speed_ours.OursWorkspace, plan: Plan, log: Log) -> list[dict[str, Any]]:
    """Cold fits: ours on an empty store (both configurations), BERTopic in a fresh process."""
    rows = []
    for size in plan.cold_sizes:
        keep = size == plan.size  # the first run at the scenarios' size becomes their base store
        sides = {
            "fit": lambda s=size, k=keep: speed_ours.measure_cold(ws, s, "fit", f"base_fit_{s}" if k else None),
            "bertopic": lambda s=size: _cold_bertopic(ws, s),
            "full": lambda s=size, k=keep: speed_ours.measure_cold(ws, s, "full", f"base_full_{s}" if k else None),
        }
        judged = size == max(plan.cold_sizes)
        rows += guarded("cold", size, log, lambda sides=sides, size=size, judged=judged: [
            _row("cold", size, measure_sides(sides, plan.repeats, log, f"cold {size}"), "fresh process", judged)])
    return rows


def _warm_spec(ws: speed_ours.OursWorkspace, base: int, new: int | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"mode": "warm", "corpus": str(ws.work / f"posts_{base}.parquet"),
                            "embeddings": str(ws.work / f"posts_{base}.npy")}
    if new:
        spec |= {"new_corpus": str(ws.work / f"new_{base}_{new}.parquet"), "new_rows": [base, base + new],
                 "all_embeddings": ws.inputs["embeddings_file"]}
    return spec


def _our_measure(ws: speed_ours.OursWorkspace, scenario: str, size: int, config: str) -> Callable[[], dict[str, Any]]:
    if scenario in INCREMENT_SCENARIOS:
        return lambda: speed_ours_inbox.measure_increment(ws, size, scenario, config)
    return lambda: speed_ours.measure_change(ws, size, config, scenario)


def _prepare_bases(ws: speed_ours.OursWorkspace, plan: Plan, scenarios: list[str]) -> None:
    """Our base stores of these scenarios (unmeasured), built while BERTopic's warm worker fits."""
    for scenario in scenarios:
        for config in plan.configs(scenario):
            if scenario in INCREMENT_SCENARIOS:
                params, _ = speed_ours_inbox.inbox_params(ws, plan.size, scenario, config)
                speed_ours.base_store(ws, f"inbox_{scenario}_{config}_{plan.size}", params)
            else:
                speed_ours.base_store(ws, f"base_{config}_{plan.size}", speed_ours.base_params(ws, plan.size, config))


def warm_groups(ws: speed_ours.OursWorkspace, plan: Plan) -> dict[int, list[str]]:
    """Base slice size -> the warm scenarios fitted on it (the +1% ones may need a smaller base)."""
    groups: dict[int, list[str]] = {}
    for scenario in plan.scenarios:
        if scenario in BERTOPIC_OPS:
            base = speed_ours_inbox.increment(ws, plan.size)["base"] if scenario in INCREMENT_SCENARIOS else plan.size
            groups.setdefault(base, []).append(scenario)
    return groups


def run_warm_group(ws: speed_ours.OursWorkspace, plan: Plan, base: int, scenarios: list[str],
                   log: Log) -> list[dict[str, Any]]:
    """One fitted BERTopic worker answers every scenario of the group; ours runs between its operations."""
    sizes = speed_ours_inbox.increment(ws, plan.size)
    new = sizes["new"] if sizes["base"] == base else None
    log(f"warm BERTopic fit on {base:,} posts; our base stores meanwhile")
    with WarmWorker(python_argv("benchmarks.speed_bertopic", json.dumps(_warm_spec(ws, base, new))), cwd=ROOT) as worker:
        _prepare_bases(ws, plan, scenarios)
        ready = worker.wait_ready()
        log(f"  BERTopic fitted in {ready['fit_wall_s']} s, {ready['topics']} topics, RSS {ready['rss_after_fit_mib']} MiB")
        rows = []
        for scenario in scenarios:
            rows += guarded(scenario, plan.size, log, lambda s=scenario: [_warm_row(ws, plan, worker, s, base, new, log)])
    rows[-1]["bertopic_worker"] = worker.whole_process
    return rows


def _warm_row(ws: speed_ours.OursWorkspace, plan: Plan, worker: WarmWorker, scenario: str, base: int,
              new: int | None, log: Log) -> dict[str, Any]:
    """Ours (``fit``, then ``full`` where planned) interleaved with BERTopic's warm operation."""
    sides = {"fit": _our_measure(ws, scenario, plan.size, "fit"),
             "bertopic": lambda: worker.measure(BERTOPIC_OPS[scenario])}
    if "full" in plan.configs(scenario):
        sides["full"] = _our_measure(ws, scenario, plan.size, "full")
    results = measure_sides(sides, plan.repeats, log, scenario)
    extra = {"documents": {"base": base, "new": new}} if scenario in INCREMENT_SCENARIOS else {}
    return _row(scenario, plan.size, results, f"warm process, {BERTOPIC_OPS[scenario]}", bertopic_fit=worker.ready,
                **extra)


def run_unchanged(ws: speed_ours.OursWorkspace, plan: Plan, scenario: str, log: Log) -> list[dict[str, Any]]:
    """Nothing changed: ``topic-pipeline run`` (both configurations) or ``dg launch --assets '*'`` (full)."""
    measure = speed_ours.measure_unchanged if scenario == "unchanged" else speed_ours.measure_dg_launch
    sides = {config: (lambda c=config: measure(ws, plan.size, c)) for config in plan.configs(scenario)}
    return guarded(scenario, plan.size, log,
                   lambda: [_row(scenario, plan.size, measure_sides(sides, plan.repeats, log, scenario), None)])


def run_embedding(work: Path, texts: int, log: Log) -> dict[str, Any]:
    """``benchmarks.embedding_backends`` as a subprocess when that module exists; its JSON, or why not."""
    if not (ROOT / "benchmarks" / "embedding_backends.py").exists():
        return {"status": "not available (benchmarks/embedding_backends.py does not exist)"}
    out = work / "embedding_backends.json"
    argv = python_argv("benchmarks.embedding_backends", "--texts", str(texts), "--skip-topics", "--out", str(out))
    try:
        sample = measure_command(argv, cwd=ROOT, timeout_s=1800, label="embedding backends")
    except Exception as exc:  # a failing optional part is reported, not fatal
        log(f"  embedding backends failed: {str(exc).splitlines()[0]}")
        return {"status": f"failed: {str(exc)[-600:]}"}
    report = json.loads(out.read_text()) if out.exists() else {"status": "no JSON written"}
    report["measured"] = {k: v for k, v in sample.items() if k != "stdout"}
    return report
