"""Steps of the topic model itself: reduction, clustering, topic ids, bags of words, c-TF-IDF.

With ``updates.mode: assign`` the fitted UMAP and HDBSCAN are kept (joblib
files inside their own stage output; nothing outside our store is unpickled)
and new documents are placed with them, until ``updates.refit_every``
documents have arrived since the last fit. Each output marks which documents
were part of the fit (``fitted``), so topic ids are sorted on those only and
stay stable as documents are added.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline import artifacts
from topic_pipeline.clustering import assign_clusters, fit_clusterer
from topic_pipeline.ctfidf import ctfidf_transform, fit_idf
from topic_pipeline.reduction import fit_reducer, transform_embeddings
from topic_pipeline.stages.base import PrepareContext, StepContext
from topic_pipeline.topics import sort_topics_by_size, topic_sizes
from topic_pipeline.vectorize import vectorize_topics

FITTED_MODEL = "fitted_model.joblib"


def _fitted_base(ctx: PrepareContext, stage: str, section: str, upstream_fit: str | None) -> tuple[str, Path | None]:
    """The current output of ``stage`` to build on in assign mode, if its model and settings still apply."""
    if ctx.params.updates.mode != "assign":
        return "", None
    key = ctx.store.current(stage)
    if key is None or not ctx.store.has(stage, key):
        return "", None
    manifest = ctx.store.manifest(stage, key)
    same_settings = {k: v for k, v in manifest["params"].items() if k != "updates"} == \
        ctx.params.section(section).model_dump(mode="json")
    fit = manifest["metadata"].get("fit_key")
    if not same_settings or fit is None or manifest["metadata"].get("upstream_fit_key") != upstream_fit:
        return "", None
    return f"base:{fit}", ctx.store.output_dir(stage, key)


def _input_fit_key(ctx: PrepareContext | StepContext, stage: str) -> str | None:
    manifest = artifacts.read_manifest(ctx.inputs[stage][0])
    return manifest["metadata"].get("fit_key")


def _keep_model(model: object | None, base: Path | None, out: Path) -> None:
    """Save a new fitted model, or hard-link the base's (no copy; survives gc of the base)."""
    import joblib

    if model is not None:
        joblib.dump(model, out / FITTED_MODEL)
    else:
        try:
            os.link(base / FITTED_MODEL, out / FITTED_MODEL)
        except OSError:
            (out / FITTED_MODEL).write_bytes((base / FITTED_MODEL).read_bytes())


def _load_model(base: Path) -> object:
    import joblib

    return joblib.load(base / FITTED_MODEL)  # only ever our own store's file


def _arrivals(ctx: StepContext, doc_ids: pd.Series, base: Path | None, name: str) -> tuple[pd.DataFrame | None, np.ndarray]:
    """The base output's rows and, per current document, whether it is new since the base.

    Returns no base when the base lost documents or ``refit_every`` new documents arrived.
    """
    if base is None:
        return None, np.ones(len(doc_ids), dtype=bool)
    previous = artifacts.read_table(base, name).set_index("doc_id")
    fitted_ids = set(previous.index[previous["fitted"]])
    new = ~doc_ids.isin(previous.index).to_numpy()
    since_fit = int((~doc_ids.isin(fitted_ids)).sum())
    if not set(previous.index) <= set(doc_ids) or since_fit >= ctx.params.updates.refit_every:
        ctx.log.info("%s: refitting (%d documents since the last fit)", name, since_fit)
        return None, np.ones(len(doc_ids), dtype=bool)
    ctx.log.info("%s: assigning %d new documents with the fitted model", name, int(new.sum()))
    return previous, new


def prepare_reduced(ctx: PrepareContext) -> tuple[str, Path | None]:
    return _fitted_base(ctx, "reduced_embeddings", "reduction", None)


def compute_reduced(ctx: StepContext) -> dict[str, Any]:
    doc_ids = ctx.read_table("embeddings", "embeddings", ["doc_id"])["doc_id"]
    embeddings = ctx.read_vectors("embeddings", "embeddings")
    assign = ctx.params.updates.mode == "assign"
    previous, new = _arrivals(ctx, doc_ids, ctx.prepared, "reduced_embeddings") if assign else (None, None)
    if previous is None:
        model, reduced = fit_reducer(embeddings, ctx.params.reduction)
        fitted, fit_key, base = np.ones(len(doc_ids), dtype=bool), ctx.key, None
    else:
        model, base = None, ctx.prepared
        reduced = np.zeros((len(doc_ids), previous["vector"].iloc[0].shape[0]), dtype=np.float32)
        reduced[~new] = np.vstack(previous.loc[doc_ids[~new], "vector"].to_numpy())
        if new.any():
            reduced[new] = transform_embeddings(_load_model(base), embeddings[new])
        fitted = previous["fitted"].reindex(doc_ids, fill_value=False).to_numpy()
        fit_key = artifacts.read_manifest(base)["metadata"]["fit_key"]
    if assign:
        _keep_model(model, base, ctx.out)
    artifacts.write_vectors(ctx.out, "reduced_embeddings", doc_ids, reduced, fitted=pd.Series(fitted))
    return {"rows": len(reduced), "dimensions": int(reduced.shape[1]), "fitted_documents": int(fitted.sum()),
            "fit_key": fit_key if assign else None}


def prepare_clusters(ctx: PrepareContext) -> tuple[str, Path | None]:
    return _fitted_base(ctx, "clusters", "clustering", _input_fit_key(ctx, "reduced_embeddings"))


def compute_clusters(ctx: StepContext) -> dict[str, Any]:
    table = ctx.read_table("reduced_embeddings", "reduced_embeddings", ["doc_id"])
    doc_ids = table["doc_id"]
    reduced = ctx.read_vectors("reduced_embeddings", "reduced_embeddings")
    assign = ctx.params.updates.mode == "assign"
    previous, new = _arrivals(ctx, doc_ids, ctx.prepared, "clusters") if assign else (None, None)
    if previous is None:
        model, labels, probabilities = fit_clusterer(reduced, ctx.params.clustering, prediction_data=assign)
        fitted, fit_key, base = np.ones(len(doc_ids), dtype=bool), ctx.key, None
    else:
        model, base = None, ctx.prepared
        labels = previous["cluster"].reindex(doc_ids).to_numpy(copy=True)
        probabilities = previous["probability"].reindex(doc_ids).to_numpy(copy=True)
        if new.any():
            labels[new], probabilities[new] = assign_clusters(_load_model(base), reduced[new])
        labels = labels.astype(np.int64)
        fitted = previous["fitted"].reindex(doc_ids, fill_value=False).to_numpy()
        fit_key = artifacts.read_manifest(base)["metadata"]["fit_key"]
    if assign:
        _keep_model(model, base, ctx.out)
    artifacts.write_table(ctx.out, "clusters", pd.DataFrame(
        {"doc_id": doc_ids, "cluster": labels, "probability": probabilities, "fitted": fitted}))
    return {
        "rows": len(labels),
        "clusters": int(len(set(labels.tolist()) - {-1})),
        "outliers": int((labels == -1).sum()),
        "fitted_documents": int(fitted.sum()),
        "fit_key": fit_key if assign else None,
        "upstream_fit_key": _input_fit_key(ctx, "reduced_embeddings") if assign else None,
    }


def compute_topic_assignments(ctx: StepContext) -> dict[str, Any]:
    clusters = ctx.read_table("clusters", "clusters")
    fitted = clusters["fitted"].to_numpy() if "fitted" in clusters else np.ones(len(clusters), dtype=bool)
    _, mapping = sort_topics_by_size(clusters["cluster"].to_numpy()[fitted])  # ids from the fit: stable
    mapping.setdefault(-1, -1)
    topics = clusters["cluster"].map(mapping).to_numpy(dtype=np.int64)
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


def compute_bags(ctx: StepContext) -> dict[str, Any]:
    texts = ctx.read_table("documents", "documents", ["text"])["text"].tolist()
    topics = ctx.read_table("topic_assignments", "topic_assignments", ["topic_id"])["topic_id"].to_numpy()
    bags = vectorize_topics(texts, topics, ctx.params.vectorizer)
    artifacts.write_array(ctx.out, "topic_ids", bags.topic_ids)
    artifacts.write_table(ctx.out, "vocabulary", pd.DataFrame({"term": bags.vocabulary.astype(str)}))
    artifacts.write_sparse(ctx.out, "topic_term_counts", bags.topic_term_counts)
    artifacts.write_sparse(ctx.out, "doc_term_counts", bags.doc_term_counts)
    return {"rows": int(bags.topic_term_counts.shape[0]), "terms": int(len(bags.vocabulary))}


def compute_ctfidf(ctx: StepContext) -> dict[str, Any]:
    bags = ctx.input_dir("vectorized_bags")
    counts = artifacts.read_sparse(bags, "topic_term_counts")
    vocabulary = artifacts.read_table(bags, "vocabulary")["term"].to_numpy()
    idf = fit_idf(counts, vocabulary, ctx.params.ctfidf)
    weights = ctfidf_transform(counts, idf, reduce_frequent_words=ctx.params.ctfidf.reduce_frequent_words)
    artifacts.write_array(ctx.out, "idf", idf)
    artifacts.write_sparse(ctx.out, "ctfidf", weights)
    return {"rows": int(weights.shape[0]), "terms": int(weights.shape[1]), "nonzero": int(weights.nnz)}
