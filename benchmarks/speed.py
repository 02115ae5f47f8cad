"""Side-by-side speed of our pipeline and BERTopic 0.17.4 on the same posts and precomputed embeddings.

    python -m benchmarks.speed [--quick] [--size N] [--scenarios cold,clustering,...] [--repeats 3]
                               [--out benchmarks/results/speed.json] [--embedding-texts 300]

Every measurement is its own process (wall and CPU seconds, children included, and peak RSS from
``os.wait4``), except BERTopic's warm operations, which are measured inside a fitted BERTopic
process (``benchmarks.speed_bertopic``). Scenarios (``--scenarios``, default all):

  cold           every stage on an empty store vs a fresh ``fit_transform`` (2,000, 5,000, all posts)
  clustering     min_cluster_size 10 -> 15            vs warm ``fit_transform`` with min_topic_size=15
  top_n_words    representation.top_n_words 10 -> 20 vs warm ``update_topics(docs, top_n_words=20)``
  ngram          vectorizer.ngram_range [1, 2]        vs warm ``update_topics(docs, n_gram_range=(1, 2))``
  stop_words     vectorizer.stop_words english        vs warm ``update_topics(docs, vectorizer_model=...)``
  assign         +1% posts in the inbox, assign mode  vs warm ``transform(new_docs, embeddings=...)``
  refit          +1% posts in the inbox, refit mode   vs warm ``fit_transform`` of all posts + the new ones
  unchanged      the same params again (ours only: BERTopic has no equivalent)
  dg_launch      ``dg launch --assets '*'`` with every stage stored (the UI's "Materialize all")
  probabilities  clustering.calculate_probabilities  vs warm ``fit_transform`` with calculate_probabilities
  embedding      ``benchmarks.embedding_backends`` throughput per backend, when that module exists

Ours runs in two configurations, ``fit`` (only what BERTopic's ``fit_transform`` computes) and
``full`` (every stage on); the ratios ours/BERTopic and the issue's targets judge ``fit``. Scenarios
other than ``cold`` run at ``--size`` posts (default all 18,846); ``--quick`` is 2,000 posts, one
repeat, 100 posts per embedding backend. The default run takes about 35 minutes on 2 cores (the
estimate is printed first).
Results: a table on stdout, progress on stderr, JSON at ``--out`` (written atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import speed_run
from benchmarks.speed_measure import ROOT, MeasurementError, load_average, own_peak_mib, python_argv, run_quiet
from benchmarks.speed_ours import OursWorkspace
from benchmarks.speed_plan import COLD_SIZES, SCENARIOS, Plan, estimate_plan
from benchmarks.speed_table import format_embedding, format_table

TOTAL_POSTS = 18846
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "speed.json"
PACKAGES = ("bertopic", "umap-learn", "hdbscan", "numba", "numpy", "scikit-learn", "dagster", "topic_pipeline")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=TOTAL_POSTS, help="posts for the scenarios other than cold")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, from: " + ", ".join(SCENARIOS))
    parser.add_argument("--repeats", type=int, default=3, help="samples per side (median; 1 for a side over a minute)")
    parser.add_argument("--cold-sizes", help="comma-separated sizes of the cold fits (default 2000,5000,18846 up to --size)")
    parser.add_argument("--quick", action="store_true", help="2,000 posts, one repeat: to try it out")
    parser.add_argument("--embedding-texts", type=int, default=300, help="posts per backend for the embedding part")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.repeats, args.embedding_texts = 2000, 1, min(args.embedding_texts, 100)
    args.scenarios = ",".join(name.strip() for name in args.scenarios.split(",") if name.strip())
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    if args.repeats < 1 or not 1 <= args.size <= TOTAL_POSTS:
        parser.error(f"--repeats must be >= 1 and --size between 1 and {TOTAL_POSTS}")
    return args


def make_plan(args: argparse.Namespace) -> Plan:
    chosen = set(args.scenarios.split(","))
    if args.cold_sizes:
        cold = tuple(sorted({min(int(value), TOTAL_POSTS) for value in args.cold_sizes.split(",")}))
    else:
        cold = tuple(sorted({size for size in COLD_SIZES if size < args.size} | {args.size}))
    return Plan(scenarios=tuple(s for s in SCENARIOS if s in chosen), size=args.size, cold_sizes=cold,
                repeats=args.repeats, embedding_texts=args.embedding_texts)


def machine_facts() -> dict[str, Any]:
    """What the numbers depend on: cores, Python, the versions of the libraries doing the work."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "machine": platform.machine(), "versions": versions}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_plan(plan: Plan, work: Path) -> dict[str, Any]:
    """Prepare the inputs, then run the scenarios in ``speed_plan``'s order; the rows and the embedding report."""
    sizes = sorted({*plan.cold_sizes, plan.size})
    inputs = json.loads(run_quiet(python_argv("benchmarks.speed_data", str(work), *map(str, sizes)),
                                  cwd=ROOT, label="preparing the inputs").strip().splitlines()[-1])
    ws = OursWorkspace(work, inputs)
    _log(f"inputs in {work}; optional-stage switches in the params schema: {inputs['switches']}")
    rows: list[dict[str, Any]] = []
    if "cold" in plan.scenarios:
        rows += speed_run.run_cold(ws, plan, _log)
    for base, scenarios in speed_run.warm_groups(ws, plan).items():
        try:
            rows += speed_run.run_warm_group(ws, plan, base, scenarios, _log)
        except MeasurementError as exc:  # the warm fit or a base store failed: every scenario of the group
            _log(f"  warm group on {base:,} posts FAILED: {str(exc).splitlines()[0]}")
            rows += [speed_run.failed_row(scenario, plan.size, exc) for scenario in scenarios]
    for scenario in ("unchanged", "dg_launch"):
        if scenario in plan.scenarios:
            rows += speed_run.run_unchanged(ws, plan, scenario, _log)
    embedding = None
    if "embedding" in plan.scenarios:
        _log(f"embedding backends on {plan.embedding_texts} posts")
        embedding = speed_run.run_embedding(work, plan.embedding_texts, _log)
    return {"rows": rows, "embedding": embedding, "switches": inputs["switches"],
            "increment": {k: v for k, v in inputs["increments"][str(plan.size)].items() if k != "new_ids"}}


def write_json_atomic(path: Path, value: dict[str, Any]) -> None:
    """Write beside the target and rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        json.dump(value, handle, indent=1)
        temporary = Path(handle.name)
    temporary.chmod(0o644)  # a temporary file is private (0600); the results are not
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args)
    estimates = estimate_plan(plan)
    total = sum(estimates.values())
    cold = f" (cold fits at {', '.join(f'{s:,}' for s in plan.cold_sizes)})" if "cold" in plan.scenarios else ""
    _log(f"plan: {', '.join(plan.scenarios)} at {plan.size:,} posts{cold}, {plan.repeats} repeat(s); "
         f"estimated {total / 60:.0f} min on 2 cores: {estimates}")
    started, load_start = time.perf_counter(), load_average()
    with tempfile.TemporaryDirectory(prefix="speed-benchmark-") as tmp:
        result = run_plan(plan, Path(tmp))
    elapsed = time.perf_counter() - started
    report = {"machine": machine_facts(), "plan": {**plan.__dict__, "estimate_s": estimates},
              "load_average": {"start": load_start, "end": load_average()}, "elapsed_s": round(elapsed, 1),
              "orchestrator_peak_mib": own_peak_mib(), **result}
    print(format_table(result["rows"]))
    print(format_embedding(result["embedding"]) if "embedding" in plan.scenarios else "")
    print(f"load average at start {load_start}, at end {report['load_average']['end']}; "
          f"elapsed {elapsed / 60:.1f} min (estimated {total / 60:.0f} min)")
    write_json_atomic(args.out, report)
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
