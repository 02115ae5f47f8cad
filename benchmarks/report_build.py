"""Time the report built from stored results, next to the stages that feed it.

    python -m benchmarks.report_build --corpus ../shared/data/20newsgroups.parquet \
        --embeddings ../shared/data/20newsgroups_minilm.npy --store /tmp/report_bench

First it materializes every stage (a cache hit when the store already holds them), then it builds
the report from the published outputs in a fresh process (``topic-pipeline report``'s code path),
``--repeat`` times, and prints wall and CPU seconds of each build, the file size and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BUILD = """
import json, resource, sys, time
from pathlib import Path
from topic_pipeline.params import parse_params
from topic_pipeline.pipeline.report import write_report
from topic_pipeline.pipeline.store import StageStore
params = parse_params(json.loads(sys.argv[1]))
started, cpu = time.perf_counter(), time.process_time()
path = write_report(StageStore(sys.argv[2]), params, Path(sys.argv[3]))
print(json.dumps({"wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "size_mib": path.stat().st_size / 2**20}))
"""


def sections(corpus: Path, embeddings: Path) -> dict:
    """The shipped params' departures from the defaults, without the aspects (they embed with a model)."""
    return {"corpus": {"source": str(corpus), "inbox": None}, "embedding": {"precomputed": str(embeddings)},
            "vectorizer": {"stop_words": "english"}}


def materialize(values: dict, store: Path) -> dict[str, float]:
    from topic_pipeline.params import parse_params
    from topic_pipeline.pipeline.runner import materialize_stage
    from topic_pipeline.pipeline.stages import STAGES
    from topic_pipeline.pipeline.store import StageStore

    params, seconds = parse_params(values), {}
    for name in STAGES:
        outcome = materialize_stage(name, params, StageStore(store), run_id=f"bench-{time.time_ns()}")
        seconds[name] = round(outcome.seconds, 2) if outcome.computed else 0.0
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--embeddings", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    values = sections(args.corpus.resolve(), args.embeddings.resolve())
    stages = materialize(values, args.store)
    builds = []
    for index in range(args.repeat):
        out = args.store / f"bench-report-{index}.html"
        result = subprocess.run([sys.executable, "-c", BUILD, json.dumps(values), str(args.store), str(out)],
                                check=True, capture_output=True, text=True)
        builds.append(json.loads(result.stdout.strip().splitlines()[-1]))
    print(json.dumps({"stage_seconds_computed": stages, "report_builds": builds,
                      "load_average": os.getloadavg(),
                      "this_process_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, indent=1))


if __name__ == "__main__":
    main()
