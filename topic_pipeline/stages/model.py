"""Steps of the topic model itself: reduction, clustering, topic ids, bags of words, c-TF-IDF."""

from __future__ import annotations

from typing import Any

import pandas as pd

from topic_pipeline import artifacts
from topic_pipeline.clustering import cluster_embeddings
from topic_pipeline.ctfidf import ctfidf_transform, fit_idf
from topic_pipeline.reduction import reduce_embeddings
from topic_pipeline.stages.base import StepContext
from topic_pipeline.topics import sort_topics_by_size, topic_sizes
from topic_pipeline.vectorize import vectorize_topics


def compute_reduced(ctx: StepContext) -> dict[str, Any]:
    doc_ids = ctx.read_table("embeddings", "embeddings", ["doc_id"])["doc_id"]
    embeddings = ctx.read_vectors("embeddings", "embeddings")
    reduced = reduce_embeddings(embeddings, ctx.params.reduction)
    artifacts.write_vectors(ctx.out, "reduced_embeddings", doc_ids, reduced)
    return {"rows": len(reduced), "dimensions": int(reduced.shape[1])}


def compute_clusters(ctx: StepContext) -> dict[str, Any]:
    doc_ids = ctx.read_table("reduced_embeddings", "reduced_embeddings", ["doc_id"])["doc_id"]
    reduced = ctx.read_vectors("reduced_embeddings", "reduced_embeddings")
    labels, probabilities = cluster_embeddings(reduced, ctx.params.clustering)
    artifacts.write_table(ctx.out, "clusters", pd.DataFrame({"doc_id": doc_ids, "cluster": labels, "probability": probabilities}))
    return {
        "rows": len(labels),
        "clusters": int(len(set(labels.tolist()) - {-1})),
        "outliers": int((labels == -1).sum()),
    }


def compute_topic_assignments(ctx: StepContext) -> dict[str, Any]:
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
