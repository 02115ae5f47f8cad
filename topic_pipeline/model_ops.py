"""What ``TopicModel``'s methods do: input checks, the staged fit, prediction, re-description, save/load.

Functions here take the model, read its fitted attributes and *return* the new
state as a dict of attributes; ``TopicModel`` sets them. Nothing here keeps
state of its own.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd

from topic_pipeline import artifacts
from topic_pipeline.corpus import hash_text
from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.fitted_models import FITTED_MODEL, load_fitted_model
from topic_pipeline.fitted_topics import TopicDescription, describe_topics, read_description
from topic_pipeline.params import OutlierStrategy, PipelineParams, parse_params
from topic_pipeline.store import StageStore, atomic_path
from topic_pipeline.topic_mapper import TopicMapper

FIT_STAGES = ("documents", "embeddings", "reduced_embeddings", "clusters", "topic_assignments",
              "vectorized_bags", "ctfidf", "topic_representations")


# --- input checks ------------------------------------------------------------------------------
def open_store(cache_dir: str | Path | None) -> StageStore:
    return StageStore(cache_dir or tempfile.mkdtemp(prefix="topic_pipeline-"))


def check_documents(documents: Any) -> list[str]:
    """A non-empty list of strings, or an error naming the first bad row."""
    if isinstance(documents, str) or not isinstance(documents, Sequence | np.ndarray | pd.Series):
        raise StageInputError(f"documents must be a list of strings, got {type(documents).__name__}.")
    texts = list(documents)
    if not texts:
        raise StageInputError("documents is empty; give at least one document.")
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            raise StageInputError(f"documents[{row}] is {type(text).__name__} ({text!r:.40}), expected a string.")
    return texts


def check_embeddings(embeddings: Any, n_documents: int, dim: int | None = None) -> np.ndarray | None:
    """Float32 embeddings with one row per document (and the fitted dimension), or None."""
    if embeddings is None:
        return None
    array = np.asarray(embeddings, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] != n_documents:
        raise StageInputError(
            f"embeddings must have one row per document: expected shape ({n_documents}, dim), got {array.shape}."
        )
    if dim is not None and array.shape[1] != dim:
        raise StageInputError(f"embeddings have dimension {array.shape[1]} but the model was fitted on {dim}.")
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise StageInputError(f"embeddings row {row} holds NaN or infinite values.")
    return np.ascontiguousarray(array)


def check_labels(y: Any, n_documents: int) -> np.ndarray | None:
    if y is None:
        return None
    labels = np.asarray(y)
    if labels.ndim != 1 or len(labels) != n_documents:
        raise StageInputError(f"y must have one label per document ({n_documents}), got shape {labels.shape}.")
    return labels


def check_topics(topics: Any, n_documents: int) -> np.ndarray:
    array = np.asarray(topics)
    if array.ndim != 1 or len(array) != n_documents or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise StageInputError(f"topics must be one integer topic id per document ({n_documents}), "
                              f"got shape {array.shape}, dtype {array.dtype}.")
    return array.astype(np.int64)


def check_nr_topics(nr_topics: Any) -> int | str:
    """An int or ``"auto"`` (the range is checked where the topic count is known)."""
    if nr_topics == "auto" or (isinstance(nr_topics, int | np.integer) and not isinstance(nr_topics, bool)):
        return nr_topics if nr_topics == "auto" else int(nr_topics)
    raise ParamsError(f"nr_topics must be an int (topics to keep, -1 included) or 'auto', got {nr_topics!r}.")


def check_strategy(strategy: str) -> str:
    valid = get_args(OutlierStrategy)
    if strategy not in valid:
        raise ParamsError(f"Unknown outlier strategy {strategy!r}; valid strategies: {', '.join(valid)}.")
    return strategy


# --- fitting -----------------------------------------------------------------------------------
def write_inputs(root: Path, texts: list[str], embeddings: np.ndarray | None, labels: np.ndarray | None
                 ) -> dict[str, str | None]:
    """Store in-memory inputs as files named by their content, so equal inputs give equal stage keys."""
    frame = pd.DataFrame({"doc_id": [str(i) for i in range(len(texts))], "text": texts})
    if labels is not None:
        frame["label"] = labels
    digest = hash_text("\x00".join(texts) + ("" if labels is None else "\x01" + ",".join(map(str, labels))))
    folder = root / "_inputs"
    docs_file = folder / f"documents-{digest}.parquet"
    if not docs_file.exists():
        with atomic_path(docs_file) as tmp:
            frame.to_parquet(tmp)
    vectors_file = None
    if embeddings is not None:
        digest = hashlib.blake2b(embeddings.tobytes() + str(embeddings.shape).encode(), digest_size=16).hexdigest()
        vectors_file = folder / f"embeddings-{digest}.npy"
        if not vectors_file.exists():
            with atomic_path(vectors_file) as tmp, open(tmp, "wb") as handle:
                np.save(handle, embeddings, allow_pickle=False)
    return {"documents": str(docs_file), "embeddings": str(vectors_file) if vectors_file else None}


def fit_params(model: Any, inputs: dict[str, str | None], has_labels: bool, update_mode: str
               ) -> tuple[PipelineParams, dict[str, Any]]:
    from topic_pipeline.model_settings import pipeline_sections

    sections, estimators = pipeline_sections(model, has_labels=has_labels)
    sections["corpus"] = {"source": inputs["documents"], "inbox": None, "deduplicate": "none"} | sections.get("corpus", {})
    sections["embedding"] = sections["embedding"] | {"precomputed": inputs["embeddings"]}
    sections["updates"] = sections["updates"] | {"mode": update_mode}
    return parse_params(sections, origin="TopicModel"), estimators


def fit_stages(model: Any, store: StageStore, texts: list[str], embeddings: np.ndarray | None,
               labels: np.ndarray | None, *, update_mode: str) -> dict[str, Any]:
    """Materialize the fit stages (cached) and read the fitted state back."""
    from topic_pipeline.runner import finish_step, materialize_stage, new_ledger

    params, estimators = fit_params(model, write_inputs(store.root, texts, embeddings, labels), labels is not None,
                                    update_mode)
    # a run of its own: another fit sharing cache_dir cannot swap an input under this one
    ledger = new_ledger(store, params, f"model-{uuid.uuid4().hex}", stages=list(FIT_STAGES))
    outputs = {}
    for stage in FIT_STAGES:
        outputs[stage] = materialize_stage(stage, params, store, run_id=ledger.run_id, estimator=estimators.get(stage),
                                           ledger=ledger).output_dir
        finish_step(ledger, stage)
    return read_fitted(store, params, texts, embeddings, outputs)


def read_fitted(store: StageStore, params: PipelineParams, texts: list[str], embeddings: np.ndarray | None,
                outputs: dict[str, Path]) -> dict[str, Any]:
    """The fitted state from one run's stage outputs (``outputs``: stage -> its folder)."""
    assignments_dir = outputs["topic_assignments"]
    assigned = artifacts.read_table(assignments_dir, "topic_assignments")
    topics = assigned["topic_id"].to_numpy(dtype=np.int64)
    vectors = embeddings if embeddings is not None else artifacts.read_vectors(outputs["embeddings"], "embeddings")
    description = read_description(outputs["vectorized_bags"], outputs["ctfidf"],
                                   outputs["topic_representations"], topics, vectors)
    cluster_topics = artifacts.read_table(assignments_dir, "cluster_topics")
    # one row per cluster in ascending cluster order, as BERTopic's mapper (and its saved topic_mapper)
    mapper = TopicMapper.from_rows(sorted([int(c), int(c), int(t)] for c, t in
                                          zip(cluster_topics["cluster"], cluster_topics["topic_id"], strict=True)))
    zeroshot = (artifacts.read_table(assignments_dir, "zeroshot_topics")
                if (assignments_dir / "zeroshot_topics.parquet").exists() else None)
    if (assignments_dir / "membership.npy").exists():
        probabilities = np.asarray(artifacts.read_array(assignments_dir, "membership"))
    else:
        column = assigned["probability"].to_numpy(dtype=np.float64)
        probabilities = None if np.isnan(column).all() else column
    state = describe_state(texts, topics, description, embeddings=vectors, mapper=mapper)
    names = {} if zeroshot is None else {int(t): str(n) for t, n in zip(zeroshot["topic_id"], zeroshot["name"], strict=True)
                                         if int(t) in state["topic_sizes_"]}
    state |= {
        "store_": store, "params_": params, "documents_": texts, "embeddings_": vectors,
        "probabilities_": probabilities, "custom_labels_": None, "zeroshot_topics_": names,
        "topic_labels_": state["topic_labels_"] | names,  # BERTopic labels zero-shot topics by their names
        "fitted_models_": {stage: outputs[stage] / FITTED_MODEL for stage in ("reduced_embeddings", "clusters")
                           if (outputs[stage] / FITTED_MODEL).exists()},
    }
    return state


def describe_state(texts: list[str] | None, topics: np.ndarray, description: TopicDescription, *,
                   embeddings: np.ndarray | None, mapper: TopicMapper) -> dict[str, Any]:
    """The fitted attributes that follow from one description of the topics."""
    docs_of = {t: [texts[r] for r in rows] for t, rows in description.representative_docs.items()} if texts else {}
    return {
        "topics_": [int(t) for t in topics],
        "topic_sizes_": dict(description.sizes),
        "topic_representations_": dict(description.words),
        "topic_aspects_": dict(description.aspects),
        "topic_labels_": dict(description.names),
        "representative_docs_": docs_of,
        "c_tf_idf_": description.ctfidf,
        "topic_embeddings_": description.topic_embeddings,
        "topic_mapper_": mapper,
        "_description_": description,
    }


# --- using the fitted model --------------------------------------------------------------------
def encoder(model: Any):
    """``texts -> vectors`` with the model's embedding model (the one it was fitted with)."""
    from topic_pipeline.embedding import embed_texts

    settings = model.params_.embedding
    return lambda texts: embed_texts(list(texts), settings)


def embed(model: Any, texts: list[str]) -> np.ndarray:
    return encoder(model)(texts)


def _load_fitted(path: Path) -> Any:
    return load_fitted_model(path.parent)  # refused unless it matches the digest its stage stored


def predict(model: Any, vectors: np.ndarray) -> tuple[list[int], np.ndarray | None]:
    """BERTopic's ``transform``: reducer + clusterer when the model has them, else cosine to topic embeddings."""
    from sklearn.metrics.pairwise import cosine_similarity

    fitted = getattr(model, "fitted_models_", {})
    if set(fitted) == {"reduced_embeddings", "clusters"} and not model.zeroshot_topics_:
        from topic_pipeline.clustering import assign_clusters, is_hdbscan
        from topic_pipeline.reduction import transform_embeddings

        clusterer = _load_fitted(fitted["clusters"])
        reduced = transform_embeddings(_load_fitted(fitted["reduced_embeddings"]), vectors)
        labels, strengths = assign_clusters(clusterer, reduced)
        mapping = model.topic_mapper_.get_mappings()
        topics = [int(mapping.get(int(c), -1)) for c in labels]
        if model.calculate_probabilities and is_hdbscan(clusterer):
            from topic_pipeline.soft_clustering import membership_of_new

            return topics, membership_of_new(clusterer, reduced, mapping)
        return topics, None if np.isnan(strengths).all() else strengths
    ids = embedded_topic_ids(model)
    similarity = cosine_similarity(vectors, model.topic_embeddings_)
    topics = [ids[i] for i in similarity.argmax(axis=1)]
    return topics, similarity if model.calculate_probabilities else similarity.max(axis=1)


def embedded_topic_ids(model: Any) -> list[int]:
    """The topic of each row of ``topic_embeddings_``: the topics with words, ascending.

    Usually that is every topic (-1 first). A model merged onto one without outliers counts -1's documents
    but has no -1 words or embedding; BERTopic still subtracts one from every prediction there, we do not.
    """
    return sorted(model.topic_representations_)


def find_topics(model: Any, term: str, top_n: int) -> tuple[list[int], list[float]]:
    from sklearn.metrics.pairwise import cosine_similarity

    ids = embedded_topic_ids(model)
    similarity = cosine_similarity(embed(model, [term]), model.topic_embeddings_).ravel()
    best = np.argsort(similarity)[-top_n:][::-1]
    return [ids[i] for i in best], [float(similarity[i]) for i in best]


def distributions(model: Any, texts: list[str], settings: dict[str, Any]
                  ) -> tuple[np.ndarray, list[np.ndarray] | None]:
    from topic_pipeline.distribution import approximate_distribution
    from topic_pipeline.vectorize import make_vectorizer

    description = model._description_
    keep = np.flatnonzero(description.topic_ids != -1)
    vectorizer = make_vectorizer(model.params_.vectorizer).set_params(
        vocabulary=list(description.bags.vocabulary))
    use_embeddings = settings.get("use_embedding_model", False)
    distribution, tokens = approximate_distribution(
        texts, vectorizer, idf=description.idf, topic_ctfidf=description.ctfidf[keep],
        reduce_frequent_words=model.params_.ctfidf.reduce_frequent_words,
        embed=encoder(model) if use_embeddings else None,
        topic_embeddings=None if model.topic_embeddings_ is None else model.topic_embeddings_[keep],
        **settings,
    )
    # BERTopic returns plain (n_tokens, n_topics) arrays, which code written for it indexes by [token, topic]
    return distribution, None if tokens is None else [frame.to_numpy() for frame in tokens]


# --- changing the topics -----------------------------------------------------------------------
def update_settings(model: Any, top_n_words: int, n_gram_range: tuple[int, int] | None, vectorizer_model: Any,
                    ctfidf_model: Any, representation_model: Any) -> PipelineParams:
    """The params ``update_topics`` describes with: like BERTopic, unset models go back to their defaults."""
    from topic_pipeline.model_settings import ctfidf_section, representation_section, vectorizer_section

    params = model.params_
    language = params.vectorizer.language
    vectorizer = (vectorizer_section(vectorizer_model) if vectorizer_model is not None
                  else {"ngram_range": list(n_gram_range or model.n_gram_range)})
    sections = params.model_dump(mode="json") | {
        "vectorizer": vectorizer | {"language": language},
        "ctfidf": ctfidf_section(ctfidf_model) if ctfidf_model is not None else {},
        "representation": params.representation.model_dump(mode="json") | {
            "top_n_words": top_n_words,
            "aspects": representation_section(representation_model) if representation_model is not None else {}},
    }
    return parse_params(sections, origin="update_topics")


def redescribe(model: Any, texts: list[str], topics: np.ndarray, params: PipelineParams,
               mapping: dict[int, int] | None) -> dict[str, Any]:
    """Fitted attributes after the documents' topics changed (``mapping``: old id -> new id, when ids moved)."""
    from topic_pipeline.topic_reduction import merged_topic_embeddings

    vectors = model.embeddings_for_topics_()
    description = describe_topics(
        texts, topics, vectorizer=params.vectorizer, ctfidf=params.ctfidf, representation=params.representation,
        guidance=params.guidance, embeddings=vectors, embed=encoder(model) if params.representation.aspects else None)
    mapper = TopicMapper.from_rows(model.topic_mapper_.mappings_)
    probabilities = model.probabilities_
    if mapping is not None:
        mapper.add_mappings(mapping)
        if probabilities is not None and probabilities.ndim == 2:
            from topic_pipeline.soft_clustering import map_memberships

            probabilities = map_memberships(probabilities, mapping)
    state = describe_state(texts, topics, description, embeddings=vectors, mapper=mapper)
    if vectors is None and mapping is not None:  # a loaded model: merge the stored topic embeddings
        old_ids = np.array(sorted(model.topic_sizes_))
        sizes = np.array([model.topic_sizes_[t] for t in old_ids])
        from topic_pipeline.topic_reduction import TopicRemap

        remap = TopicRemap(topics=topics, mapping=mapping, merged_from={})
        state["topic_embeddings_"] = merged_topic_embeddings(model.topic_embeddings_, old_ids, sizes, remap)
    elif vectors is None:
        state["topic_embeddings_"] = model.topic_embeddings_
    same_topics = set(state["topic_sizes_"]) == set(model.topic_sizes_) and mapping is None
    names = zeroshot_names(model, mapping, sorted(state["topic_sizes_"]), state["topic_embeddings_"])
    state |= {"params_": params, "probabilities_": probabilities, "zeroshot_topics_": names,
              "topic_labels_": state["topic_labels_"] | names,
              "custom_labels_": model.custom_labels_ if same_topics else None}
    return state


def zeroshot_names(model: Any, mapping: dict[int, int] | None, topic_ids: list[int],
                   topic_embeddings: np.ndarray | None) -> dict[int, str]:
    """Zero-shot topic names once topics changed (BERTopic's ``TopicMapper.add_mappings`` rule).

    Without a mapping, topics keep their ids and so their names. After a merge, a topic made of zero-shot
    topics takes the name (of those) most similar to the topic's embedding, if that similarity reaches
    ``zeroshot_min_similarity``; otherwise it is named by its words. BERTopic compares with the row of
    the *old* topic embeddings at the new id; we use the merged topic's own embedding.
    """
    from sklearn.metrics.pairwise import cosine_similarity

    if mapping is None or not model.zeroshot_topics_:
        return {t: n for t, n in model.zeroshot_topics_.items() if t in topic_ids}
    if topic_embeddings is None:
        return {}
    merged_names: dict[int, list[str]] = {}
    for old, name in model.zeroshot_topics_.items():
        if mapping.get(old, -1) != -1:
            merged_names.setdefault(mapping[old], []).append(name)
    result = {}
    for topic, names in merged_names.items():
        row = topic_embeddings[[topic_ids.index(topic)]]
        similarity = cosine_similarity(embed(model, names), row).ravel()
        if similarity.max() >= model.params_.guidance.zeroshot_min_similarity:
            result[topic] = names[int(similarity.argmax())]
    return result
