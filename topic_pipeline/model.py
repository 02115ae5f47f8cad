"""``TopicModel``: BERTopic's constructor and method names over the same cached stages the Dagster assets run.

Fitting writes the documents (and embeddings, when given) into the stage store
and materializes the stages in-process with ``materialize_stage``, so a second
fit with the same inputs and parameters is a cache hit, and a changed
parameter recomputes only the stages below it. Give ``cache_dir`` to keep that
reuse across processes; without it a temporary store is used.

After ``fit`` the model holds scikit-learn-style fitted attributes. The
post-fit operations BERTopic users know (``update_topics``, ``merge_topics``,
``reduce_topics``, ``reduce_outliers``, ``approximate_distribution``,
``find_topics``, ``transform``, ``save``/``load``) work on that fitted state
with the same stage functions (``topic_pipeline.fitted_topics``); they do not
go back to the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline import model_online, model_ops, model_saving, topic_tables
from topic_pipeline.errors import StageInputError, TopicPipelineError
from topic_pipeline.fitted_topics import reassign_outliers, reduce_topic_ids

FIT_STAGES = ("documents", "embeddings", "reduced_embeddings", "clusters", "topic_assignments",
              "vectorized_bags", "ctfidf", "topic_representations")


class NotFittedError(TopicPipelineError, ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class TopicModel:
    """Topic modeling with BERTopic's defaults, arguments and method names.

    Parameters
    ----------
    language, top_n_words, n_gram_range, min_topic_size, nr_topics, low_memory, calculate_probabilities,
    seed_topic_list, zeroshot_topic_list, zeroshot_min_similarity, embedding_model, umap_model, hdbscan_model,
    vectorizer_model, ctfidf_model, representation_model, verbose
        As in ``BERTopic`` (see ALGORITHMS.md for the defaults we match).
    params : dict, optional
        Any further ``params.yaml`` sections (e.g. ``{"reduction": {"n_neighbors": 10}}``); they win over
        what the arguments above imply.
    cache_dir : str or Path, optional
        Stage store to reuse across fits and processes.
    """

    def __init__(self, language: str = "english", top_n_words: int = 10, n_gram_range: tuple[int, int] = (1, 1),
                 min_topic_size: int = 10, nr_topics: int | str | None = None, low_memory: bool = False,
                 calculate_probabilities: bool = False, seed_topic_list: list[list[str]] | None = None,
                 zeroshot_topic_list: list[str] | None = None, zeroshot_min_similarity: float = 0.7,
                 embedding_model: Any = None, umap_model: Any = None, hdbscan_model: Any = None,
                 vectorizer_model: Any = None, ctfidf_model: Any = None, representation_model: Any = None,
                 verbose: bool = False, params: dict[str, Any] | None = None,
                 cache_dir: str | Path | None = None) -> None:
        self.language = language
        self.top_n_words = top_n_words
        self.n_gram_range = n_gram_range
        self.min_topic_size = min_topic_size
        self.nr_topics = nr_topics
        self.low_memory = low_memory
        self.calculate_probabilities = calculate_probabilities
        self.seed_topic_list = seed_topic_list
        self.zeroshot_topic_list = zeroshot_topic_list
        self.zeroshot_min_similarity = zeroshot_min_similarity
        self.embedding_model = embedding_model
        self.umap_model = umap_model
        self.hdbscan_model = hdbscan_model
        self.vectorizer_model = vectorizer_model
        self.ctfidf_model = ctfidf_model
        self.representation_model = representation_model
        self.verbose = verbose
        self.params = params
        self.cache_dir = cache_dir

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor arguments, unchanged (scikit-learn's contract)."""
        import inspect

        names = [n for n in inspect.signature(TopicModel.__init__).parameters if n != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **values: Any) -> TopicModel:
        for name, value in values.items():
            if name not in self.get_params():
                raise StageInputError(f"TopicModel has no parameter {name!r}; valid: {', '.join(self.get_params())}.")
            setattr(self, name, value)
        return self

    # --- fitting -----------------------------------------------------------------------------
    def fit(self, documents: Sequence[str], embeddings: np.ndarray | None = None, y: Sequence | None = None
            ) -> TopicModel:
        self.fit_transform(documents, embeddings, y=y)
        return self

    def fit_transform(self, documents: Sequence[str], embeddings: np.ndarray | None = None, images: Any = None,
                      y: Sequence | None = None) -> tuple[list[int], np.ndarray | None]:
        """Fit on ``documents`` (their embeddings and labels ``y`` when given); return topics and probabilities.

        ``y`` makes the fit supervised (-1 = unlabeled: semi-supervised); with
        ``hdbscan_model=BaseCluster()`` the labels are the topics (manual topic modeling).
        """
        if images is not None:
            raise StageInputError("Images are not supported; pass documents (and embeddings).")
        texts = model_ops.check_documents(documents)
        vectors = model_ops.check_embeddings(embeddings, len(texts))
        labels = model_ops.check_labels(y, len(texts))
        store = model_ops.open_store(self.cache_dir)  # after the checks: bad input leaves no temporary store
        state = model_ops.fit_stages(self, store, texts, vectors, labels, update_mode="refit")
        self._set_state(state)
        return list(self.topics_), self.probabilities_

    def partial_fit(self, documents: Sequence[str], embeddings: np.ndarray | None = None, y: Sequence | None = None
                    ) -> TopicModel:
        """Add documents: they are placed in the fitted reducer/clusterer and topic ids stay stable, until
        ``updates.refit_every`` documents arrived since the last fit (the pipeline's ``updates.mode: assign``).
        """
        texts = model_ops.check_documents(documents)
        vectors = model_ops.check_embeddings(embeddings, len(texts))
        if model_online.is_online(self):  # incremental reducer and clusterer: BERTopic's online mode
            self.params_ = getattr(self, "params_", None) or model_ops.fit_params(
                self, {"documents": "in-memory", "embeddings": None}, False, "refit")[0]
            vectors = vectors if vectors is not None else model_ops.embed(self, texts)
            self._set_state(model_online.partial_fit_online(self, texts, vectors))
            return self
        if not hasattr(self, "topics_"):
            state = model_ops.fit_stages(self, model_ops.open_store(self.cache_dir), texts, vectors, None,
                                        update_mode="assign")
        else:
            if (vectors is None) != (self.embeddings_ is None):
                raise StageInputError("partial_fit needs embeddings exactly when the model was fitted with embeddings.")
            combined = None if vectors is None else np.vstack([self.embeddings_, vectors])
            state = model_ops.fit_stages(self, self.store_, self.documents_ + texts, combined, None, update_mode="assign")
        self._set_state(state)
        return self

    def transform(self, documents: str | Sequence[str], embeddings: np.ndarray | None = None, images: Any = None
                  ) -> tuple[list[int], np.ndarray | None]:
        """Topics of new documents: the fitted reducer and clusterer (HDBSCAN ``approximate_predict``), or,
        for a model loaded from safetensors, the most similar topic embedding (as BERTopic)."""
        self._check_fitted()
        texts = model_ops.check_documents([documents] if isinstance(documents, str) else documents)
        vectors = model_ops.check_embeddings(embeddings, len(texts), dim=self._embedding_dim())
        if vectors is None:
            vectors = model_ops.embed(self, texts)
        if hasattr(self, "_online_"):
            return model_online.predict_online(self, vectors)
        return model_ops.predict(self, vectors)

    def _set_state(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    def _check_fitted(self) -> None:
        if not hasattr(self, "topics_"):
            raise NotFittedError("This TopicModel is not fitted yet; call fit or fit_transform first.")

    def _embedding_dim(self) -> int | None:
        embeddings = getattr(self, "topic_embeddings_", None)
        return None if embeddings is None else int(embeddings.shape[1])

    # --- reading the fitted model ---------------------------------------------------------------
    def get_topic(self, topic: int, full: bool = False) -> list[tuple[str, float]] | dict | bool:
        self._check_fitted()
        if topic not in self.topic_representations_:
            return False
        if full:
            return {"Main": self.topic_representations_[topic],
                    **{name: words[topic] for name, words in self.topic_aspects_.items() if topic in words}}
        return self.topic_representations_[topic]

    def get_topics(self, full: bool = False) -> dict:
        self._check_fitted()
        return {"Main": dict(self.topic_representations_), **self.topic_aspects_} if full else \
            dict(self.topic_representations_)

    def get_topic_freq(self, topic: int | None = None) -> pd.DataFrame | int:
        self._check_fitted()
        if topic is not None:
            return self.topic_sizes_[topic]
        return topic_tables.topic_freq(self)

    def get_topic_info(self, topic: int | None = None) -> pd.DataFrame:
        """Topic, Count, Name, [CustomName], Representation, one column per aspect, Representative_Docs."""
        self._check_fitted()
        return topic_tables.topic_info(self, topic)

    def get_document_info(self, docs: Sequence[str], df: pd.DataFrame | None = None,
                          metadata: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """One row per training document: its topic, the topic's info, top words, probability,
        whether it is a representative document, plus ``df``'s columns and ``metadata``."""
        self._check_documents(docs)
        return topic_tables.document_info(self, list(docs), df, metadata)

    def get_representative_docs(self, topic: int | None = None) -> list[str] | dict[int, list[str]]:
        self._check_fitted()
        return self.representative_docs_[topic] if topic is not None else dict(self.representative_docs_)

    def generate_topic_labels(self, nr_words: int = 3, topic_prefix: bool = True, word_length: int | None = None,
                              separator: str = "_", aspect: str | None = None) -> list[str]:
        """Labels from each topic's words (of the main representation or an aspect), in topic order."""
        self._check_fitted()
        return topic_tables.generate_labels(self, nr_words, topic_prefix, word_length, separator, aspect)

    def set_topic_labels(self, topic_labels: Sequence[str] | Mapping[int, str]) -> None:
        """Custom labels (``custom_labels_``): a list with one label per topic, or a dict topic -> label."""
        self._check_fitted()
        self.custom_labels_ = topic_tables.custom_labels(self, topic_labels)

    # --- changing the topics ------------------------------------------------------------------
    def update_topics(self, docs: Sequence[str], topics: Sequence[int] | None = None, top_n_words: int = 10,
                      n_gram_range: tuple[int, int] | None = None, vectorizer_model: Any = None,
                      ctfidf_model: Any = None, representation_model: Any = None) -> None:
        """Describe the topics again with new settings and/or new assignments (e.g. after ``reduce_outliers``)."""
        self._check_documents(docs)
        settings = model_ops.update_settings(self, top_n_words, n_gram_range, vectorizer_model, ctfidf_model,
                                            representation_model)
        new = np.asarray(self.topics_ if topics is None else model_ops.check_topics(topics, len(docs)), dtype=np.int64)
        self._set_state(model_ops.redescribe(self, list(docs), new, settings, mapping=None))

    def merge_topics(self, docs: Sequence[str], topics_to_merge: Sequence[int] | Sequence[Sequence[int]]) -> None:
        """Merge groups of topics into one each; ids are then renumbered by size (as BERTopic)."""
        from topic_pipeline.topic_reduction import merge_topic_ids

        self._check_documents(docs)
        # with zero-shot topics BERTopic keeps the ids (no renumbering by size)
        remap = merge_topic_ids(np.asarray(self.topics_), topics_to_merge, renumber=not self.zeroshot_topics_)
        self._set_state(model_ops.redescribe(self, list(docs), remap.topics, self.params_, mapping=remap.mapping))

    def reduce_topics(self, docs: Sequence[str], nr_topics: int | str = 20, use_ctfidf: bool = False) -> TopicModel:
        """Merge similar topics down to ``nr_topics`` (an int, counting -1, or ``"auto"``)."""
        self._check_documents(docs)
        nr_topics = model_ops.check_nr_topics(nr_topics)
        remap = reduce_topic_ids(list(docs), np.asarray(self.topics_), nr_topics, self.embeddings_for_topics_(),
                                 use_ctfidf=use_ctfidf, vectorizer=self.params_.vectorizer, ctfidf=self.params_.ctfidf)
        self._set_state(model_ops.redescribe(self, list(docs), remap.topics, self.params_, mapping=remap.mapping))
        return self

    def reduce_outliers(self, documents: Sequence[str], topics: Sequence[int], images: Any = None,
                        strategy: str = "distributions", probabilities: np.ndarray | None = None,
                        threshold: float = 0, embeddings: np.ndarray | None = None,
                        distributions_params: Mapping[str, Any] | None = None) -> list[int]:
        """New topics for the outlier documents (nothing else changes); follow with ``update_topics``."""
        self._check_fitted()
        texts = model_ops.check_documents(documents)
        current = model_ops.check_topics(topics, len(texts))
        strategy = model_ops.check_strategy(strategy)
        if not (current == -1).any():
            raise StageInputError("No outliers to reduce: no document has topic -1.")
        vectors = model_ops.check_embeddings(embeddings, len(texts), dim=self._embedding_dim())
        if strategy == "embeddings" and vectors is None:
            vectors = model_ops.embed(self, texts)
        new = reassign_outliers(texts, current, strategy, threshold, vectorizer=self.params_.vectorizer,
                                ctfidf=self.params_.ctfidf, embeddings=vectors, probabilities=probabilities,
                                description=self._description_, distribution_settings=dict(distributions_params or {}))
        return [int(t) for t in new]

    # --- distributions and search -------------------------------------------------------------
    def approximate_distribution(self, documents: str | Sequence[str], window: int = 4, stride: int = 1,
                                 min_similarity: float = 0.1, batch_size: int | None = 1000, padding: bool = False,
                                 use_embedding_model: bool = False, calculate_tokens: bool = False,
                                 separator: str = " ") -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Topic distribution per document from sliding token windows, and with ``calculate_tokens`` one
        (n_tokens, n_topics) array per document (BERTopic's types)."""
        self._check_fitted()
        texts = model_ops.check_documents([documents] if isinstance(documents, str) else documents)
        return model_ops.distributions(self, texts, dict(
            window=window, stride=stride, min_similarity=min_similarity, batch_size=batch_size, padding=padding,
            use_embedding_model=use_embedding_model, calculate_tokens=calculate_tokens, separator=separator))

    def find_topics(self, search_term: str, image: Any = None, top_n: int = 5) -> tuple[list[int], list[float]]:
        """The ``top_n`` topics whose embeddings are most similar to the embedded ``search_term``."""
        self._check_fitted()
        if not isinstance(search_term, str) or not search_term.strip():
            raise StageInputError(f"find_topics needs a non-empty search term, got {search_term!r}.")
        return model_ops.find_topics(self, search_term, top_n)

    def embeddings_for_topics_(self) -> np.ndarray | None:
        """Document embeddings the topic vectors are means of (None for a loaded model)."""
        return getattr(self, "embeddings_", None)

    # --- structure and dynamics ---------------------------------------------------------------
    def hierarchical_topics(self, docs: Sequence[str], use_ctfidf: bool = True, linkage_function: Any = None,
                            distance_function: Any = None) -> pd.DataFrame:
        """The merge tree in BERTopic's columns (ward linkage on c-TF-IDF distances)."""
        self._check_documents(docs)
        if linkage_function is not None or distance_function is not None or not use_ctfidf:
            raise StageInputError("hierarchical_topics supports the default c-TF-IDF ward linkage only "
                                  "(set hierarchy.linkage in params for average/complete/single).")
        return topic_tables.hierarchy(self)

    def get_topic_tree(self, hier_topics: pd.DataFrame, max_distance: float | None = None,
                       tight_layout: bool = False) -> str:
        """A plain-text tree of ``hierarchical_topics``' result."""
        return topic_tables.tree(self, hier_topics)

    def topics_over_time(self, docs: Sequence[str], timestamps: Sequence, topics: Sequence[int] | None = None,
                         nr_bins: int | None = None, datetime_format: str | None = None, evolution_tuning: bool = True,
                         global_tuning: bool = True) -> pd.DataFrame:
        """Topic, Words, Frequency, Timestamp per time bin (evolution tuning does work here)."""
        self._check_documents(docs)
        return topic_tables.over_time(self, list(docs), timestamps, topics, nr_bins, datetime_format,
                                      evolution_tuning, global_tuning)

    def topics_per_class(self, docs: Sequence[str], classes: Sequence, global_tuning: bool = True) -> pd.DataFrame:
        """Topic, Words, Frequency, Class per class label."""
        self._check_documents(docs)
        return topic_tables.per_class(self, list(docs), list(classes), global_tuning)

    def _check_documents(self, docs: Sequence[str]) -> None:
        self._check_fitted()
        if self.documents_ is not None and len(docs) != len(self.topics_):
            raise StageInputError(
                f"Expected the {len(self.topics_)} documents the model was fitted on, got {len(docs)}."
            )

    # --- saving -------------------------------------------------------------------------------
    def save(self, path: str | Path, serialization: str = "safetensors", save_ctfidf: bool = False,
             save_embedding_model: bool | str = True) -> None:
        """Write BERTopic's safetensors directory layout (``BERTopic.load`` reads it). Never pickle."""
        self._check_fitted()
        model_saving.save(self, Path(path), serialization, save_ctfidf, save_embedding_model)

    @classmethod
    def load(cls, path: str | Path, embedding_model: Any = None) -> TopicModel:
        """Read a safetensors directory saved by us or by BERTopic; pickles are refused, never unpickled."""
        return model_saving.load(cls, Path(path), embedding_model)

    @classmethod
    def merge_models(cls, models: Sequence[TopicModel], min_similarity: float = 0.7, embedding_model: Any = None
                     ) -> TopicModel:
        """One model with the topics of the first plus each later model's topics that are new to it."""
        return model_saving.merge(cls, list(models), min_similarity, embedding_model)

