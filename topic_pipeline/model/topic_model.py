"""``TopicModel``: BERTopic's constructor and method names over the same cached stages the Dagster assets run.

Fitting writes the documents (and embeddings, when given) into the stage store
and materializes the stages in-process with ``materialize_stage``, so a second
fit with the same inputs and parameters is a cache hit, and a changed
parameter recomputes only the stages below it. Give ``cache_dir`` to keep that
reuse across processes; without it a temporary store is used.

The fitted model is one frozen record, ``fitted_state_`` (``model.fitted``);
BERTopic's fitted attributes (``topics_``, ``c_tf_idf_`` ...) are read-only
views of it (``model.fitted_attributes``). The post-fit operations BERTopic
users know (``update_topics``, ``merge_topics``, ``reduce_topics``,
``delete_topics``, ``reduce_outliers``, ``approximate_distribution``,
``find_topics``, ``transform``, ``save``/``load``) build the next record with
the same functions the stages call; they do not go back to the store.
Constructor arguments follow scikit-learn's ``BaseEstimator`` contract
(``get_params``, ``set_params``, ``sklearn.base.clone``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from topic_pipeline.core.topic_reduction import merge_topic_ids
from topic_pipeline.errors import ModelArgumentError, NotFittedError
from topic_pipeline.model import changes, checks, fitting, online, prediction, saving, tables
from topic_pipeline.model.document_figures import DocumentFigures
from topic_pipeline.model.fitted import FittedTopicModel, embedding_dim
from topic_pipeline.model.fitted_attributes import FittedAttributes
from topic_pipeline.model.quality import QualityMethods
from topic_pipeline.model.settings import default_submodels
from topic_pipeline.model.topic_figures import TopicFigures
from topic_pipeline.representation.describe import reassign_outliers, reduce_topic_ids

__all__ = ["NotFittedError", "TopicModel"]


class TopicModel(FittedAttributes, TopicFigures, DocumentFigures, QualityMethods, BaseEstimator):
    """Topic modeling with BERTopic's defaults, arguments and method names.

    Parameters
    ----------
    language, top_n_words, n_gram_range, min_topic_size, nr_topics, low_memory, calculate_probabilities,
    seed_topic_list, zeroshot_topic_list, zeroshot_min_similarity, embedding_model, umap_model, hdbscan_model,
    vectorizer_model, ctfidf_model, representation_model, verbose
        As in ``BERTopic`` (see ALGORITHMS.md for the defaults we match). ``umap_model``,
        ``hdbscan_model``, ``vectorizer_model`` and ``ctfidf_model`` left as None become BERTopic's
        default instances; after ``fit`` the first two are the fitted ones.
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
        defaults = default_submodels(low_memory, min_topic_size, n_gram_range)
        self.umap_model = umap_model if umap_model is not None else defaults["umap_model"]
        self.hdbscan_model = hdbscan_model if hdbscan_model is not None else defaults["hdbscan_model"]
        self.vectorizer_model = vectorizer_model if vectorizer_model is not None else defaults["vectorizer_model"]
        self.ctfidf_model = ctfidf_model if ctfidf_model is not None else defaults["ctfidf_model"]
        self.representation_model = representation_model
        self.verbose = verbose
        self.params = params
        self.cache_dir = cache_dir

    @property
    def fitted(self) -> FittedTopicModel:
        """The fitted record (``NotFittedError`` before ``fit``)."""
        return self._fitted()

    def _set_fitted(self, record: FittedTopicModel, *, changed_in_memory: bool = False) -> None:
        """Keep ``record`` and, as BERTopic, expose the fitted reducer, clusterer and vectorizer.

        After an in-memory change (update/merge/reduce/delete) the reducer and clusterer are the same
        fitted ones, so they are not read from the store again.
        """
        self.fitted_state_ = record
        if record.online is not None:
            self.umap_model, self.hdbscan_model = record.online.reducer, record.online.clusterer
        elif not changed_in_memory:
            for stage, name in (("reduced_embeddings", "umap_model"), ("clusters", "hdbscan_model")):
                if stage in record.fitted_models:
                    setattr(self, name, prediction.load_stage_model(record.fitted_models[stage]))
        vocabulary = record.description.vocabulary
        if vocabulary is not None and hasattr(self.vectorizer_model, "get_params"):
            self.vectorizer_model = saving.fitted_vectorizer(self.vectorizer_model, vocabulary)

    def _arguments(self) -> dict[str, Any]:
        return self.get_params(deep=False)

    def _encoder(self) -> prediction.Embed:
        return prediction.encoder(self.fitted.params.embedding)

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
            raise ModelArgumentError("Images are not supported; pass documents (and embeddings).")
        texts = checks.check_documents(documents)
        vectors = checks.check_embeddings(embeddings, len(texts))
        labels = checks.check_labels(y, len(texts))
        store = fitting.open_store(self.cache_dir)  # after the checks: bad input leaves no temporary store
        self._set_fitted(fitting.fit_stages(self._arguments(), store, texts, vectors, labels, update_mode="refit"))
        return self.topics_, self.probabilities_

    def partial_fit(self, documents: Sequence[str], embeddings: np.ndarray | None = None, y: Sequence | None = None
                    ) -> TopicModel:
        """Add documents: they are placed in the fitted reducer/clusterer and topic ids stay stable, until
        ``updates.refit_every`` documents arrived since the last fit (the pipeline's ``updates.mode: assign``).
        With incremental models (``partial_fit`` on both) it is BERTopic's online mode instead.
        """
        texts = checks.check_documents(documents)
        vectors = checks.check_embeddings(embeddings, len(texts))
        record = self.__dict__.get("fitted_state_")
        if online.is_online(self.umap_model, self.hdbscan_model):
            if vectors is None:
                vectors = (prediction.encoder(record.params.embedding) if record is not None else
                           prediction.encoder(online.first_params(self._arguments()).embedding))(texts)
            self._set_fitted(online.partial_fit_online(record, self._arguments(), texts, vectors))
            return self
        if record is None:
            new = fitting.fit_stages(self._arguments(), fitting.open_store(self.cache_dir), texts, vectors, None,
                                     update_mode="assign")
        else:
            if (vectors is None) != (record.embeddings is None) or record.store is None:
                raise ModelArgumentError("partial_fit needs embeddings exactly when the model was fitted with "
                                      "embeddings, and a model fitted here (not loaded).")
            combined = None if vectors is None else np.vstack([record.embeddings, vectors])
            new = fitting.fit_stages(self._arguments(), record.store, (record.documents or []) + texts, combined, None,
                                     update_mode="assign")
        self._set_fitted(new)
        return self

    def transform(self, documents: str | Sequence[str], embeddings: np.ndarray | None = None, images: Any = None
                  ) -> tuple[list[int], np.ndarray | None]:
        """Topics of new documents: the fitted reducer and clusterer (HDBSCAN ``approximate_predict``), or,
        for a model loaded from safetensors, the most similar topic embedding (as BERTopic)."""
        record = self.fitted
        texts = checks.check_documents([documents] if isinstance(documents, str) else documents)
        vectors = checks.check_embeddings(embeddings, len(texts), dim=embedding_dim(record))
        if vectors is None:
            vectors = self._encoder()(texts)
        return prediction.predict(record, vectors, calculate_probabilities=self.calculate_probabilities)

    def _check_fitted(self) -> FittedTopicModel:
        return self.fitted

    # --- reading the fitted model ---------------------------------------------------------------
    def get_topic(self, topic: int, full: bool = False) -> list[tuple[str, float]] | dict | bool:
        words = self.fitted.description.words
        if topic not in words:
            return False
        if full:
            return {"Main": words[topic], **{name: aspect[topic] for name, aspect in
                                              self.fitted.description.aspects.items() if topic in aspect}}
        return words[topic]

    def get_topics(self, full: bool = False) -> dict:
        words = dict(self.fitted.description.words)
        return {"Main": words, **self.topic_aspects_} if full else words

    def get_topic_freq(self, topic: int | None = None) -> pd.DataFrame | int:
        if topic is not None:
            return self.fitted.description.sizes[topic]
        return tables.topic_freq(self.fitted)

    def get_topic_info(self, topic: int | None = None) -> pd.DataFrame:
        """Topic, Count, Name, [CustomName], Representation, one column per aspect, Representative_Docs."""
        return tables.topic_info(self.fitted, topic)

    def get_document_info(self, docs: Sequence[str], df: pd.DataFrame | None = None,
                          metadata: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """One row per training document: its topic, the topic's info, top words, probability,
        whether it is a representative document, plus ``df``'s columns and ``metadata``."""
        return tables.document_info(self._checked(docs), list(docs), df, metadata)

    def get_representative_docs(self, topic: int | None = None) -> list[str] | dict[int, list[str]]:
        docs = self.representative_docs_
        return docs[topic] if topic is not None else docs

    def generate_topic_labels(self, nr_words: int = 3, topic_prefix: bool = True, word_length: int | None = None,
                              separator: str = "_", aspect: str | None = None) -> list[str]:
        """Labels from each topic's words (of the main representation or an aspect), in topic order."""
        return tables.generate_labels(self.fitted, nr_words, topic_prefix, word_length, separator, aspect)

    def set_topic_labels(self, topic_labels: Sequence[str] | Mapping[int, str]) -> None:
        """Custom labels (``custom_labels_``): a list with one label per topic, or a dict topic -> label."""
        self.fitted_state_ = self.fitted.replace(custom_labels=tables.custom_labels(self.fitted, topic_labels))

    # --- changing the topics ------------------------------------------------------------------
    def update_topics(self, docs: Sequence[str], topics: Sequence[int] | None = None, top_n_words: int = 10,
                      n_gram_range: tuple[int, int] | None = None, vectorizer_model: Any = None,
                      ctfidf_model: Any = None, representation_model: Any = None) -> None:
        """Describe the topics again with new settings and/or new assignments (e.g. after ``reduce_outliers``)."""
        record = self._checked(docs)
        params = changes.update_settings(record.params, n_gram_range or self.n_gram_range, top_n_words,
                                         vectorizer_model, ctfidf_model, representation_model)
        new = record.topics if topics is None else checks.check_topics(topics, len(docs))
        self._set_fitted(changes.after_change(record, list(docs), new, params, None, self._encoder()),
                         changed_in_memory=True)

    def merge_topics(self, docs: Sequence[str], topics_to_merge: Sequence[int] | Sequence[Sequence[int]]) -> None:
        """Merge groups of topics into one each; ids are then renumbered by size (as BERTopic)."""
        record = self._checked(docs)
        # with zero-shot topics BERTopic keeps the ids (no renumbering by size)
        remap = merge_topic_ids(record.topics, topics_to_merge, renumber=not record.zeroshot_names)
        self._set_fitted(changes.after_change(record, list(docs), remap.topics, record.params, remap.mapping,
                                              self._encoder()), changed_in_memory=True)

    def reduce_topics(self, docs: Sequence[str], nr_topics: int | str = 20, use_ctfidf: bool = False) -> TopicModel:
        """Merge similar topics down to ``nr_topics`` (an int, counting -1, or ``"auto"``)."""
        record = self._checked(docs)
        nr_topics = checks.check_nr_topics(nr_topics)
        remap = reduce_topic_ids(list(docs), record.topics, nr_topics, record.embeddings, use_ctfidf=use_ctfidf,
                                 vectorizer=record.params.vectorizer, ctfidf=record.params.ctfidf)
        self._set_fitted(changes.after_change(record, list(docs), remap.topics, record.params, remap.mapping,
                                              self._encoder()), changed_in_memory=True)
        return self

    def delete_topics(self, topics_to_delete: Sequence[int]) -> None:
        """Make the given topics outliers (-1) and renumber the rest by size, as BERTopic does.

        The other topics keep their words, names and representative documents under their new ids; -1 keeps
        its own (BERTopic does not describe it again either).
        """
        self._set_fitted(changes.delete_topics(self.fitted, checks.check_topic_list(topics_to_delete,
                                                                                   self.fitted.topic_ids)),
                         changed_in_memory=True)

    def reduce_outliers(self, documents: Sequence[str], topics: Sequence[int], images: Any = None,
                        strategy: str = "distributions", probabilities: np.ndarray | None = None,
                        threshold: float = 0, embeddings: np.ndarray | None = None,
                        distributions_params: Mapping[str, Any] | None = None) -> list[int]:
        """New topics for the outlier documents (nothing else changes); follow with ``update_topics``."""
        record = self.fitted
        texts = checks.check_documents(documents)
        current = checks.check_topics(topics, len(texts))
        strategy = checks.check_strategy(strategy)
        if not (current == -1).any():
            raise ModelArgumentError("No outliers to reduce: no document has topic -1.")
        vectors = checks.check_embeddings(embeddings, len(texts), dim=embedding_dim(record))
        if strategy == "embeddings" and vectors is None:
            vectors = self._encoder()(texts)
        new = reassign_outliers(texts, current, strategy, threshold, vectorizer=record.params.vectorizer,
                                ctfidf=record.params.ctfidf, embeddings=vectors, probabilities=probabilities,
                                description=record.description, distribution_settings=dict(distributions_params or {}))
        return [int(t) for t in new]

    # --- distributions and search -------------------------------------------------------------
    def approximate_distribution(self, documents: str | Sequence[str], window: int = 4, stride: int = 1,
                                 min_similarity: float = 0.1, batch_size: int | None = 1000, padding: bool = False,
                                 use_embedding_model: bool = False, calculate_tokens: bool = False,
                                 separator: str = " ") -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Topic distribution per document from sliding token windows, and with ``calculate_tokens`` one
        (n_tokens, n_topics) array per document (BERTopic's types)."""
        record = self.fitted
        texts = checks.check_documents([documents] if isinstance(documents, str) else documents)
        return prediction.distributions(record, texts, dict(
            window=window, stride=stride, min_similarity=min_similarity, batch_size=batch_size, padding=padding,
            use_embedding_model=use_embedding_model, calculate_tokens=calculate_tokens, separator=separator),
            self._encoder())

    def find_topics(self, search_term: str, image: Any = None, top_n: int = 5) -> tuple[list[int], list[float]]:
        """The ``top_n`` topics whose embeddings are most similar to the embedded ``search_term``."""
        record = self.fitted
        if not isinstance(search_term, str) or not search_term.strip():
            raise ModelArgumentError(f"find_topics needs a non-empty search term, got {search_term!r}.")
        return prediction.find_topics(record, self._encoder()([search_term]), top_n)

    # --- structure and dynamics ---------------------------------------------------------------
    def hierarchical_topics(self, docs: Sequence[str], use_ctfidf: bool = True, linkage_function: Any = None,
                            distance_function: Any = None) -> pd.DataFrame:
        """The merge tree in BERTopic's columns: by default ward linkage on c-TF-IDF cosine distances;
        ``use_ctfidf=False`` compares topic embeddings; both functions as in BERTopic."""
        return tables.hierarchy(self._checked(docs), use_ctfidf=use_ctfidf, linkage_function=linkage_function,
                                distance_function=distance_function)

    def get_topic_tree(self, hier_topics: pd.DataFrame, max_distance: float | None = None,
                       tight_layout: bool = False) -> str:
        """A plain-text tree of ``hierarchical_topics``' result (BERTopic's arguments)."""
        return tables.tree(hier_topics, max_distance=max_distance, tight_layout=tight_layout)

    def topics_over_time(self, docs: Sequence[str], timestamps: Sequence, topics: Sequence[int] | None = None,
                         nr_bins: int | None = None, datetime_format: str | None = None, evolution_tuning: bool = True,
                         global_tuning: bool = True) -> pd.DataFrame:
        """Topic, Words, Frequency, Timestamp per time bin (evolution tuning does work here)."""
        return tables.over_time(self._checked(docs), list(docs), timestamps, topics, nr_bins, datetime_format,
                                evolution_tuning, global_tuning)

    def topics_per_class(self, docs: Sequence[str], classes: Sequence, global_tuning: bool = True) -> pd.DataFrame:
        """Topic, Words, Frequency, Class per class label."""
        return tables.per_class(self._checked(docs), list(docs), list(classes), global_tuning)

    def _checked(self, docs: Sequence[str]) -> FittedTopicModel:
        """The record, once ``docs`` are the training documents (their count, for a model that has them)."""
        record = self.fitted
        if record.documents is not None and len(docs) != len(record.topics):
            raise ModelArgumentError(f"Expected the {len(record.topics)} documents the model was fitted on, "
                                  f"got {len(docs)}.")
        return record

    # --- saving -------------------------------------------------------------------------------
    def save(self, path: str | Path, serialization: str = "safetensors", save_ctfidf: bool = False,
             save_embedding_model: bool | str = True) -> None:
        """Write BERTopic's safetensors directory layout (``BERTopic.load`` reads it). Never pickle.

        An unfitted model saves its settings only (``config.json``), as BERTopic allows.
        """
        saving.save(self.__dict__.get("fitted_state_"), self._arguments(), Path(path), serialization, save_ctfidf,
                    save_embedding_model)

    @classmethod
    def load(cls, path: str | Path, embedding_model: Any = None) -> TopicModel:
        """Read a safetensors directory saved by us or by BERTopic; pickles are refused, never unpickled."""
        arguments, record = saving.load(Path(path), embedding_model)
        model = cls(**arguments)
        if record is not None:
            model._set_fitted(record)
        return model

    @classmethod
    def merge_models(cls, models: Sequence[TopicModel], min_similarity: float = 0.7, embedding_model: Any = None
                     ) -> TopicModel:
        """One model with the topics of the first plus each later model's topics that are new to it."""
        records = []
        for position, model in enumerate(models):
            record = model.__dict__.get("fitted_state_") if isinstance(model, TopicModel) else None
            if record is None:
                raise ModelArgumentError(f"models[{position}] is not a fitted TopicModel; fit or load it before merging.")
            records.append((record, model._arguments()))
        if not records:
            raise ModelArgumentError("merge_models needs at least one fitted model.")
        arguments, record = saving.merge(records, min_similarity,
                                         embedding_model if embedding_model is not None else models[0].embedding_model)
        merged = cls(**arguments)
        merged._set_fitted(record)
        return merged
