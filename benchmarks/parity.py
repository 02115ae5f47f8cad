"""Side-by-side parity of topic_pipeline and BERTopic 0.17.4 on 20 Newsgroups.

Both get the same texts, the same precomputed all-MiniLM-L6-v2 embeddings and
BERTopic's default parameters (UMAP random_state=42 on both sides). Prints the
adjusted Rand index of the document topics, whether topic ids agree (up to the
order of equal-sized topics), the largest c-TF-IDF difference and the top-word
agreement, plus wall time and peak memory of each side.

    python benchmarks/parity.py [--limit N]

The comparison helpers are also used by ``tests/pipeline/test_parity.py`` on a slice.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SHARED_DATA = Path(os.environ.get("TOPIC_PIPELINE_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
CORPUS = SHARED_DATA / "20newsgroups.parquet"
EMBEDDINGS = SHARED_DATA / "20newsgroups_minilm.npy"


@dataclass
class FittedTopics:
    """The comparable part of a fitted model."""

    topics: np.ndarray  # per document
    words: dict[int, list[tuple[str, float]]]  # topic -> top words with c-TF-IDF weights
    ctfidf_rows: dict[int, dict[str, float]]  # topic -> term -> weight (non-zero only)
    seconds: float
    model: Any = None  # the fitted BERTopic, or our StageStore


def fit_bertopic(texts: list[str], embeddings: np.ndarray, min_topic_size: int = 10) -> FittedTopics:
    from bertopic import BERTopic
    from umap import UMAP

    started = time.perf_counter()
    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False, random_state=42)
    model = BERTopic(umap_model=umap_model, min_topic_size=min_topic_size)
    topics, _ = model.fit_transform(texts, embeddings)
    seconds = time.perf_counter() - started
    vocabulary = model.vectorizer_model.get_feature_names_out()
    ids = sorted(set(topics))
    matrix = model.c_tf_idf_.tocsr()
    rows = {t: _sparse_row(matrix, row, vocabulary) for row, t in enumerate(ids)}
    words = {t: [(w, float(s)) for w, s in model.get_topic(t)] for t in ids}
    return FittedTopics(np.asarray(topics), words, rows, seconds, model)


def fit_ours(embeddings_path: Path, limit: int | None, root: Path, *, corpus_path: Path = CORPUS,
             **sections: dict) -> FittedTopics:
    """Run every stage in-process on a parquet slice (``corpus_path``, row-aligned with the embeddings)."""
    from topic_pipeline.params import parse_params
    from topic_pipeline.pipeline.runner import materialize_stage
    from topic_pipeline.pipeline.stage_outputs import (
        AssignmentsOutput,
        CtfidfOutput,
        RepresentationsOutput,
        VectorizedBagsOutput,
    )
    from topic_pipeline.pipeline.stages import STAGES
    from topic_pipeline.pipeline.store import StageStore

    params = parse_params(
        {"corpus": {"source": str(corpus_path), "limit": limit, "inbox": None}, "embedding": {"precomputed": str(embeddings_path)}, **sections}
    )
    store = StageStore(root)
    started = time.perf_counter()
    for name in STAGES:
        if name not in ("document_map", "topic_report"):  # figures: BERTopic's fit computes none of them
            materialize_stage(name, params, store, run_id="parity")
    seconds = time.perf_counter() - started
    topics = AssignmentsOutput(store.current_dir("topic_assignments")).read(["topic_id"])["topic_id"].to_numpy()
    bags = VectorizedBagsOutput(store.current_dir("vectorized_bags"))
    vocabulary = bags.vocabulary()
    matrix = CtfidfOutput(store.current_dir("ctfidf")).weights()
    rows = {int(t): _sparse_row(matrix, row, vocabulary) for row, t in enumerate(bags.topic_ids())}
    terms = RepresentationsOutput(store.current_dir("topic_representations")).terms()
    words = {int(t): list(zip(g["term"], g["weight"].astype(float), strict=True)) for t, g in terms.groupby("topic_id")}
    return FittedTopics(topics, words, rows, seconds, store)


def topic_id_mapping(ours: FittedTopics, theirs: FittedTopics) -> dict[int, int]:
    """Our topic id -> BERTopic's, matched by the documents they hold."""
    pairs = pd.crosstab(ours.topics, theirs.topics)
    return {int(o): int(pairs.loc[o].idxmax()) for o in pairs.index}


def _sparse_row(matrix, row: int, vocabulary) -> dict[str, float]:
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    return {str(vocabulary[c]): float(v) for c, v in zip(matrix.indices[start:end], matrix.data[start:end], strict=True)}


@dataclass
class Parity:
    ari: float
    same_ids_up_to_ties: bool
    max_ctfidf_difference: float
    max_top_word_weight_difference: float
    top_word_mismatches: list[str]
    n_topics: int


def compare(ours: FittedTopics, theirs: FittedTopics, top_n: int = 10) -> Parity:
    """Match topics by their documents and compare ids, c-TF-IDF rows and top words."""
    from sklearn.metrics import adjusted_rand_score

    ari = adjusted_rand_score(theirs.topics, ours.topics)
    matched = topic_id_mapping(ours, theirs)
    sizes = pd.Series(ours.topics).value_counts()
    same_ids = all(o == t or sizes.get(o) == sizes.get(t) for o, t in matched.items())
    max_ctfidf = 0.0
    max_word = 0.0
    mismatches: list[str] = []
    for o, t in matched.items():
        a, b = ours.ctfidf_rows[o], theirs.ctfidf_rows[t]
        if a.keys() != b.keys():
            mismatches.append(f"topic {o}: c-TF-IDF rows have different terms")
            continue
        max_ctfidf = max(max_ctfidf, max(abs(a[k] - b[k]) for k in a))
        ours_words, their_words = ours.words[o][:top_n], theirs.words[t][:top_n]
        for (wo, so), (wt, st) in zip(ours_words, their_words, strict=True):
            max_word = max(max_word, abs(so - st))
        # Words must agree except for the order of terms with equal weight.
        cut = their_words[-1][1]
        above = lambda words: {w for w, s in words if s > cut + 1e-12}  # noqa: E731
        if above(ours_words) != above(their_words) or any(abs(a.get(w, 0) - b.get(w, 0)) > 1e-9 for w, _ in ours_words if w):
            mismatches.append(f"topic {o}: {ours_words[:5]} vs {their_words[:5]}")
    return Parity(ari, same_ids, max_ctfidf, max_word, mismatches, len(matched))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N documents (default: all 18,846)")
    args = parser.parse_args()
    frame = pd.read_parquet(CORPUS, columns=["text"])
    n = args.limit or len(frame)
    texts = frame["text"].iloc[:n].tolist()
    embeddings = np.load(EMBEDDINGS)[:n]

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    theirs = fit_bertopic(texts, embeddings)
    peak_theirs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as root:
        ours = fit_ours(EMBEDDINGS, args.limit, Path(root))
        cached = time.perf_counter()
        fit_ours(EMBEDDINGS, args.limit, Path(root))
        rerun = time.perf_counter() - cached
    result = compare(ours, theirs)
    print(f"documents: {n}, topics: {result.n_topics}")
    print(f"ARI: {result.ari:.6f}; same topic ids up to equal-size ties: {result.same_ids_up_to_ties}")
    print(f"max |c-TF-IDF difference|: {result.max_ctfidf_difference:.3e}")
    print(f"max |top-word weight difference|: {result.max_top_word_weight_difference:.3e}")
    print(f"top-word mismatches: {len(result.top_word_mismatches)}", *result.top_word_mismatches[:5], sep="\n  ")
    print(f"BERTopic fit_transform: {theirs.seconds:.1f} s (peak RSS {peak_theirs / 1024:.0f} MiB, was {before / 1024:.0f})")
    print(f"topic_pipeline first run: {ours.seconds:.1f} s (ratio {ours.seconds / theirs.seconds:.2f}x)")
    print(f"topic_pipeline rerun, all cached: {rerun:.2f} s (ratio {rerun / theirs.seconds:.3f}x)")
    ok = result.ari == 1.0 and result.same_ids_up_to_ties and result.max_ctfidf_difference <= 1e-9 and not result.top_word_mismatches
    print("PARITY OK" if ok else "PARITY FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
