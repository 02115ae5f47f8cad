"""The stage graph: what each stage reads, which params section it owns, how it runs.

Each step loads its inputs from the store, calls the pure stage function and
writes its files into the output folder it is given; ``runner`` decides whether
a step runs at all. A step returns metadata (row counts, a markdown preview)
that is kept in the output's manifest and shown by Dagster.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topic_pipeline import artifacts, plots, warehouse
from topic_pipeline.clustering import cluster_embeddings
from topic_pipeline.corpus import LoadedDocuments, load_documents, source_signature
from topic_pipeline.ctfidf import ctfidf_transform, fit_idf
from topic_pipeline.hierarchy import HIERARCHY_COLUMNS, build_hierarchy, topic_tree
from topic_pipeline.embedding import embed_texts, file_digest, load_precomputed, model_cache_key
from topic_pipeline.over_time import bin_timestamps, topics_per_group
from topic_pipeline.params import PipelineParams, VectorizerParams
from topic_pipeline.vectorize import make_vectorizer, vectorize_topics
from topic_pipeline.reduction import reduce_embeddings
from topic_pipeline.representation import representative_documents, top_words, topic_name
from topic_pipeline.errors import StageInputError
from topic_pipeline.store import MANIFEST, StageStore
from topic_pipeline.topics import sort_topics_by_size, topic_sizes


@dataclass(frozen=True)
class TimeWindow:
    """One time-window partition: documents with start <= time < end."""

    key: str
    start: pd.Timestamp
    end: pd.Timestamp


@dataclass(frozen=True)
class PrepareContext:
    """What a stage's ``prepare`` sees before the cache lookup."""

    params: PipelineParams
    store: StageStore
    window: TimeWindow | None
    inbox_file: str | None


@dataclass
class StepContext:
    """Everything a step may use: its params, its inputs' folders, its output folder.

    An input is a list of folders: one, or every partition of a partitioned
    input read by a global stage (in partition order).
    """

    params: PipelineParams
    inputs: dict[str, list[Path]]
    out: Path
    store: StageStore
    log: logging.Logger
    prepared: Any = None
    window: TimeWindow | None = None

    def input_dir(self, stage: str) -> Path:
        folders = self.inputs[stage]
        if len(folders) != 1:
            raise StageInputError(f"Input '{stage}' has {len(folders)} partitions where one output was expected.")
        return folders[0]

    def read_table(self, stage: str, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A table of an input, all its partitions concatenated."""
        frames = [artifacts.read_table(folder, name, columns) for folder in self.inputs[stage]]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def read_vectors(self, stage: str, name: str) -> np.ndarray:
        parts = [artifacts.read_vectors(folder, name) for folder in self.inputs[stage]]
        return np.vstack(parts) if len(parts) > 1 else parts[0]

    def shared_plotly_js(self) -> str:
        """URL of the store's one copy of plotly.js, relative to an output folder (<root>/<stage>/<key>/)."""
        plots.write_plotly_js(self.store.root / "_static" / "plotly.min.js")
        return "../../_static/plotly.min.js"

    def input_params(self, stage: str) -> dict[str, Any]:
        """The params an input was computed with (from its manifest), not today's file."""
        return json.loads((self.inputs[stage][0] / MANIFEST).read_text())["params"]


@dataclass(frozen=True)
class Stage:
    """One node of the graph.

    ``prepare`` runs before the cache lookup and returns extra key material
    (e.g. a digest of the corpus content) plus state handed to ``compute``.
    ``on_reuse`` runs when the stored output is reused (the warehouse rebuilds
    its DuckDB file from the stored view definitions). ``partitioned`` stages
    are split by time window when ``partitions.granularity`` is set.
    """

    name: str
    section: str | None
    inputs: tuple[str, ...]
    compute: Callable[[StepContext], dict[str, Any]]
    description: str
    revision: int = 1
    prepare: Callable[[PrepareContext], tuple[str, Any]] | None = None
    on_reuse: Callable[[StepContext], None] | None = None
    partitioned: bool = False


# --- documents ----------------------------------------------------------------------
_LOADED: dict[tuple, LoadedDocuments] = {}


def _load_documents_once(ctx: PrepareContext) -> LoadedDocuments:
    """Read corpus and inbox once per process and file state (a backfill visits many windows)."""
    memo_key = (ctx.params.corpus, source_signature(ctx.params.corpus), ctx.inbox_file)
    if memo_key not in _LOADED:
        _LOADED.clear()
        _LOADED[memo_key] = load_documents(ctx.params.corpus, required_file=Path(ctx.inbox_file) if ctx.inbox_file else None)
    return _LOADED[memo_key]


def _prepare_documents(ctx: PrepareContext) -> tuple[str, LoadedDocuments]:
    loaded = _load_documents_once(ctx)
    if ctx.window is not None:
        loaded = LoadedDocuments(
            _in_window(loaded.documents, ctx.window), _in_window(loaded.links, ctx.window), loaded.skipped_files
        )
    digest = hashlib.blake2b(digest_size=16)
    for frame in (loaded.documents, loaded.links):
        digest.update(pd.util.hash_pandas_object(frame.drop(columns=["ingested_at"]), index=False).to_numpy().tobytes())
    return digest.hexdigest(), loaded


def _in_window(frame: pd.DataFrame, window: TimeWindow) -> pd.DataFrame:
    """Rows whose timestamp (or, without one, ingest time) falls in the window."""
    when = frame["timestamp"].fillna(frame["ingested_at"])
    return frame.loc[(when >= window.start) & (when < window.end)].reset_index(drop=True)


def _compute_documents(ctx: StepContext) -> dict[str, Any]:
    loaded: LoadedDocuments = ctx.prepared
    frame = loaded.documents
    for path, problem in loaded.skipped_files.items():
        ctx.log.warning("Skipped inbox file %s: %s", path, problem)
    artifacts.write_table(ctx.out, "documents", frame)
    artifacts.write_table(ctx.out, "links", loaded.links)
    return {
        "rows": len(frame),
        "unique_texts": int(frame["doc_hash"].nunique()),
        "linked_repeats": len(loaded.links),
        "skipped_inbox_files": len(loaded.skipped_files),
        "with_timestamp": int(frame["timestamp"].notna().sum()),
        "labels": int(frame["label"].nunique()),
        "preview_md": artifacts.markdown_table(frame[["doc_id", "label", "text"]], 5),
    }


# --- embeddings ---------------------------------------------------------------------
def _prepare_embeddings(ctx: PrepareContext) -> tuple[str, None]:
    settings = ctx.params.embedding
    if settings.precomputed:
        return "precomputed:" + file_digest(Path(settings.precomputed)), None
    return "model:" + model_cache_key(settings), None


def _compute_embeddings(ctx: StepContext) -> dict[str, Any]:
    docs = ctx.read_table("documents", "documents", ["doc_id", "doc_hash", "text"])
    settings = ctx.params.embedding
    if settings.precomputed:
        vectors = load_precomputed(
            Path(settings.precomputed), docs["doc_id"].tolist(), allow_prefix=ctx.input_params("documents")["limit"] is not None
        )
        newly_embedded = 0
    else:
        vectors, newly_embedded = _embed_with_cache(docs, ctx)
    artifacts.write_vectors(ctx.out, "embeddings", docs["doc_id"], vectors, doc_hash=docs["doc_hash"])
    return {
        "rows": len(docs),
        "dimensions": int(vectors.shape[1]),
        "newly_embedded": newly_embedded,
        "source": settings.precomputed or settings.model,
    }


def _embed_with_cache(docs: pd.DataFrame, ctx: StepContext) -> tuple[np.ndarray, int]:
    """Look every text up in the per-document cache; embed (and cache) only the missing ones."""
    model_key = model_cache_key(ctx.params.embedding)
    cached_hashes, cached_vectors = ctx.store.cached_embeddings(model_key)
    position = {doc_hash: row for row, doc_hash in enumerate(cached_hashes)}
    unique = docs.drop_duplicates("doc_hash")
    missing = unique.loc[~unique["doc_hash"].isin(position)]
    ctx.log.info(
        "Embedding: %d documents, %d distinct texts, %d already cached, %d to embed",
        len(docs), len(unique), len(unique) - len(missing), len(missing),
    )
    new_vectors = None
    if len(missing):
        from tqdm.auto import tqdm

        started = time.monotonic()
        hashes = missing["doc_hash"].tolist()
        bar = tqdm(total=len(hashes), desc="embedding", unit="doc", disable=not _is_terminal())

        def keep_chunk(start: int, vectors: np.ndarray) -> None:
            ctx.store.add_embeddings(model_key, hashes[start : start + len(vectors)], vectors)
            done = start + len(vectors)
            bar.update(len(vectors))
            rate = done / max(time.monotonic() - started, 1e-9)
            ctx.log.info("Embedded %d/%d documents (%.1f docs/s)", done, len(hashes), rate)

        with bar:
            new_vectors = embed_texts(missing["text"].tolist(), ctx.params.embedding, on_chunk=keep_chunk)
    offset = len(cached_hashes)
    position |= {doc_hash: offset + row for row, doc_hash in enumerate(missing["doc_hash"])}
    parts = [p for p in (cached_vectors, new_vectors) if p is not None]
    pool = np.vstack(parts) if len(parts) > 1 else parts[0]
    return pool[[position[h] for h in docs["doc_hash"]]], len(missing)


def _is_terminal() -> bool:
    """Progress bars only on a terminal; Dagster's logs carry progress everywhere else."""
    return sys.stderr.isatty()


# --- reduction, clustering, topic ids ---------------------------------------------------
def _compute_reduced(ctx: StepContext) -> dict[str, Any]:
    doc_ids = ctx.read_table("embeddings", "embeddings", ["doc_id"])["doc_id"]
    embeddings = ctx.read_vectors("embeddings", "embeddings")
    reduced = reduce_embeddings(embeddings, ctx.params.reduction)
    artifacts.write_vectors(ctx.out, "reduced_embeddings", doc_ids, reduced)
    return {"rows": len(reduced), "dimensions": int(reduced.shape[1])}


def _compute_clusters(ctx: StepContext) -> dict[str, Any]:
    doc_ids = ctx.read_table("reduced_embeddings", "reduced_embeddings", ["doc_id"])["doc_id"]
    reduced = ctx.read_vectors("reduced_embeddings", "reduced_embeddings")
    labels, probabilities = cluster_embeddings(reduced, ctx.params.clustering)
    artifacts.write_table(ctx.out, "clusters", pd.DataFrame({"doc_id": doc_ids, "cluster": labels, "probability": probabilities}))
    return {
        "rows": len(labels),
        "clusters": int(len(set(labels.tolist()) - {-1})),
        "outliers": int((labels == -1).sum()),
    }


def _compute_topic_assignments(ctx: StepContext) -> dict[str, Any]:
    clusters = ctx.read_table("clusters", "clusters")
    topics, mapping = sort_topics_by_size(clusters["cluster"].to_numpy())
    assigned = pd.DataFrame(
        {"doc_id": clusters["doc_id"], "topic_id": topics, "probability": clusters["probability"], "cluster": clusters["cluster"]}
    )
    artifacts.write_table(ctx.out, "topic_assignments", assigned)
    sizes = topic_sizes(topics)
    size_table = pd.DataFrame({"topic_id": list(sizes), "size": list(sizes.values())})
    return {
        "rows": len(assigned),
        "topics": int(len([t for t in sizes if t != -1])),
        "outliers": int(sizes.get(-1, 0)),
        "preview_md": artifacts.markdown_table(size_table.sort_values("size", ascending=False), 10),
    }


# --- bag of words, c-TF-IDF, representations ---------------------------------------------
def _compute_bags(ctx: StepContext) -> dict[str, Any]:
    texts = ctx.read_table("documents", "documents", ["text"])["text"].tolist()
    topics = ctx.read_table("topic_assignments", "topic_assignments", ["topic_id"])["topic_id"].to_numpy()
    bags = vectorize_topics(texts, topics, ctx.params.vectorizer)
    artifacts.write_array(ctx.out, "topic_ids", bags.topic_ids)
    artifacts.write_table(ctx.out, "vocabulary", pd.DataFrame({"term": bags.vocabulary.astype(str)}))
    artifacts.write_sparse(ctx.out, "topic_term_counts", bags.topic_term_counts)
    artifacts.write_sparse(ctx.out, "doc_term_counts", bags.doc_term_counts)
    return {"rows": int(bags.topic_term_counts.shape[0]), "terms": int(len(bags.vocabulary))}


def _compute_ctfidf(ctx: StepContext) -> dict[str, Any]:
    bags = ctx.input_dir("vectorized_bags")
    counts = artifacts.read_sparse(bags, "topic_term_counts")
    vocabulary = artifacts.read_table(bags, "vocabulary")["term"].to_numpy()
    idf = fit_idf(counts, vocabulary, ctx.params.ctfidf)
    weights = ctfidf_transform(counts, idf, reduce_frequent_words=ctx.params.ctfidf.reduce_frequent_words)
    artifacts.write_array(ctx.out, "idf", idf)
    artifacts.write_sparse(ctx.out, "ctfidf", weights)
    return {"rows": int(weights.shape[0]), "terms": int(weights.shape[1]), "nonzero": int(weights.nnz)}


def _compute_representations(ctx: StepContext) -> dict[str, Any]:
    settings = ctx.params.representation
    bags, weights_dir = ctx.input_dir("vectorized_bags"), ctx.input_dir("ctfidf")
    topic_ids = np.asarray(artifacts.read_array(bags, "topic_ids"))
    vocabulary = artifacts.read_table(bags, "vocabulary")["term"].to_numpy()
    weights = artifacts.read_sparse(weights_dir, "ctfidf")
    docs = ctx.read_table("documents", "documents", ["doc_id", "text"])
    topics = ctx.read_table("topic_assignments", "topic_assignments", ["topic_id"])["topic_id"].to_numpy()
    words = top_words(weights, vocabulary, settings.top_n_words)
    representative = representative_documents(
        topics,
        topic_ids,
        artifacts.read_sparse(bags, "doc_term_counts"),
        weights,
        np.asarray(artifacts.read_array(weights_dir, "idf")),
        reduce_frequent_words=ctx.input_params("ctfidf")["reduce_frequent_words"],
        n_samples=settings.nr_repr_samples,
        n_docs=settings.nr_repr_docs,
    )
    sizes = topic_sizes(topics)
    topic_rows = pd.DataFrame(
        {
            "topic_id": topic_ids,
            "size": [sizes[int(t)] for t in topic_ids],
            "name": [topic_name(int(t), w, settings.name_words) for t, w in zip(topic_ids, words, strict=True)],
            "representation": [[word for word, _ in w] for w in words],
            "representative_docs": [docs["text"].iloc[representative[int(t)]].tolist() for t in topic_ids],
            "representative_doc_ids": [docs["doc_id"].iloc[representative[int(t)]].tolist() for t in topic_ids],
        }
    )
    term_rows = pd.DataFrame(
        [(int(t), "Main", rank, word, weight) for t, w in zip(topic_ids, words, strict=True) for rank, (word, weight) in enumerate(w)],
        columns=["topic_id", "aspect", "rank", "term", "weight"],
    )
    artifacts.write_table(ctx.out, "topics", topic_rows)
    artifacts.write_table(ctx.out, "topic_terms", term_rows)
    plotly_js = ctx.shared_plotly_js()
    plots.write_html(plots.topic_words_figure(term_rows, topic_rows), ctx.out / "topic_words.html", plotly_js=plotly_js)
    plots.write_html(plots.topic_sizes_figure(topic_rows), ctx.out / "topic_sizes.html", plotly_js=plotly_js)
    preview = topic_rows[["topic_id", "size", "name"]]
    return {
        "rows": len(topic_rows),
        "term_rows": len(term_rows),
        "preview_md": artifacts.markdown_table(preview, 15),
        "topic_words_plot_file": "topic_words.html",
        "topic_sizes_plot_file": "topic_sizes.html",
    }


# --- hierarchy --------------------------------------------------------------------------
def _compute_hierarchy(ctx: StepContext) -> dict[str, Any]:
    settings = ctx.params.hierarchy
    bags, weights_dir = ctx.input_dir("vectorized_bags"), ctx.input_dir("ctfidf")
    topic_ids = np.asarray(artifacts.read_array(bags, "topic_ids"))
    if (topic_ids != -1).sum() < 2:
        ctx.log.warning("topic_hierarchy: fewer than 2 topics, the hierarchy is empty")
        artifacts.write_table(ctx.out, "topic_hierarchy", pd.DataFrame(columns=list(HIERARCHY_COLUMNS)))
        return {"rows": 0}
    tree = build_hierarchy(
        topic_ids,
        artifacts.read_sparse(bags, "topic_term_counts"),
        artifacts.read_sparse(weights_dir, "ctfidf"),
        np.asarray(artifacts.read_array(weights_dir, "idf")),
        artifacts.read_table(bags, "vocabulary")["term"].to_numpy(),
        reduce_frequent_words=ctx.input_params("ctfidf")["reduce_frequent_words"],
        name_words=settings.name_words,
        method=settings.linkage,
    )
    artifacts.write_table(ctx.out, "topic_hierarchy", tree)
    text = topic_tree(tree)
    (ctx.out / "topic_tree.txt").write_text(text + "\n")
    shown = "\n".join(text.splitlines()[:40])
    return {"rows": len(tree), "tree_md": f"```\n{shown}\n```", "tree_file": "topic_tree.txt"}


# --- topics over time / per class ------------------------------------------------------------
def _grouped_topics(ctx: StepContext, docs: pd.DataFrame, groups: pd.Series, *, evolution_tuning: bool,
                    previous: dict[int, sp.csr_matrix] | None = None) -> tuple[pd.DataFrame, dict[int, sp.csr_matrix]]:
    """Shared by topics_over_time and topics_per_class: the fitted vocabulary and idf, per group.

    ``docs`` (doc_id, text) may be a subset of the modeled documents (one partition).
    Returns the table and the last group's tuned rows (for the next partition's evolution tuning).
    """
    settings = ctx.params.over_time
    bags, weights_dir = ctx.input_dir("vectorized_bags"), ctx.input_dir("ctfidf")
    vectorizer_params = VectorizerParams(**ctx.input_params("vectorized_bags"))
    vectorizer = make_vectorizer(vectorizer_params).set_params(
        vocabulary=artifacts.read_table(bags, "vocabulary")["term"].tolist()
    )
    assigned = ctx.read_table("topic_assignments", "topic_assignments", ["doc_id", "topic_id"])
    topics = assigned.set_index("doc_id")["topic_id"].loc[docs["doc_id"]].to_numpy()
    state = {"previous": previous or {}}
    table = topics_per_group(
        docs["text"].tolist(), topics, list(groups),
        vectorizer=vectorizer,
        language=vectorizer_params.language,
        idf=np.asarray(artifacts.read_array(weights_dir, "idf")),
        reduce_frequent_words=ctx.input_params("ctfidf")["reduce_frequent_words"],
        topic_ids=np.asarray(artifacts.read_array(bags, "topic_ids")),
        global_ctfidf=artifacts.read_sparse(weights_dir, "ctfidf"),
        global_tuning=settings.global_tuning,
        evolution_tuning=evolution_tuning,
        top_n_words=settings.top_n_words,
        state=state,
    )
    return table, state["previous"]


def _prepare_over_time(ctx: PrepareContext) -> tuple[str, Path | None]:
    """In a partitioned run, the previous window's output feeds evolution tuning."""
    if ctx.window is None or not ctx.params.over_time.evolution_tuning:
        return "", None
    earlier = {k: v for k, v in ctx.store.current_partitions("topics_over_time").items() if k < ctx.window.key}
    if not earlier:
        return "", None
    key = earlier[max(earlier)]
    return f"previous:{key}", ctx.store.output_dir("topics_over_time", key)


def _compute_over_time(ctx: StepContext) -> dict[str, Any]:
    settings = ctx.params.over_time
    docs = ctx.read_table("documents", "documents", ["doc_id", "text", "timestamp", "ingested_at"])
    if ctx.window is not None:  # one bin: the partition's window
        bins = pd.Series(ctx.window.start, index=docs.index)
        undated = 0
    else:
        undated = int(docs["timestamp"].isna().sum())
        if undated:
            ctx.log.info("topics_over_time: %d documents without a timestamp are left out", undated)
        bins = bin_timestamps(docs["timestamp"], settings.nr_bins) if undated < len(docs) else docs["timestamp"]
    previous = _read_tuned_rows(ctx.prepared) if ctx.prepared is not None else None
    table, last_rows = _grouped_topics(ctx, docs, bins, evolution_tuning=settings.evolution_tuning, previous=previous)
    table = table.rename(columns={"group": "timestamp"})
    table["timestamp"] = pd.to_datetime(table["timestamp"], utc=True)
    artifacts.write_table(ctx.out, "topics_over_time", table)
    _write_tuned_rows(ctx.out, last_rows)
    return {"rows": len(table), "bins": int(table["timestamp"].nunique()), "undated_documents": undated,
            "preview_md": artifacts.markdown_table(table.sort_values("frequency", ascending=False), 10)}


def _write_tuned_rows(folder: Path, rows: dict[int, sp.csr_matrix]) -> None:
    topics = np.array(sorted(rows), dtype=np.int64)
    artifacts.write_array(folder, "last_bin_topics", topics)
    if len(topics):
        artifacts.write_sparse(folder, "last_bin_rows", sp.vstack([rows[int(t)] for t in topics]))


def _read_tuned_rows(folder: Path) -> dict[int, sp.csr_matrix]:
    topics = np.asarray(artifacts.read_array(folder, "last_bin_topics"))
    if not len(topics):
        return {}
    matrix = artifacts.read_sparse(folder, "last_bin_rows")
    return {int(t): matrix[i] for i, t in enumerate(topics)}


def _compute_per_class(ctx: StepContext) -> dict[str, Any]:
    docs = ctx.read_table("documents", "documents", ["doc_id", "text", "label"])
    labels = docs["label"].astype(object).where(docs["label"].notna(), None)
    table, _ = _grouped_topics(ctx, docs, labels, evolution_tuning=False)
    table = table.rename(columns={"group": "class"})
    table["class"] = table["class"].astype(str)
    artifacts.write_table(ctx.out, "topics_per_class", table)
    return {"rows": len(table), "classes": int(table["class"].nunique()),
            "preview_md": artifacts.markdown_table(table.sort_values("frequency", ascending=False), 10)}


# --- warehouse --------------------------------------------------------------------------
def _compute_warehouse(ctx: StepContext) -> dict[str, Any]:
    statements = warehouse.view_statements(ctx.store, ctx.inputs)
    (ctx.out / "views.sql").write_text(";\n".join(statements) + ";\n")
    warehouse.build_database(ctx.store, statements)
    return {"views": len(statements), "database": str(warehouse.database_path(ctx.store))}


def _reuse_warehouse(ctx: StepContext) -> None:
    statements = [s for s in (ctx.out / "views.sql").read_text().split(";\n") if s.strip()]
    warehouse.build_database(ctx.store, statements)


STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage("documents", "corpus", (), _compute_documents,
              "The corpus and the inbox: doc_id, text, timestamp, label, doc_hash; repeated texts linked.",
              prepare=_prepare_documents, partitioned=True),
        Stage("embeddings", "embedding", ("documents",), _compute_embeddings,
              "One vector per document (sentence-transformers or precomputed), cached per text.",
              prepare=_prepare_embeddings, partitioned=True),
        Stage("reduced_embeddings", "reduction", ("embeddings",), _compute_reduced, "UMAP-reduced embeddings."),
        Stage("clusters", "clustering", ("reduced_embeddings",), _compute_clusters, "HDBSCAN clusters and membership strengths."),
        Stage("topic_assignments", "topics", ("clusters",), _compute_topic_assignments,
              "Topic per document; ids sorted by size, -1 = outliers."),
        Stage("vectorized_bags", "vectorizer", ("documents", "topic_assignments"), _compute_bags,
              "Vocabulary and term counts per topic and per document."),
        Stage("ctfidf", "ctfidf", ("vectorized_bags",), _compute_ctfidf, "Class-based TF-IDF weights and idf."),
        Stage("topic_representations", "representation", ("documents", "topic_assignments", "vectorized_bags", "ctfidf"),
              _compute_representations, "Top words, names and representative documents per topic."),
        Stage("topic_hierarchy", "hierarchy", ("vectorized_bags", "ctfidf"), _compute_hierarchy,
              "Merge tree of the topics: ward linkage on c-TF-IDF distances, merged topics named by their words."),
        Stage("topics_over_time", "over_time", ("documents", "topic_assignments", "vectorized_bags", "ctfidf"),
              _compute_over_time, "Topic words and frequencies per time bin (global and evolution tuning).",
              prepare=_prepare_over_time, partitioned=True),
        Stage("topics_per_class", "over_time", ("documents", "topic_assignments", "vectorized_bags", "ctfidf"),
              _compute_per_class, "Topic words and frequencies per document label (global tuning)."),
        Stage("warehouse", None, ("documents", "topic_assignments", "topic_representations", "topic_hierarchy",
                                  "topics_over_time", "topics_per_class"),
              _compute_warehouse,
              "DuckDB views over the current outputs.", on_reuse=_reuse_warehouse),
    )
}
