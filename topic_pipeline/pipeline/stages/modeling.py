"""Steps of the topic model itself: reduction, clustering, topic ids, bags of words, c-TF-IDF.

With ``updates.mode: assign`` the fitted UMAP and HDBSCAN are kept (joblib
files inside their own stage output, loaded only when they match the digest in
the output's manifest: ``fitted_models``)
and new documents are placed with them, until ``updates.refit_every``
documents have arrived since the last fit. Each output marks which documents
were part of the fit (``fitted``), so topic ids are sorted on those only and
stay stable as documents are added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topic_pipeline.core.clustering import assign_clusters, fit_clusterer, is_hdbscan
from topic_pipeline.core.ctfidf import ctfidf_weights
from topic_pipeline.core.document_terms import count_document_terms, extend_document_terms
from topic_pipeline.core.guided import (
    combine_zeroshot_topics,
    guide_embeddings,
    reduce_unassigned,
    zeroshot_match,
    zeroshot_probabilities,
)
from topic_pipeline.core.reduction import fit_reducer, transform_embeddings
from topic_pipeline.core.soft_clustering import cluster_memberships, map_memberships
from topic_pipeline.core.term_sums import fit_topic_bags
from topic_pipeline.core.topic_ids import renumber_by_frequency, topic_embeddings, topic_sizes
from topic_pipeline.core.vectorize import check_vectorizer_params, vectorizer_errors
from topic_pipeline.errors import TopicPipelineError
from topic_pipeline.params import fingerprint
from topic_pipeline.pipeline import outputs
from topic_pipeline.pipeline.embedding import embed_texts
from topic_pipeline.pipeline.fitted_models import DIGEST_FIELD, link_fitted_model, save_fitted_model
from topic_pipeline.pipeline.stage_outputs import (
    AssignmentsOutput,
    ClustersOutput,
    CtfidfOutput,
    DocumentTermsOutput,
    ReducedEmbeddingsOutput,
    VectorizedBagsOutput,
)
from topic_pipeline.pipeline.stages.base import PrepareContext, StepContext
from topic_pipeline.representation.describe import reassign_outliers, reduce_topic_ids


def _fitted_base(ctx: PrepareContext, stage: str, section: str, upstream_fit: str | None) -> tuple[str, Path | None]:
    """The current output of ``stage`` to build on in assign mode, if its model and settings still apply."""
    if ctx.params.updates.mode != "assign":
        return "", None
    key = ctx.ledger.base_key(stage)  # fixed for the run and kept by gc while it builds on it
    if key is None:
        return "", None
    manifest = ctx.store.manifest(stage, key)
    expected = ctx.params.section(section).model_dump(mode="json") | {
        "guidance": ctx.params.guidance.model_dump(mode="json")}
    same_settings = {k: v for k, v in manifest["params"].items() if k != "updates"} == expected
    fit = manifest["metadata"].get("fit_key")
    if not same_settings or fit is None or manifest["metadata"].get("upstream_fit_key") != upstream_fit:
        return "", None
    return f"base:{fit}", ctx.store.output_dir(stage, key)


def _input_fit_key(ctx: PrepareContext | StepContext, stage: str) -> str | None:
    manifest = outputs.read_manifest(ctx.inputs[stage][0])
    return manifest["metadata"].get("fit_key")


def _keep_model(model: object | None, base: Path | None, out: Path) -> str:
    """Save a new fitted model, or link the base's after checking it; return the digest for the manifest."""
    return save_fitted_model(model, out) if model is not None else link_fitted_model(base, out)


def _arrivals(ctx: StepContext, doc_ids: pd.Series, base: ReducedEmbeddingsOutput | ClustersOutput | None
              ) -> tuple[pd.DataFrame | None, np.ndarray]:
    """The base output's rows and, per current document, whether it is new since the base.

    Returns no base when the base lost documents or ``refit_every`` new documents arrived.
    """
    if base is None:
        return None, np.ones(len(doc_ids), dtype=bool)
    name = base.stage
    previous = base.read().set_index("doc_id")
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


def document_labels(ctx: StepContext, doc_ids: pd.Series) -> np.ndarray:
    """Each document's label as an integer class (-1 = unlabeled), for supervised UMAP and manual topics.

    Integer labels are kept; other labels (class names) are numbered in order of first appearance.
    """
    docs = ctx.documents(["doc_id", "label"]).drop_duplicates("doc_id").set_index("doc_id")
    labels = docs["label"].reindex(doc_ids)
    numeric = pd.to_numeric(labels, errors="coerce")
    whole = numeric.dropna()
    in_range = bool(((whole % 1 == 0) & (whole.abs() < 2**62)).all())  # inf or 1e30 are names, not class numbers
    if numeric.notna().sum() == labels.notna().sum() and in_range:
        return numeric.fillna(-1).to_numpy(dtype=np.int64)
    codes, _ = pd.factorize(labels.astype(object).where(labels.notna(), None), use_na_sentinel=True)
    return codes.astype(np.int64)


def _keeps_models(ctx: StepContext) -> bool:
    return (ctx.params.updates.mode == "assign" or ctx.params.updates.keep_models
            or ctx.params.guidance.zeroshot_topic_list is not None)


def _reducer_targets(ctx: StepContext, doc_ids: pd.Series, embeddings: np.ndarray
                     ) -> tuple[np.ndarray | None, np.ndarray]:
    """``y`` for the reducer (labels when supervised, seed topics when guided) and the embeddings to reduce."""
    y = document_labels(ctx, doc_ids) if ctx.params.reduction.supervised else None
    seeds = ctx.params.guidance.seed_topic_list
    if seeds:
        embed = sentence_encoder(ctx.params.embedding)
        seeded, embeddings = guide_embeddings(embeddings, seeds, embed)
        y = seeded if y is None else np.where(y == -1, seeded, y)
    return y, embeddings


def sentence_encoder(params: Any) -> Any:
    """``texts -> vectors`` with the configured model (guided and zero-shot topics embed their words)."""
    return lambda texts: embed_texts(list(texts), params)


def compute_reduced(ctx: StepContext) -> dict[str, Any]:
    doc_ids = ctx.embeddings(["doc_id"])["doc_id"]
    embeddings = ctx.embedding_vectors()
    assign = ctx.params.updates.mode == "assign"
    base_output = ReducedEmbeddingsOutput(ctx.prepared) if ctx.prepared is not None else None
    previous, new = _arrivals(ctx, doc_ids, base_output) if assign else (None, None)
    if previous is None:
        y, embeddings = _reducer_targets(ctx, doc_ids, embeddings)
        model, reduced = fit_reducer(embeddings, ctx.params.reduction, y=y, estimator=ctx.estimator)
        fitted, fit_key, base = np.ones(len(doc_ids), dtype=bool), ctx.key, None
    else:
        model, base = None, ctx.prepared
        reduced = np.zeros((len(doc_ids), previous["vector"].iloc[0].shape[0]), dtype=np.float32)
        reduced[~new] = np.vstack(previous.loc[doc_ids[~new], "vector"].to_numpy())
        if new.any():
            reduced[new] = transform_embeddings(base_output.load_fitted_model(), embeddings[new])
        fitted = previous["fitted"].reindex(doc_ids, fill_value=False).to_numpy()
        fit_key = base_output.manifest()["metadata"]["fit_key"]
    digest = _keep_model(model, base, ctx.out) if _keeps_models(ctx) else None
    ReducedEmbeddingsOutput(ctx.out).write(doc_ids, reduced, fitted)
    return {"rows": len(reduced), "dimensions": int(reduced.shape[1]), "fitted_documents": int(fitted.sum()),
            "fit_key": fit_key if assign else None, DIGEST_FIELD: digest}


def prepare_clusters(ctx: PrepareContext) -> tuple[str, Path | None]:
    return _fitted_base(ctx, "clusters", "clustering", _input_fit_key(ctx, "reduced_embeddings"))


def compute_clusters(ctx: StepContext) -> dict[str, Any]:
    reduced_output = ctx.input(ReducedEmbeddingsOutput)
    doc_ids = reduced_output.read(["doc_id"])["doc_id"]
    reduced = reduced_output.vectors()
    settings = ctx.params.clustering
    assign = ctx.params.updates.mode == "assign"
    base_output = ClustersOutput(ctx.prepared) if ctx.prepared is not None else None
    previous, new = _arrivals(ctx, doc_ids, base_output) if assign else (None, None)
    membership = None
    if previous is None:
        given = document_labels(ctx, doc_ids) if settings.method == "labels" or ctx.params.reduction.supervised else None
        if ctx.params.guidance.zeroshot_topic_list:
            model, labels, probabilities, zeroshot = _cluster_with_zeroshot(ctx, doc_ids, given)
        else:
            model, labels, probabilities = fit_clusterer(reduced, settings, prediction_data=_keeps_models(ctx),
                                                         estimator=ctx.estimator, labels=given)
            zeroshot = None
        if settings.calculate_probabilities and model is not None and is_hdbscan(model) and zeroshot is None:
            membership = cluster_memberships(model)
        fitted, fit_key, base = np.ones(len(doc_ids), dtype=bool), ctx.key, None
    else:
        model, base, zeroshot = None, ctx.prepared, None
        labels = previous["cluster"].reindex(doc_ids).to_numpy(copy=True)
        probabilities = previous["probability"].reindex(doc_ids).to_numpy(copy=True)
        if new.any():
            labels[new], probabilities[new] = assign_clusters(base_output.load_fitted_model(), reduced[new])
        labels = labels.astype(np.int64)
        fitted = previous["fitted"].reindex(doc_ids, fill_value=False).to_numpy()
        fit_key = base_output.manifest()["metadata"]["fit_key"]
    digest = _keep_model(model, base, ctx.out) if _keeps_models(ctx) and (model is not None or base is not None) \
        else None
    ClustersOutput(ctx.out).write(
        pd.DataFrame({"doc_id": doc_ids, "cluster": labels, "probability": probabilities, "fitted": fitted}),
        membership=membership, zeroshot=zeroshot)
    return {
        "rows": len(labels),
        "clusters": int(len(set(labels.tolist()) - {-1})),
        "outliers": int((labels == -1).sum()),
        "fitted_documents": int(fitted.sum()),
        "zeroshot_documents": 0 if zeroshot is None else int(zeroshot["documents"].sum()),
        "fit_key": fit_key if assign else None,
        "upstream_fit_key": _input_fit_key(ctx, "reduced_embeddings") if assign else None,
        DIGEST_FIELD: digest,
    }


def _cluster_with_zeroshot(ctx: StepContext, doc_ids: pd.Series, given: np.ndarray | None
                           ) -> tuple[object | None, np.ndarray, np.ndarray, pd.DataFrame]:
    """Zero-shot topics first, then cluster the rest in the fitted reducer's space (BERTopic's order).

    The labels returned are final topic ids (zero-shot topics first, as
    BERTopic numbers them); the table names the zero-shot topics.
    """
    guidance = ctx.params.guidance
    embeddings = ctx.embedding_vectors()
    _, embeddings = _reducer_targets(ctx, doc_ids, embeddings)  # the guided vectors when seeds are given too
    match = zeroshot_match(embeddings, guidance.zeroshot_topic_list, sentence_encoder(ctx.params.embedding),
                           guidance.zeroshot_min_similarity)
    rest = ~match.assigned
    model, clustered, strengths = None, np.zeros(0, dtype=np.int64), np.zeros(0)
    if rest.any():
        reduced_rest = reduce_unassigned(ctx.input(ReducedEmbeddingsOutput).load_fitted_model(), embeddings, match)
        model, clustered, strengths = fit_clusterer(reduced_rest, ctx.params.clustering, estimator=ctx.estimator,
                                                    labels=None if given is None else given[rest])
    topics, names = combine_zeroshot_topics(match, clustered)
    if match.assigned.any():  # BERTopic: cosine to the topic embeddings replaces HDBSCAN's strengths
        probabilities = zeroshot_probabilities(embeddings, topic_embeddings(embeddings, topics))
    else:
        probabilities = strengths
    table = pd.DataFrame({"topic_id": list(names), "name": list(names.values())})
    table["documents"] = [int((topics == t).sum()) for t in names]
    return model, topics, probabilities, table


def prepare_topic_assignments(ctx: PrepareContext) -> tuple[str, None]:
    """The bag-of-words settings join the key only when topics are compared by c-TF-IDF.

    So a vectorizer change does not recompute the assignments unless they depend on it.
    """
    settings = ctx.params.topics
    uses_words = (settings.nr_topics is not None and settings.use_ctfidf) or (
        settings.outliers is not None and settings.outliers.strategy in ("c-tf-idf", "distributions"))
    if not uses_words:
        return "", None
    return "words:" + fingerprint({"vectorizer": ctx.params.vectorizer.model_dump(mode="json"),
                                   "ctfidf": ctx.params.ctfidf.model_dump(mode="json")}), None


def compute_topic_assignments(ctx: StepContext) -> dict[str, Any]:
    clusters_output = ctx.input(ClustersOutput)
    clusters = clusters_output.read()
    labels = clusters["cluster"].to_numpy(dtype=np.int64)
    fitted = clusters["fitted"].to_numpy() if "fitted" in clusters else np.ones(len(clusters), dtype=bool)
    settings = ctx.params.topics
    zeroshot = clusters_output.zeroshot_topics()
    n_clusters = len(set(labels.tolist()) - {-1}) + int((labels == -1).any())
    reduce = settings.nr_topics == "auto" or (settings.nr_topics is not None and settings.nr_topics < n_clusters)
    if settings.nr_topics is not None and not reduce:
        ctx.log.warning("topic_assignments: nr_topics=%s is not below the %d topics found; nothing to reduce",
                        settings.nr_topics, n_clusters)
    if (zeroshot is not None and len(zeroshot)) or reduce:
        # zero-shot ids are final (BERTopic does not sort them); a reduction starts from the raw clusters
        mapping = {int(c): int(c) for c in np.unique(labels)}
    else:
        _, mapping = renumber_by_frequency(labels[fitted])  # BERTopic's order (ties too); ids from the fit: stable
    mapping.setdefault(-1, -1)
    topics = np.array([mapping[int(c)] for c in labels], dtype=np.int64)
    texts = embeddings = None
    if reduce or settings.outliers is not None:
        texts = ctx.documents(["text"])["text"].tolist()
        embeddings = ctx.embedding_vectors()
    reduced_from = None
    if reduce:
        remap = reduce_topic_ids(texts, topics, settings.nr_topics, embeddings, use_ctfidf=settings.use_ctfidf,
                                 vectorizer=ctx.params.vectorizer, ctfidf=ctx.params.ctfidf)
        reduced_from = len(set(topics.tolist()) - {-1})
        mapping = {c: remap.mapping.get(t, t) for c, t in mapping.items()}
        topics = remap.topics
    cluster_membership = clusters_output.membership()
    membership = None if cluster_membership is None else map_memberships(cluster_membership, mapping)
    outliers_before = int((topics == -1).sum())
    if settings.outliers is not None and outliers_before:
        topics = reassign_outliers(texts, topics, settings.outliers.strategy, settings.outliers.threshold,
                                   vectorizer=ctx.params.vectorizer, ctfidf=ctx.params.ctfidf, embeddings=embeddings,
                                   probabilities=membership)
    assigned = pd.DataFrame(
        {"doc_id": clusters["doc_id"], "topic_id": topics, "probability": clusters["probability"], "cluster": labels}
    )
    AssignmentsOutput(ctx.out).write(assigned, mapping, membership=membership, zeroshot=zeroshot)
    sizes = topic_sizes(topics)
    size_table = pd.DataFrame({"topic_id": list(sizes), "size": list(sizes.values())})
    return {
        "rows": len(assigned),
        "topics": int(len([t for t in sizes if t != -1])),
        "outliers": int(sizes.get(-1, 0)),
        "outlier_share": round(int(sizes.get(-1, 0)) / max(len(topics), 1), 4),
        "topics_before_reduction": reduced_from,
        "outliers_reassigned": outliers_before - int(sizes.get(-1, 0)),
        "preview_md": outputs.markdown_table(size_table.sort_values("size", ascending=False), 10),
    }


TOKENIZER_FIELDS = ("ngram_range", "stop_words", "lowercase", "language")  # what document_terms depends on


def prepare_document_terms(ctx: PrepareContext) -> tuple[None, Path | None]:
    """The published document terms of the same tokenizer settings, if any: unchanged documents' counts are
    taken from there (new documents arriving recount only themselves). Not key material: the output is the
    same either way."""
    try:
        key = ctx.store.current("document_terms")
    except TopicPipelineError:
        return None, None
    if key is None or not ctx.store.has("document_terms", key):
        return None, None
    settings = ctx.params.vectorizer.model_dump(mode="json")
    if ctx.store.manifest("document_terms", key).get("params") != {name: settings[name] for name in TOKENIZER_FIELDS}:
        return None, None
    ctx.ledger.protect("document_terms", key)
    return None, ctx.store.output_dir("document_terms", key)


def compute_document_terms(ctx: StepContext) -> dict[str, Any]:
    """Tokenize the corpus once for this vectorizer setting; bags per topic, bin and class are sums of it."""
    docs = ctx.documents(["doc_id", "text", "doc_hash"])
    with vectorizer_errors(0):
        check_vectorizer_params(ctx.params.vectorizer)
    texts = docs["text"].tolist()
    previous = DocumentTermsOutput(ctx.prepared) if ctx.prepared is not None else None
    reused = previous.rows_of(docs["doc_id"], docs["doc_hash"]) if previous is not None else None
    if reused is not None and (reused >= 0).any():
        terms = extend_document_terms(previous.read(), reused, texts, ctx.params.vectorizer)
    else:
        terms = count_document_terms(texts, ctx.params.vectorizer)
    DocumentTermsOutput(ctx.out).write(docs["doc_id"], docs["doc_hash"], terms)
    return {"rows": int(terms.cleaned.shape[0]), "terms": int(len(terms.vocabulary)),
            "nonzero": int(terms.cleaned.nnz), "empty_documents": int(terms.empty.sum()),
            "counted_documents": int(len(texts) if reused is None else (reused < 0).sum())}


def compute_bags(ctx: StepContext) -> dict[str, Any]:
    topics = ctx.input(AssignmentsOutput).read(["topic_id"])["topic_id"].to_numpy()
    fitted = fit_topic_bags(ctx.input(DocumentTermsOutput).read(), topics, ctx.params.vectorizer)
    VectorizedBagsOutput(ctx.out).write(fitted)
    return {"rows": int(fitted.bags.topic_term_counts.shape[0]), "terms": int(len(fitted.bags.vocabulary))}


def prepare_ctfidf(ctx: PrepareContext) -> tuple[str, None]:
    """Guided topic modeling's seed words boost their idf: they join the key (zero-shot names do not)."""
    seeds = ctx.params.guidance.seed_topic_list
    return ("seeds:" + fingerprint(seeds) if seeds else ""), None


def compute_ctfidf(ctx: StepContext) -> dict[str, Any]:
    bags = ctx.input(VectorizedBagsOutput)
    idf, weights = ctfidf_weights(bags.topic_term_counts(), bags.vocabulary(), ctx.params.ctfidf,
                                  ctx.params.guidance.seed_topic_list)
    CtfidfOutput(ctx.out).write(idf, weights)
    return {"rows": int(weights.shape[0]), "terms": int(weights.shape[1]), "nonzero": int(weights.nnz),
            "top_terms_md": _top_terms(weights, bags.topic_ids(), bags.vocabulary())}


def _top_terms(weights: sp.csr_matrix, topic_ids: np.ndarray, vocabulary: np.ndarray, shown: int = 10,
               n_terms: int = 8) -> str:
    """The heaviest terms of the first topics, as a markdown table (a preview: ties in any order)."""
    rows = []
    for row, topic_id in list(enumerate(topic_ids.tolist()))[:shown + 1]:
        line = weights.getrow(row)
        order = np.argsort(-line.data, kind="stable")[:n_terms]
        rows.append((int(topic_id), ", ".join(f"{vocabulary[line.indices[i]]} ({line.data[i]:.3g})" for i in order)))
    return outputs.markdown_table(pd.DataFrame(rows, columns=["topic_id", "top terms (c-TF-IDF)"]), shown + 1)
