"""Load test: 100,000 short documents through every stage, each stage in its own process.

The documents are sentences of the 20 Newsgroups posts in ``../shared/data``
(each keeps its post's timestamp and newsgroup). Embedding 100,000 texts on 2
CPU cores would take over an hour, so each sentence gets its post's
all-MiniLM-L6-v2 vector plus a little noise (unit length): the topic
structure of real embeddings at the size of a large corpus.

Every stage runs in a fresh process under one run ledger, as Dagster's
multiprocess executor runs them, so the wall time, CPU time and peak memory
printed per stage are that stage's own. The run fails if any stage needs more
than ``--max-gib`` of memory (default 24, the CI machine's size).

    python -m benchmarks.load_test [--documents 100000] [--out load_test.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from benchmarks.parity import CORPUS, EMBEDDINGS

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_DRIVER = """
import sys
from topic_pipeline.params import load_params
from topic_pipeline.pipeline.runner import finish_step, materialize_stage, new_ledger
from topic_pipeline.pipeline.stages import STAGES
from topic_pipeline.pipeline.store import StageStore
params = load_params(sys.argv[1])
store = StageStore(sys.argv[2])
ledger = new_ledger(store, params, sys.argv[3], stages=list(STAGES))
outcome = materialize_stage(sys.argv[4], params, store, run_id=ledger.run_id, ledger=ledger)
finish_step(ledger, sys.argv[4])
high_water = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")]
print(outcome.metadata.get("rows"), high_water[0] if high_water else -1)
"""


def build_corpus(count: int, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """``count`` sentences (5 to 40 words) with their post's timestamp and label, and their vectors."""
    posts = pd.read_parquet(CORPUS, columns=["text", "timestamp", "label"])
    vectors = np.load(EMBEDDINGS, mmap_mode="r")
    rows, sentences = [], []
    for row, text in enumerate(posts["text"]):
        for sentence in _SENTENCE.split(" ".join(text.split())):
            if 5 <= len(sentence.split()) <= 40:
                rows.append(row)
                sentences.append(sentence)
    if len(sentences) < count:
        raise SystemExit(f"only {len(sentences)} sentences available")
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(sentences), size=count, replace=False))
    source = np.asarray(rows)[pick]
    corpus = pd.DataFrame({
        "doc_id": [f"s{i}" for i in range(count)],
        "text": [sentences[i] for i in pick],
        "timestamp": posts["timestamp"].to_numpy()[source],
        "label": posts["label"].to_numpy()[source],
    })
    noisy = np.asarray(vectors[source], dtype=np.float32)
    noisy += rng.normal(scale=0.02, size=noisy.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    corpus_path, vectors_path = folder / "sentences.parquet", folder / "sentences.npy"
    corpus.to_parquet(corpus_path)
    np.save(vectors_path, noisy)
    return corpus_path, vectors_path


def run_stage(stage: str, params: Path, root: Path, run_id: str) -> dict:
    """One stage in a fresh process; its own wall and CPU seconds (``wait4``) and peak RSS.

    The peak is the process's own ``VmHWM`` (reset by exec): ``ru_maxrss`` of
    a child on Linux starts from the parent's size at fork.
    """
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", _DRIVER, str(params), str(root), run_id, stage],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    out, err = process.stdout.read(), process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{stage} failed:\n{err[-3000:]}")
    rows, high_water_kib = out.strip().splitlines()[-1].split()
    return {"stage": stage, "rows": rows, "wall_s": round(wall, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_rss_mib": round(int(high_water_kib) / 1024)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--max-gib", type=float, default=24.0)
    parser.add_argument("--out", type=Path, default=None, help="write the measurements as JSON")
    args = parser.parse_args()
    from topic_pipeline.pipeline.stages import STAGES

    with tempfile.TemporaryDirectory(prefix="load-test-") as tmp:
        folder = Path(tmp)
        corpus, vectors = build_corpus(args.documents, folder)
        params = folder / "params.yaml"
        params.write_text(yaml.safe_dump({
            "corpus": {"source": str(corpus), "inbox": None},
            "embedding": {"precomputed": str(vectors)},
        }))
        results = []
        for stage in STAGES:
            results.append(run_stage(stage, params, folder / "warehouse", "load-test"))
            item = results[-1]
            print(f"{item['stage']:<22} rows {item['rows']:>8}  wall {item['wall_s']:7.1f} s  "
                  f"cpu {item['cpu_s']:7.1f} s  peak {item['peak_rss_mib']:6d} MiB", flush=True)
        from topic_pipeline.pipeline.store import StageStore
        from topic_pipeline.pipeline.warehouse import query

        topics = query(StageStore(folder / "warehouse"), "SELECT count(*) AS n FROM topics")["n"].item()
    peak = max(item["peak_rss_mib"] for item in results)
    summary = {"documents": args.documents, "topics": int(topics), "stages": results,
               "total_wall_s": round(sum(i["wall_s"] for i in results), 1),
               "total_cpu_s": round(sum(i["cpu_s"] for i in results), 1),
               "peak_rss_mib": peak, "load_average": os.getloadavg()}
    print(f"{args.documents} documents, {topics} topics: {summary['total_wall_s']} s wall, "
          f"{summary['total_cpu_s']} CPU s, peak {peak} MiB, load average {summary['load_average']}")
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1))
    return 0 if peak <= args.max_gib * 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
