"""The embedding backends side by side on 20 Newsgroups: speed, agreement with torch, and topic quality.

    python -m benchmarks.embedding_backends [--texts 1000] [--out FILE.json] [--model-cache DIR] [--skip-topics]
                                            [--batch-size 32]

1. One-time cost: each derived model (ONNX export, its int8 copy, the model2vec
   distillation) built in a fresh process into an empty derived-models folder
   (a temporary one unless ``--model-cache`` is given), wall and CPU seconds.
2. Throughput: each backend embeds the first N posts (the texts as the
   documents stage gives them; each model truncates to its own limit, 256 tokens
   for MiniLM) in its own fresh process through ``embed_texts`` with the default
   params (``--batch-size`` sets ``embedding.batch_size``): documents/s and CPU
   seconds, model loading excluded and reported apart. Agreement with torch's
   vectors of the same texts: mean and min cosine (same width only), and the
   Spearman correlation of all pairwise similarities (any width: do the two
   backends find the same texts alike?).
3. Topics on all 18,846 posts: ``TopicModel().fit_transform(docs, embeddings=...)``
   with the precomputed MiniLM vectors, and with the static backend's vectors
   embedded from the raw texts in the same process ("raw text to topics" time).
   NMI of the topics against the newsgroups (outliers are one more label), NPMI
   and diversity from ``topic_quality``.

Every measurement runs in a subprocess of this module (``--worker``), so no
backend profits from another's imports or warm memory. The two topic fits share
numba's on-disk cache of UMAP's compiled code, filled by a small fit first.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SHARED_DATA = Path(os.environ.get("TOPIC_PIPELINE_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))
CORPUS = SHARED_DATA / "20newsgroups.parquet"
MINILM_VECTORS = SHARED_DATA / "20newsgroups_minilm.npy"
BACKENDS = ("torch", "onnx", "onnx_int8", "static")
DERIVED = ("onnx", "onnx_int8", "static")  # in this order: int8 is quantized from the onnx export
MODEL_CACHE_ENV = "TOPIC_PIPELINE_MODEL_CACHE"


# --- workers: each runs alone in a fresh process and prints one JSON line ------------------------------
def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def _posts(limit: int | None = None) -> pd.DataFrame:
    frame = pd.read_parquet(CORPUS, columns=["text", "label"])
    return frame if limit is None else frame.iloc[:limit]


def work_derive(backend: str) -> dict[str, Any]:
    """Build (or, if the folder already has it, just load) the derived model of ``backend``."""
    from topic_pipeline.params import EmbeddingParams
    from topic_pipeline.pipeline.embedding import load_embedding_model

    cache = Path(os.environ[MODEL_CACHE_ENV])
    before = len(list(cache.glob("*/derived.json")))
    started, cpu = time.perf_counter(), _cpu_seconds()
    load_embedding_model(EmbeddingParams(backend=backend))
    return {"seconds": time.perf_counter() - started, "cpu_seconds": _cpu_seconds() - cpu,
            "built": len(list(cache.glob("*/derived.json"))) > before}


def work_embed(backend: str, n_texts: int, vectors_out: Path, batch_size: int) -> dict[str, Any]:
    """Load ``backend``'s model, then embed the first ``n_texts`` posts; the vectors go to ``vectors_out``."""
    from topic_pipeline.params import EmbeddingParams
    from topic_pipeline.pipeline.embedding import embed_texts, load_embedding_model

    texts = _posts(n_texts)["text"].tolist()
    params = EmbeddingParams(backend=backend, batch_size=batch_size)
    started = time.perf_counter()
    model = load_embedding_model(params)
    loaded, cpu = time.perf_counter(), _cpu_seconds()
    vectors = embed_texts(texts, params, model=model)
    seconds, cpu_seconds = time.perf_counter() - loaded, _cpu_seconds() - cpu
    np.save(vectors_out, vectors)
    return {"texts": len(texts), "load_seconds": loaded - started, "seconds": seconds, "cpu_seconds": cpu_seconds,
            "docs_per_second": len(texts) / seconds, "width": int(vectors.shape[1])}


def work_topics(source: str) -> dict[str, Any]:
    """Topics of all posts from MiniLM's precomputed vectors (``minilm``) or from raw text (``static``).

    ``warmup`` fits the first 2,000 posts only, to fill numba's on-disk cache of UMAP's compiled code
    (``core/compiled_cache.py``): else the first of the two measured fits would also pay the compiling.
    """
    from topic_pipeline import TopicModel

    posts = _posts(2000 if source == "warmup" else None)
    docs, timings = posts["text"].tolist(), {}
    started = time.perf_counter()
    if source in ("minilm", "warmup"):
        vectors = np.load(MINILM_VECTORS, mmap_mode="r")[: len(docs)].copy()
    else:
        from topic_pipeline.params import EmbeddingParams
        from topic_pipeline.pipeline.embedding import embed_texts, load_embedding_model

        params = EmbeddingParams(backend="static")
        model = load_embedding_model(params)
        timings["load_seconds"] = time.perf_counter() - started
        vectors = embed_texts(docs, params, model=model)
        timings["embed_seconds"] = time.perf_counter() - started - timings["load_seconds"]
    fit_started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="benchmark-topics-") as store:
        topic_model = TopicModel(cache_dir=store)
        topics, _ = topic_model.fit_transform(docs, embeddings=vectors)
        timings["fit_seconds"] = time.perf_counter() - fit_started
        timings["raw_text_to_topics_seconds"] = time.perf_counter() - started
        quality = topic_model.topic_quality(docs)
    return timings | _topic_scores(posts["label"].to_numpy(), np.asarray(topics), quality)


def _topic_scores(labels: np.ndarray, topics: np.ndarray, quality: pd.DataFrame) -> dict[str, Any]:
    from sklearn.metrics import normalized_mutual_info_score

    overall = quality[quality["topic_id"].isna()].set_index("metric")["value"]
    return {"nmi": float(normalized_mutual_info_score(labels, topics)),  # -1 counts as one more label
            "npmi": float(overall["npmi"]), "diversity": float(overall["diversity"]),
            "topics": int(len(set(topics.tolist()) - {-1})), "outlier_share": float((topics == -1).mean())}


# --- the parent: runs the workers, compares, prints ----------------------------------------------------
def _run_worker(arguments: list[str], model_cache: Path, timeout: int = 3600) -> dict[str, Any]:
    env = os.environ | {MODEL_CACHE_ENV: str(model_cache), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "benchmarks.embedding_backends", "--worker", *arguments],
                          capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise RuntimeError(f"worker {arguments} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_one_time_costs(model_cache: Path) -> dict[str, Any]:
    return {backend: _run_worker(["derive", backend], model_cache) for backend in DERIVED}


def measure_throughput(n_texts: int, model_cache: Path, scratch: Path, batch_size: int) -> dict[str, Any]:
    """Each backend in its own process on the same texts, then each compared with torch's vectors."""
    results, vectors = {}, {}
    for backend in BACKENDS:
        path = scratch / f"{backend}.npy"
        results[backend] = _run_worker(["embed", backend, str(n_texts), str(path), str(batch_size)], model_cache)
        vectors[backend] = np.load(path)
    for backend in BACKENDS:
        results[backend] |= agreement_with(vectors["torch"], vectors[backend])
    return results


def agreement_with(reference: np.ndarray, vectors: np.ndarray) -> dict[str, float | None]:
    """Cosine per text (same width only) and the rank correlation of the two pairwise-similarity matrices."""
    from scipy.stats import spearmanr

    def unit(matrix: np.ndarray) -> np.ndarray:
        return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)

    a, b = unit(reference.astype(np.float64)), unit(vectors.astype(np.float64))
    upper = np.triu_indices(len(a), 1)
    rho = float(spearmanr((a @ a.T)[upper], (b @ b.T)[upper]).statistic)
    if a.shape[1] != b.shape[1]:
        return {"cosine_mean": None, "cosine_min": None, "pairwise_spearman": rho}
    cosine = (a * b).sum(axis=1)
    return {"cosine_mean": float(cosine.mean()), "cosine_min": float(cosine.min()), "pairwise_spearman": rho}


def measure_topics(model_cache: Path) -> dict[str, Any]:
    _run_worker(["topics", "warmup"], model_cache)
    return {source: _run_worker(["topics", source], model_cache) for source in ("minilm", "static")}


def _cell(value: Any, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(results: dict[str, Any]) -> str:
    """The results as plain-text tables, one per part."""
    lines = [f"Throughput on {results['texts']} posts, batch_size {results['batch_size']} (fresh process per "
             "backend, model loading excluded):",
             f"{'backend':<10} {'docs/s':>8} {'seconds':>8} {'CPU s':>7} {'load s':>7} {'width':>6} "
             f"{'cos mean':>9} {'cos min':>8} {'pairwise rho':>13} {'one-time s':>11}"]
    for backend, row in results["throughput"].items():
        once = results["one_time"].get(backend, {}).get("seconds")
        lines.append(f"{backend:<10} {row['docs_per_second']:>8.1f} {row['seconds']:>8.1f} {row['cpu_seconds']:>7.1f} "
                     f"{row['load_seconds']:>7.1f} {row['width']:>6} {_cell(row['cosine_mean'], 4):>9} "
                     f"{_cell(row['cosine_min'], 4):>8} {_cell(row['pairwise_spearman'], 3):>13} "
                     f"{_cell(once, 1):>11}")
    if results.get("topics"):
        lines += ["", "Topics on all 18,846 posts (TopicModel defaults):",
                  f"{'vectors':<8} {'NMI':>6} {'NPMI':>7} {'diversity':>10} {'topics':>7} {'outliers':>9} "
                  f"{'embed s':>8} {'fit s':>7} {'text->topics s':>15}"]
        for source, row in results["topics"].items():
            lines.append(f"{source:<8} {row['nmi']:>6.3f} {row['npmi']:>7.3f} {row['diversity']:>10.3f} "
                         f"{row['topics']:>7} {row['outlier_share']:>9.3f} {_cell(row.get('embed_seconds'), 1):>8} "
                         f"{row['fit_seconds']:>7.1f} {_cell(row.get('raw_text_to_topics_seconds'), 1):>15}")
        torch_rate = results["throughput"]["torch"]["docs_per_second"]
        minilm_fit = results["topics"]["minilm"]["fit_seconds"]
        lines.append(f"(MiniLM on torch, raw text to topics, estimated from its throughput: "
                     f"{18846 / torch_rate + minilm_fit:.0f} s)")
    return "\n".join(lines)


def run_benchmark(n_texts: int, model_cache: Path | None, with_topics: bool, batch_size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="benchmark-embedding-") as scratch:
        cache = model_cache or Path(scratch) / "derived_models"
        cache.mkdir(parents=True, exist_ok=True)
        results: dict[str, Any] = {"texts": n_texts, "batch_size": batch_size, "cpu_count": os.cpu_count()}
        results["one_time"] = measure_one_time_costs(cache)
        results["throughput"] = measure_throughput(n_texts, cache, Path(scratch), batch_size)
        results["topics"] = measure_topics(cache) if with_topics else None
    return results


def _worker_main(arguments: list[str]) -> None:
    kind, rest = arguments[0], arguments[1:]
    if kind == "derive":
        result = work_derive(rest[0])
    elif kind == "embed":
        result = work_embed(rest[0], int(rest[1]), Path(rest[2]), int(rest[3]))
    else:
        result = work_topics(rest[0])
    print(json.dumps(result))  # noqa: T201 - the worker's answer to its parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1000, help="posts for the throughput part (default 1000)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--model-cache", type=Path, help="derived-models folder to use (default: a fresh one)")
    parser.add_argument("--skip-topics", action="store_true", help="skip the topic-quality part (minutes)")
    parser.add_argument("--batch-size", type=int, default=32, help="embedding.batch_size (default 32, the params')")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker_main(args.worker)
        return
    results = run_benchmark(args.texts, args.model_cache, not args.skip_topics, args.batch_size)
    print(table(results))  # noqa: T201 - a benchmark prints its table
    if args.out:
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
