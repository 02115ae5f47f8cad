"""``TopicModel``: BERTopic's method names over the same cached stages the Dagster assets run.

Fitting writes the documents (and embeddings, when given) into the stage store
and materializes the stages in-process with ``materialize_stage``, so a second
fit with the same inputs and parameters is a cache hit, and a changed
parameter recomputes only the stages below it. Give ``cache_dir`` to keep that
reuse across processes; without it a temporary store is used.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline import artifacts
from topic_pipeline.corpus import hash_text
from topic_pipeline.errors import StageInputError, TopicPipelineError
from topic_pipeline.hierarchy import topic_tree
from topic_pipeline.over_time import bin_timestamps, topics_per_group
from topic_pipeline.params import PipelineParams, VectorizerParams, parse_params
from topic_pipeline.runner import materialize_stage
from topic_pipeline.store import StageStore, atomic_path
from topic_pipeline.vectorize import make_vectorizer

FIT_STAGES = ("documents", "embeddings", "reduced_embeddings", "clusters", "topic_assignments",
              "vectorized_bags", "ctfidf", "topic_representations")


class NotFittedError(TopicPipelineError, ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class TopicModel:
    """Topic modeling with BERTopic's defaults and method names.

    Parameters
    ----------
    embedding_model : str
        sentence-transformers model name or path (used when no embeddings are given).
    top_n_words, min_topic_size : int
        As in BERTopic (``min_topic_size`` is HDBSCAN's ``min_cluster_size``).
    n_gram_range : tuple of int
        ``CountVectorizer`` n-gram range.
    params : dict, optional
        Any further ``params.yaml`` sections (e.g. ``{"reduction": {"n_neighbors": 10}}``).
    cache_dir : str or Path, optional
        Stage store to reuse across fits and processes.
    """

    def __init__(self, embedding_model: str = "all-MiniLM-L6-v2", top_n_words: int = 10, min_topic_size: int = 10,
                 n_gram_range: tuple[int, int] = (1, 1), params: dict[str, Any] | None = None,
                 cache_dir: str | Path | None = None) -> None:
        self.embedding_model = embedding_model
        self.top_n_words = top_n_words
        self.min_topic_size = min_topic_size
        self.n_gram_range = n_gram_range
        self.params = params
        self.cache_dir = cache_dir

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {name: getattr(self, name) for name in
                ("embedding_model", "top_n_words", "min_topic_size", "n_gram_range", "params", "cache_dir")}

    # --- fitting -----------------------------------------------------------------------------
    def fit(self, documents: Sequence[str], embeddings: np.ndarray | None = None) -> TopicModel:
        self.fit_transform(documents, embeddings)
        return self

    def fit_transform(self, documents: Sequence[str], embeddings: np.ndarray | None = None
                      ) -> tuple[list[int], np.ndarray]:
        """Fit on ``documents`` (and their embeddings, if given); return topics and probabilities."""
        store = StageStore(self.cache_dir or tempfile.mkdtemp(prefix="topic_pipeline-"))
        self._fit_stages(store, list(documents), embeddings, update_mode="refit")
        return list(self.topics_), self.probabilities_

    def partial_fit(self, documents: Sequence[str], embeddings: np.ndarray | None = None) -> TopicModel:
        """Add documents: they are placed in the fitted UMAP/HDBSCAN and topic ids stay stable,
        until ``updates.refit_every`` documents arrived since the last fit (the pipeline's
        ``updates.mode: assign``). The first call on a model fitted with ``fit`` fits once more
        to keep its UMAP and HDBSCAN.
        """
        if not hasattr(self, "topics_"):
            store = StageStore(self.cache_dir or tempfile.mkdtemp(prefix="topic_pipeline-"))
            self._fit_stages(store, list(documents), embeddings, update_mode="assign")
            return self
        if (embeddings is None) != (self.embeddings_ is None):
            raise StageInputError("partial_fit needs embeddings exactly when the model was fitted with embeddings.")
        combined = None if embeddings is None else np.vstack([self.embeddings_, np.asarray(embeddings, dtype=np.float32)])
        self._fit_stages(self.store_, self.documents_ + list(documents), combined, update_mode="assign")
        return self

    def _fit_stages(self, store: StageStore, documents: list[str], embeddings: np.ndarray | None, *,
                    update_mode: str) -> None:
        params = self._pipeline_params(_write_inputs(store.root, documents, embeddings), update_mode)
        for stage in FIT_STAGES:
            materialize_stage(stage, params, store, run_id="TopicModel.fit")
        self._read_fitted(store, params)
        self.documents_ = documents
        self.embeddings_ = None if embeddings is None else np.asarray(embeddings, dtype=np.float32)

    def _pipeline_params(self, inputs: dict[str, str | None], update_mode: str = "refit") -> PipelineParams:
        sections = {name: dict(values) for name, values in (self.params or {}).items()}
        settings = {
            "corpus": {"source": inputs["documents"], "inbox": None, "deduplicate": "none"},
            "embedding": {"model": self.embedding_model, "precomputed": inputs["embeddings"]},
            "clustering": {"min_cluster_size": self.min_topic_size},
            "vectorizer": {"ngram_range": list(self.n_gram_range)},
            "representation": {"top_n_words": self.top_n_words},
            "updates": {"mode": update_mode},
        }
        for name, values in settings.items():
            sections[name] = values | sections.get(name, {})
        return parse_params(sections, origin="TopicModel")

    def _read_fitted(self, store: StageStore, params: PipelineParams) -> None:
        assigned = artifacts.read_table(store.current_dir("topic_assignments"), "topic_assignments")
        topics = artifacts.read_table(store.current_dir("topic_representations"), "topics")
        terms = artifacts.read_table(store.current_dir("topic_representations"), "topic_terms")
        self.store_ = store
        self.params_ = params
        self.topics_ = assigned["topic_id"].astype(int).tolist()
        self.probabilities_ = assigned["probability"].to_numpy()
        self.topic_sizes_ = dict(zip(topics["topic_id"].astype(int), topics["size"].astype(int), strict=True))
        self.topic_labels_ = dict(zip(topics["topic_id"].astype(int), topics["name"], strict=True))
        self.representative_docs_ = {int(t): list(d) for t, d in zip(topics["topic_id"], topics["representative_docs"],
                                                                     strict=True)}
        self.topic_representations_ = {
            int(t): list(zip(g.sort_values("rank")["term"], g.sort_values("rank")["weight"].astype(float), strict=True))
            for t, g in terms.loc[terms["aspect"] == "Main"].groupby("topic_id")
        }
        self.c_tf_idf_ = artifacts.read_sparse(store.current_dir("ctfidf"), "ctfidf")

    def _check_fitted(self) -> None:
        if not hasattr(self, "topics_"):
            raise NotFittedError("This TopicModel is not fitted yet; call fit or fit_transform first.")

    # --- reading the fitted model ---------------------------------------------------------------
    def get_topic(self, topic: int) -> list[tuple[str, float]] | bool:
        self._check_fitted()
        return self.topic_representations_.get(topic, False)

    def get_topics(self) -> dict[int, list[tuple[str, float]]]:
        self._check_fitted()
        return dict(self.topic_representations_)

    def get_topic_freq(self) -> pd.DataFrame:
        self._check_fitted()
        frame = pd.DataFrame(self.topic_sizes_.items(), columns=["Topic", "Count"])
        return frame.sort_values("Count", ascending=False).reset_index(drop=True)

    def get_topic_info(self) -> pd.DataFrame:
        """Topic, Count, Name, Representation, Representative_Docs; ordered by topic id."""
        self._check_fitted()
        ids = sorted(self.topic_sizes_)
        return pd.DataFrame({
            "Topic": ids,
            "Count": [self.topic_sizes_[t] for t in ids],
            "Name": [self.topic_labels_[t] for t in ids],
            "Representation": [[w for w, _ in self.topic_representations_[t]] for t in ids],
            "Representative_Docs": [self.representative_docs_.get(t, []) for t in ids],
        })

    def get_representative_docs(self, topic: int | None = None) -> list[str] | dict[int, list[str]]:
        self._check_fitted()
        return self.representative_docs_[topic] if topic is not None else dict(self.representative_docs_)

    # --- structure and dynamics ---------------------------------------------------------------
    def hierarchical_topics(self, docs: Sequence[str]) -> pd.DataFrame:
        """The merge tree in BERTopic's columns (computed once, then read from the store)."""
        self._check_documents(docs)
        outcome = materialize_stage("topic_hierarchy", self.params_, self.store_, run_id="TopicModel")
        tree = artifacts.read_table(outcome.output_dir, "topic_hierarchy")
        return pd.DataFrame({
            "Parent_ID": tree["parent_id"].astype(str), "Parent_Name": tree["parent_name"],
            "Topics": tree["topic_ids"].map(list), "Child_Left_ID": tree["left_child_id"].astype(str),
            "Child_Left_Name": tree["left_child_name"], "Child_Right_ID": tree["right_child_id"].astype(str),
            "Child_Right_Name": tree["right_child_name"], "Distance": tree["distance"],
        })

    def get_topic_tree(self, hier_topics: pd.DataFrame) -> str:
        """A plain-text tree of ``hierarchical_topics``' result."""
        tree = pd.DataFrame({
            "parent_id": hier_topics["Parent_ID"].astype(int), "parent_name": hier_topics["Parent_Name"],
            "topic_ids": hier_topics["Topics"], "left_child_id": hier_topics["Child_Left_ID"].astype(int),
            "left_child_name": hier_topics["Child_Left_Name"], "right_child_id": hier_topics["Child_Right_ID"].astype(int),
            "right_child_name": hier_topics["Child_Right_Name"], "distance": hier_topics["Distance"],
        })
        return topic_tree(tree, {t: name for t, name in self.topic_labels_.items()})

    def topics_over_time(self, docs: Sequence[str], timestamps: Sequence, nr_bins: int | None = None,
                         global_tuning: bool = True, evolution_tuning: bool = True) -> pd.DataFrame:
        """Topic, Words, Frequency, Timestamp per time bin (evolution tuning does work here)."""
        self._check_documents(docs)
        stamps = pd.Series(pd.to_datetime(list(timestamps), utc=True))
        table = self._per_group(docs, bin_timestamps(stamps, nr_bins), global_tuning, evolution_tuning)
        return table.rename(columns={"group": "Timestamp"})[["Topic", "Words", "Frequency", "Timestamp"]]

    def topics_per_class(self, docs: Sequence[str], classes: Sequence, global_tuning: bool = True) -> pd.DataFrame:
        """Topic, Words, Frequency, Class per class label."""
        self._check_documents(docs)
        table = self._per_group(docs, list(classes), global_tuning, False)
        return table.rename(columns={"group": "Class"})[["Topic", "Words", "Frequency", "Class"]]

    def _per_group(self, docs: Sequence[str], groups: Sequence, global_tuning: bool, evolution_tuning: bool
                   ) -> pd.DataFrame:
        bags, weights = self.store_.current_dir("vectorized_bags"), self.store_.current_dir("ctfidf")
        vectorizer_params = VectorizerParams(**artifacts.read_manifest(bags)["params"])
        table = topics_per_group(
            list(docs), np.asarray(self.topics_), groups,
            vectorizer=make_vectorizer(vectorizer_params).set_params(
                vocabulary=artifacts.read_table(bags, "vocabulary")["term"].tolist()),
            language=vectorizer_params.language, idf=np.asarray(artifacts.read_array(weights, "idf")),
            reduce_frequent_words=self.params_.ctfidf.reduce_frequent_words,
            topic_ids=np.asarray(artifacts.read_array(bags, "topic_ids")), global_ctfidf=self.c_tf_idf_,
            global_tuning=global_tuning, evolution_tuning=evolution_tuning, top_n_words=self.top_n_words,
        )
        return table.rename(columns={"topic_id": "Topic", "frequency": "Frequency", "words": "Words"})

    def _check_documents(self, docs: Sequence[str]) -> None:
        self._check_fitted()
        if len(docs) != len(self.topics_):
            raise StageInputError(
                f"Expected the {len(self.topics_)} documents the model was fitted on, got {len(docs)}."
            )


def _write_inputs(root: Path, documents: Sequence[str], embeddings: np.ndarray | None) -> dict[str, str | None]:
    """Store in-memory inputs as files named by their content, so equal inputs give equal stage keys."""
    texts = [str(d) for d in documents]
    digest = hash_text("\x00".join(texts))
    folder = root / "_inputs"
    docs_file = folder / f"documents-{digest}.parquet"
    if not docs_file.exists():
        with atomic_path(docs_file) as tmp:
            pd.DataFrame({"doc_id": [str(i) for i in range(len(texts))], "text": texts}).to_parquet(tmp)
    vectors_file = None
    if embeddings is not None:
        array = np.ascontiguousarray(embeddings, dtype=np.float32)
        digest = hashlib.blake2b(array.tobytes() + str(array.shape).encode(), digest_size=16).hexdigest()
        vectors_file = folder / f"embeddings-{digest}.npy"
        if not vectors_file.exists():
            with atomic_path(vectors_file) as tmp, open(tmp, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
    return {"documents": str(docs_file), "embeddings": str(vectors_file) if vectors_file else None}
