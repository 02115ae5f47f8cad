"""Scale-out run: N documents through every stage with the store on S3 and embedding on a Dask cluster.

The store is an S3 bucket on a local S3 server (moto in server mode, its own process on
127.0.0.1, reached through s3fs exactly as AWS would be). The documents are sentences and sentence
pairs of the 20 Newsgroups posts in ``../shared/data`` (each keeps its post's timestamp and
newsgroup). They are embedded by ``embedding.backend: static`` (a model2vec distillation of
all-MiniLM-L6-v2; MiniLM itself embeds 15-30 documents/s here), fanned out in chunks over a Dask
cluster of two worker processes on 127.0.0.1 (``execution.dask_address``).

Every stage runs in a fresh process with a fresh, empty mirror, as it would on a machine of its own:
it reads its inputs from S3 and writes its output there. Wall time, CPU time (``wait4``) and peak
memory (the process's ``VmHWM``) are that stage's own; the Dask workers' peak is reported apart.
Run at several sizes, the peaks show how each stage's memory grows with N.

    python -m benchmarks.scale_out [--sizes 20000 60000 200000] [--out benchmarks/results/scale_out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from benchmarks.parity import CORPUS

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_DRIVER = """
import sys
from topic_pipeline.params import load_params
from topic_pipeline.pipeline.runner import finish_step, materialize_stage, new_ledger
from topic_pipeline.pipeline.stages import STAGES
from topic_pipeline.pipeline.store import StageStore
params = load_params(sys.argv[1])
store = StageStore.configured(params)
ledger = new_ledger(store, params, sys.argv[2], stages=list(STAGES))
outcome = materialize_stage(sys.argv[3], params, store, run_id=ledger.run_id, ledger=ledger)
finish_step(ledger, sys.argv[3])
high_water = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")]
print(outcome.metadata.get("rows"), high_water[0] if high_water else -1)
"""


def build_corpus(count: int, path: Path, seed: int = 0) -> Path:
    """``count`` distinct sentences (3 to 60 words) and pairs of consecutive ones, with their post's metadata."""
    posts = pd.read_parquet(CORPUS, columns=["text", "timestamp", "label"])
    rows, texts = [], []
    for row, text in enumerate(posts["text"]):
        sentences = [s for s in _SENTENCE.split(" ".join(text.split())) if 3 <= len(s.split()) <= 60]
        units = sentences + [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]
        rows += [row] * len(units)
        texts += units
    frame = pd.DataFrame({"row": rows, "text": texts}).drop_duplicates("text")
    if len(frame) < count:
        raise SystemExit(f"only {len(frame)} distinct texts available")
    frame = frame.sample(n=count, random_state=seed).sort_values("row")
    corpus = pd.DataFrame({"doc_id": [f"s{i}" for i in range(count)], "text": frame["text"].to_numpy(),
                           "timestamp": posts["timestamp"].to_numpy()[frame["row"]],
                           "label": posts["label"].to_numpy()[frame["row"]]})
    corpus.to_parquet(path)
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_s3_server() -> tuple[subprocess.Popen, dict[str, str]]:
    """moto's S3 server in its own process on 127.0.0.1; the AWS settings that reach it."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    os.environ.update(env)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, env
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("the S3 server did not start") from None
            time.sleep(0.2)


def run_stage(stage: str, params: Path, run_id: str, env: dict[str, str]) -> dict:
    """One stage in a fresh process; its own wall and CPU seconds and peak RSS (``VmHWM``).

    CPU seconds are the growth of this process's reaped-children times over the
    stage's process (the Dask workers are not children of it: their work is not counted).
    """
    started, before = time.perf_counter(), os.times()
    process = subprocess.Popen([sys.executable, "-c", _DRIVER, str(params), run_id, stage],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ | env)
    out, err = process.communicate()
    wall, after = time.perf_counter() - started, os.times()
    if process.returncode != 0:
        raise SystemExit(f"{stage} failed:\n{err[-3000:]}")
    rows, high_water_kib = out.strip().splitlines()[-1].split()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"stage": stage, "rows": rows, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "peak_rss_mib": round(int(high_water_kib) / 1024)}


def measure(count: int, folder: Path, client, address: str, env: dict[str, str]) -> dict:
    import boto3

    from topic_pipeline.pipeline.stages import STAGES

    bucket = f"scale-{count}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    corpus = build_corpus(count, folder / f"corpus-{count}.parquet")
    params = folder / f"params-{count}.yaml"
    params.write_text(yaml.safe_dump({
        "corpus": {"source": str(corpus), "inbox": None},
        "embedding": {"backend": "static"},
        "execution": {"dask_address": address, "embedding_chunk": 5_000},
        "over_time": {"nr_bins": 20},
        "store": {"root": f"s3://{bucket}/store"},
    }))
    results = []
    for stage in STAGES:
        item = run_stage(stage, params, f"scale-{count}", env | {"TOPIC_PIPELINE_STORE_MIRROR":
                                                                  str(folder / f"mirror-{count}-{stage}")})
        results.append(item)
        print(f"{count:>7} {stage:<22} wall {item['wall_s']:7.1f} s  cpu {item['cpu_s']:7.1f} s  "
              f"peak {item['peak_rss_mib']:6d} MiB", flush=True)
    workers = client.run(_peak_kib)
    import s3fs

    stored = s3fs.S3FileSystem().du(f"{bucket}/store")
    from topic_pipeline.pipeline.store import StageStore
    from topic_pipeline.pipeline.warehouse import query

    store = StageStore(f"s3://{bucket}/store", mirror=folder / f"mirror-{count}-query")
    topics = int(query(store, "SELECT count(*) AS n FROM topics")["n"].item())
    return {"documents": count, "topics": topics, "stages": results,
            "total_wall_s": round(sum(i["wall_s"] for i in results), 1),
            "total_cpu_s": round(sum(i["cpu_s"] for i in results), 1),
            "peak_rss_mib": max(i["peak_rss_mib"] for i in results),
            "dask_worker_peak_rss_mib": sorted(round(kib / 1024) for kib in workers.values()),
            "s3_bytes": int(stored), "load_average": os.getloadavg()}


def _peak_kib() -> int:
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 60_000, 200_000])
    parser.add_argument("--out", type=Path, default=None, help="write the measurements as JSON")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    server, env = start_s3_server()
    from distributed import Client, LocalCluster

    summaries = []
    try:
        with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp, \
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address=None) as cluster, Client(cluster) as client:
            for count in sorted(args.sizes):
                client.restart()  # each size's worker peak is its own
                summaries.append(measure(count, Path(tmp), client, cluster.scheduler_address, env))
                print(json.dumps({k: v for k, v in summaries[-1].items() if k != "stages"}), flush=True)
                if args.out:
                    args.out.write_text(json.dumps(summaries, indent=1))
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = {item["stage"]: [] for item in summaries[0]["stages"]}
    for summary in summaries:
        for item in summary["stages"]:
            rows[item["stage"]].append(f"{item['wall_s']:.0f} s / {item['peak_rss_mib']} MiB")
    print("| stage | " + " | ".join(f"{s['documents']:,}" for s in summaries) + " |")
    for stage, cells in rows.items():
        print(f"| {stage} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
