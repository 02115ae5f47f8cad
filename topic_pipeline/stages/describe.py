"""Steps that describe the fitted topics: words, names, representative documents, hierarchy,
topics over time and per class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topic_pipeline import artifacts, plots
from topic_pipeline.fitted_topics import main_words_and_aspects
from topic_pipeline.hierarchy import HIERARCHY_COLUMNS, build_hierarchy, topic_tree
from topic_pipeline.over_time import bin_timestamps, topics_per_group
from topic_pipeline.params import VectorizerParams
from topic_pipeline.representation import representative_documents, topic_name
from topic_pipeline.stages.base import PrepareContext, StepContext
from topic_pipeline.topics import topic_sizes
from topic_pipeline.vectorize import TopicBags, make_vectorizer


def compute_representations(ctx: StepContext) -> dict[str, Any]:
    from topic_pipeline.stages.model import sentence_encoder

    settings = ctx.params.representation
    bags_dir, weights_dir = ctx.input_dir("vectorized_bags"), ctx.input_dir("ctfidf")
    bags = TopicBags(
        topic_ids=np.asarray(artifacts.read_array(bags_dir, "topic_ids")),
        vocabulary=artifacts.read_table(bags_dir, "vocabulary")["term"].to_numpy(),
        topic_term_counts=artifacts.read_sparse(bags_dir, "topic_term_counts"),
        doc_term_counts=artifacts.read_sparse(bags_dir, "doc_term_counts"),
    )
    topic_ids = bags.topic_ids
    weights = artifacts.read_sparse(weights_dir, "ctfidf")
    idf = np.asarray(artifacts.read_array(weights_dir, "idf"))
    reduce_frequent_words = ctx.input_params("ctfidf")["reduce_frequent_words"]
    docs = ctx.read_table("documents", "documents", ["doc_id", "text"])
    topics = ctx.read_table("topic_assignments", "topic_assignments", ["topic_id"])["topic_id"].to_numpy()
    # vectors of the embedding model itself; precomputed ones may come from another model, so
    # representative documents are embedded again then (as BERTopic's update_topics does)
    same_model = settings.aspects and ctx.params.embedding.precomputed is None
    embeddings = ctx.read_vectors("embeddings", "embeddings") if same_model else None
    main, aspects = main_words_and_aspects(
        weights, bags, idf, topics, docs["text"].tolist(), settings, reduce_frequent_words=reduce_frequent_words,
        embed=sentence_encoder(ctx.params.embedding) if settings.aspects else None, embeddings=embeddings)
    words = [main[int(t)] for t in topic_ids]
    representative = representative_documents(
        topics,
        topic_ids,
        bags.doc_term_counts,
        weights,
        idf,
        reduce_frequent_words=reduce_frequent_words,
        n_samples=settings.nr_repr_samples,
        n_docs=settings.nr_repr_docs,
    )
    sizes = topic_sizes(topics)
    assignments_dir = ctx.input_dir("topic_assignments")
    zeroshot_names = {}  # zero-shot topics are named by their zeroshot_topic_list entry, as in BERTopic
    if (assignments_dir / "zeroshot_topics.parquet").exists():
        names = artifacts.read_table(assignments_dir, "zeroshot_topics")
        zeroshot_names = dict(zip(names["topic_id"].astype(int), names["name"].astype(str), strict=True))
    topic_rows = pd.DataFrame(
        {
            "topic_id": topic_ids,
            "size": [sizes[int(t)] for t in topic_ids],
            "name": [zeroshot_names.get(int(t)) or topic_name(int(t), w, settings.name_words)
                     for t, w in zip(topic_ids, words, strict=True)],
            "representation": [[word for word, _ in w] for w in words],
            "representative_docs": [docs["text"].iloc[representative[int(t)]].tolist() for t in topic_ids],
            "representative_doc_ids": [docs["doc_id"].iloc[representative[int(t)]].tolist() for t in topic_ids],
            "representative_rows": [representative[int(t)] for t in topic_ids],
        }
    )
    term_rows = pd.DataFrame(
        [(int(t), aspect, rank, word, weight)
         for aspect, by_topic in {"Main": dict(zip(topic_ids.tolist(), words, strict=True)), **aspects}.items()
         for t, w in by_topic.items() for rank, (word, weight) in enumerate(w)],
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
        "aspects": ", ".join(["Main", *aspects]),
        "preview_md": artifacts.markdown_table(preview, 15),
        "topic_words_plot_file": "topic_words.html",
        "topic_sizes_plot_file": "topic_sizes.html",
    }


def compute_hierarchy(ctx: StepContext) -> dict[str, Any]:
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


def prepare_over_time(ctx: PrepareContext) -> tuple[str, Path | None]:
    """In a partitioned run, the previous window's output feeds evolution tuning."""
    if ctx.window is None or not ctx.params.over_time.evolution_tuning:
        return "", None
    earlier = {k: v for k, v in ctx.ledger.visible_partitions("topics_over_time").items() if k < ctx.window.key}
    if not earlier:
        return "", None
    key = earlier[max(earlier)]
    ctx.ledger.protect("topics_over_time", key)
    return f"previous:{key}", ctx.store.output_dir("topics_over_time", key)


def compute_over_time(ctx: StepContext) -> dict[str, Any]:
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


def compute_per_class(ctx: StepContext) -> dict[str, Any]:
    docs = ctx.read_table("documents", "documents", ["doc_id", "text", "label"])
    labels = docs["label"].astype(object).where(docs["label"].notna(), None)
    table, _ = _grouped_topics(ctx, docs, labels, evolution_tuning=False)
    table = table.rename(columns={"group": "class"})
    table["class"] = table["class"].astype(str)
    artifacts.write_table(ctx.out, "topics_per_class", table)
    return {"rows": len(table), "classes": int(table["class"].nunique()),
            "preview_md": artifacts.markdown_table(table.sort_values("frequency", ascending=False), 10)}
