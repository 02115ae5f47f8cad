"""Steps that describe the fitted topics: words, names, representative documents, hierarchy,
topics over time and per class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topic_pipeline.core.hierarchy import HIERARCHY_COLUMNS, build_hierarchy, topic_tree
from topic_pipeline.core.over_time import bin_timestamps, topics_per_group
from topic_pipeline.core.quality import corpus_tokens, topic_quality
from topic_pipeline.core.term_sums import group_term_counts
from topic_pipeline.core.topic_ids import topic_sizes
from topic_pipeline.core.topic_words import representative_documents, topic_name
from topic_pipeline.core.vectorize import make_vectorizer
from topic_pipeline.params import VectorizerParams
from topic_pipeline.pipeline import outputs
from topic_pipeline.pipeline.stage_outputs import (
    AssignmentsOutput,
    CtfidfOutput,
    DocumentTermsOutput,
    HierarchyOutput,
    OverTimeOutput,
    PerClassOutput,
    RepresentationsOutput,
    VectorizedBagsOutput,
)
from topic_pipeline.pipeline.stages.base import PrepareContext, StepContext
from topic_pipeline.pipeline.stages.modeling import sentence_encoder
from topic_pipeline.plots import static_images
from topic_pipeline.representation.describe import main_words_and_aspects


def compute_representations(ctx: StepContext) -> dict[str, Any]:
    settings = ctx.params.representation
    bags = ctx.input(VectorizedBagsOutput).read()
    topic_ids = bags.topic_ids
    ctfidf = ctx.input(CtfidfOutput)
    weights, idf = ctfidf.weights(), ctfidf.idf()
    reduce_frequent_words = ctx.input_params("ctfidf")["reduce_frequent_words"]
    docs = ctx.documents(["doc_id", "text"])
    assignments = ctx.input(AssignmentsOutput)
    topics = assignments.read(["topic_id"])["topic_id"].to_numpy()
    # vectors of the embedding model itself; precomputed ones may come from another model, so
    # representative documents are embedded again then (as BERTopic's update_topics does)
    same_model = settings.aspects and ctx.params.embedding.precomputed is None
    embeddings = ctx.embedding_vectors() if same_model else None
    main, aspects = main_words_and_aspects(
        weights, bags, idf, topics, docs["text"].tolist(), settings, reduce_frequent_words=reduce_frequent_words,
        embed=sentence_encoder(ctx.params.embedding) if settings.aspects else None, embeddings=embeddings,
        vectorizer=VectorizerParams(**ctx.input_params("vectorized_bags")),
        trusted_modules=ctx.params.trust.trusted_modules)
    words = [main[int(t)] for t in topic_ids]
    representative = representative_documents(
        topics, topic_ids, bags.doc_term_counts, weights, idf, reduce_frequent_words=reduce_frequent_words,
        n_samples=settings.nr_repr_samples, n_docs=settings.nr_repr_docs)
    sizes = topic_sizes(topics)
    zeroshot_names = _zeroshot_names(assignments)
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
    quality = _quality(ctx, docs["text"].tolist(), topics, words) if settings.quality else NO_QUALITY
    out = RepresentationsOutput(ctx.out)
    out.write(topic_rows, term_rows, quality)
    return {
        "rows": len(topic_rows),
        "term_rows": len(term_rows),
        "aspects": ", ".join(["Main", *aspects]),
        "largest_topics_md": _largest_topics(topic_rows),
        **quality_metadata(quality),
        **(_write_pictures(out, term_rows, topic_rows) if settings.pictures else {}),
    }


NO_QUALITY = pd.DataFrame({"metric": pd.Series([], dtype=str), "topic_id": pd.Series([], dtype="Int64"),
                           "value": pd.Series([], dtype=float)})


def _quality(ctx: StepContext, texts: list[str], topics, words: list[list[tuple[str, float]]]) -> pd.DataFrame:
    """NPMI, diversity, outlier share and topic count of these topics on the corpus's own tokens."""
    vectorizer_params = VectorizerParams(**ctx.input_params("vectorized_bags"))
    top_words = {int(t): [word for word, _ in w] for t, w in zip(ctx.input(VectorizedBagsOutput).topic_ids(), words,
                                                                  strict=True)}
    return topic_quality(top_words, corpus_tokens(texts, make_vectorizer(vectorizer_params),
                                                  vectorizer_params.language), topics)


def quality_metadata(quality: pd.DataFrame) -> dict[str, float]:
    """The corpus-wide values as ``quality_<metric>`` (what the asset checks read)."""
    overall = quality.loc[quality["topic_id"].isna()]
    return {f"quality_{row.metric}": int(row.value) if row.metric == "topics" else float(row.value)
            for row in overall.itertuples() if row.value == row.value}  # NaN (no topic with two words): left out


def _largest_topics(topic_rows: pd.DataFrame, shown: int = 10) -> str:
    """The largest topics with their words, outliers last."""
    frame = topic_rows.assign(words=[", ".join(w for w in words if w) for words in topic_rows["representation"]])
    frame = frame.assign(outliers=frame["topic_id"] == -1).sort_values(["outliers", "size"], ascending=[True, False])
    return outputs.markdown_table(frame[["topic_id", "size", "name", "words"]], shown)


def _zeroshot_names(assignments: AssignmentsOutput) -> dict[int, str]:
    """Zero-shot topics are named by their zeroshot_topic_list entry, as in BERTopic."""
    names = assignments.zeroshot_topics()
    if names is None:
        return {}
    return dict(zip(names["topic_id"].astype(int), names["name"].astype(str), strict=True))


def _write_pictures(out: RepresentationsOutput, term_rows: pd.DataFrame, topic_rows: pd.DataFrame) -> dict[str, str]:
    """Small static pictures for the Dagster UI (the interactive figures are the report's)."""
    out.topic_words_image.write_bytes(static_images.topic_words_png(term_rows, topic_rows))
    out.topic_sizes_image.write_bytes(static_images.topic_sizes_png(topic_rows))
    return {"topic_words_image": out.topic_words_image.name, "topic_sizes_image": out.topic_sizes_image.name}


def compute_hierarchy(ctx: StepContext) -> dict[str, Any]:
    settings, out = ctx.params.hierarchy, HierarchyOutput(ctx.out)
    if not settings.enabled:
        out.write(pd.DataFrame(columns=list(HIERARCHY_COLUMNS)))
        return _switched_off(ctx, "topic_hierarchy", "hierarchy.enabled")
    bags, ctfidf = ctx.input(VectorizedBagsOutput), ctx.input(CtfidfOutput)
    topic_ids = bags.topic_ids()
    if (topic_ids != -1).sum() < 2:
        ctx.log.warning("topic_hierarchy: fewer than 2 topics, the hierarchy is empty")
        out.write(pd.DataFrame(columns=list(HIERARCHY_COLUMNS)))
        return {"rows": 0}
    tree = build_hierarchy(
        topic_ids,
        bags.topic_term_counts(),
        ctfidf.weights(),
        ctfidf.idf(),
        bags.vocabulary(),
        reduce_frequent_words=ctx.input_params("ctfidf")["reduce_frequent_words"],
        name_words=settings.name_words,
        method=settings.linkage,
    )
    text = topic_tree(tree)
    out.write(tree, text)
    shown = "\n".join(text.splitlines()[:40]).replace("`", "'")  # no backtick can end the fence
    return {"rows": len(tree), "merge_tree_md": f"```\n{shown}\n```", "tree_text_file": out.tree_file.name}


def _grouped_topics(ctx: StepContext, docs: pd.DataFrame, groups: pd.Series, *, evolution_tuning: bool,
                    previous: dict[int, sp.csr_matrix] | None = None) -> tuple[pd.DataFrame, dict[int, sp.csr_matrix]]:
    """Shared by topics_over_time and topics_per_class: the fitted vocabulary and idf, per group.

    ``docs`` (doc_id, text) may be a subset of the modeled documents (one partition).
    Returns the table and the last group's tuned rows (for the next partition's evolution tuning).
    """
    settings = ctx.params.over_time
    bags, ctfidf = ctx.input(VectorizedBagsOutput), ctx.input(CtfidfOutput)
    vectorizer_params = VectorizerParams(**ctx.input_params("vectorized_bags"))
    vocabulary = bags.vocabulary()
    stored = ctx.input(DocumentTermsOutput)
    stored_ids = stored.doc_ids()
    position = pd.Series(np.arange(len(stored_ids)), index=stored_ids.to_numpy())
    terms = stored.read().rows(position.loc[docs["doc_id"].astype(str)].to_numpy())
    assigned = ctx.input(AssignmentsOutput).read(["doc_id", "topic_id"])
    topics = assigned.set_index("doc_id")["topic_id"].loc[docs["doc_id"]].to_numpy()
    state = {"previous": previous or {}}
    table = topics_per_group(
        [""] * len(docs), topics, list(groups),  # texts unused: each (group, topic) is counted from `terms`
        vectorizer=None,  # each (group, topic) is counted from `terms`, with the fitted vocabulary
        vocabulary=vocabulary,
        language=vectorizer_params.language,
        idf=ctfidf.idf(),
        reduce_frequent_words=ctx.input_params("ctfidf")["reduce_frequent_words"],
        topic_ids=bags.topic_ids(),
        global_ctfidf=ctfidf.weights(),
        global_tuning=settings.global_tuning,
        evolution_tuning=evolution_tuning,
        top_n_words=settings.top_n_words,
        state=state,
        count_pairs=lambda codes, n_pairs: group_term_counts(terms, codes, n_pairs, vocabulary,
                                                             bags.document_term_columns(), vectorizer_params),
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


def _switched_off(ctx: StepContext, stage: str, switch: str) -> dict[str, Any]:
    """The metadata of an optional stage switched off in the params (its output is empty)."""
    note = f"Not computed: {switch} is false in the params (an empty output, so that nothing downstream waits)."
    ctx.log.info("%s: %s", stage, note)
    return {"rows": 0, "note": note}


def _empty_groups_table(group_column: str) -> pd.DataFrame:
    """The table of topics over time / per class with no rows (what a switched-off stage stores)."""
    return pd.DataFrame({"topic_id": pd.Series([], dtype="int64"), group_column: pd.Series([], dtype=object),
                         "frequency": pd.Series([], dtype="int64"), "words": pd.Series([], dtype=str),
                         "weights": pd.Series([], dtype=object)})


def compute_over_time(ctx: StepContext) -> dict[str, Any]:
    settings = ctx.params.over_time
    if not settings.enabled:
        table = _empty_groups_table("timestamp")
        table["timestamp"] = pd.to_datetime(table["timestamp"], utc=True)
        OverTimeOutput(ctx.out).write(table, {})
        return _switched_off(ctx, "topics_over_time", "over_time.enabled")
    docs = ctx.documents(["doc_id", "timestamp", "ingested_at"])
    if ctx.window is not None:  # one bin: the partition's window
        bins = pd.Series(ctx.window.start, index=docs.index)
        undated = 0
    else:
        undated = int(docs["timestamp"].isna().sum())
        if undated:
            ctx.log.info("topics_over_time: %d documents without a timestamp are left out", undated)
        bins = bin_timestamps(docs["timestamp"], settings.nr_bins) if undated < len(docs) else docs["timestamp"]
    previous = OverTimeOutput(ctx.prepared).tuned_rows() if ctx.prepared is not None else None
    table, last_rows = _grouped_topics(ctx, docs, bins, evolution_tuning=settings.evolution_tuning, previous=previous)
    table = table.rename(columns={"group": "timestamp"})
    table["timestamp"] = pd.to_datetime(table["timestamp"], utc=True)
    OverTimeOutput(ctx.out).write(table, last_rows)
    note = (f"None of the {len(docs)} documents has a timestamp, so there are no topics over time: set "
            "corpus.timestamp_column or give the corpus a 'timestamp' column." if len(docs) and undated == len(docs)
            else None)
    if note:
        ctx.log.info("topics_over_time: %s", note)  # in the metadata and the report too; not an error
    return {"rows": len(table), "bins": int(table["timestamp"].nunique()), "undated_documents": undated,
            "note": note, "preview_md": outputs.markdown_table(table.sort_values("frequency", ascending=False), 10)}


def compute_per_class(ctx: StepContext) -> dict[str, Any]:
    if not ctx.params.over_time.per_class:
        PerClassOutput(ctx.out).write(_empty_groups_table("class").astype({"class": str}))
        return _switched_off(ctx, "topics_per_class", "over_time.per_class")
    docs = ctx.documents(["doc_id", "label"])
    labels = docs["label"].astype(object).where(docs["label"].notna(), None)
    table, _ = _grouped_topics(ctx, docs, labels, evolution_tuning=False)
    table = table.rename(columns={"group": "class"})
    table["class"] = table["class"].astype(str)
    PerClassOutput(ctx.out).write(table)
    return {"rows": len(table), "classes": int(table["class"].nunique()),
            "preview_md": outputs.markdown_table(table.sort_values("frequency", ascending=False), 10)}
