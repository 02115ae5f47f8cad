"""``DocumentFigures``: BERTopic 0.17.4's document- and space-level figures as ``TopicModel`` methods.

``visualize_topics``, ``visualize_documents``, ``visualize_hierarchical_documents``,
``visualize_document_datamap``, ``visualize_distribution`` and ``visualize_approximate_distribution``, with
BERTopic's arguments and defaults. Each gathers the fitted model's topics, sizes, words and labels and calls
the plain figure function in ``topic_pipeline.plots``, the same one the pipeline's report draws from stored
tables. Where BERTopic embeds the documents again, the embeddings the model was fitted with are reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline.core.document_map import reduce_to_2d, reduce_topics_to_2d
from topic_pipeline.errors import ModelArgumentError
from topic_pipeline.model.figure_inputs import aspect_words, figure_vectors
from topic_pipeline.plots import approximate_distribution, datamap, distribution, documents, hierarchical_documents
from topic_pipeline.plots.selection import cut
from topic_pipeline.plots.topic_map import intertopic_distance_map

ASPECT_LABEL_LIMIT = 30  # BERTopic cuts an aspect label of 30 characters or more to 27 and adds "..."


class DocumentFigures:
    """Mixin for ``TopicModel`` (needs its fitted attributes, ``get_topic``, ``get_topic_freq`` and ``_checked``)."""

    # --- labels, as each BERTopic figure writes them ------------------------------------------
    def _custom_figure_labels(self, custom_labels: bool | str, *, separator: str = "_") -> dict[int, str] | None:
        """Topic id -> label when ``custom_labels`` asks for one, else None (the figure's default label).

        A string names an aspect: ``"<id>_w1_w2_w3"`` of that aspect's words (joined by ``separator``), cut to
        30 characters; True uses ``set_topic_labels``' labels, when there are any.
        """
        if isinstance(custom_labels, str):
            aspect = self._aspect(custom_labels)
            return {t: cut(separator.join([str(t), *[w for w, _ in words][:3]]), ASPECT_LABEL_LIMIT)
                    for t, words in aspect.items()}
        if custom_labels and self.custom_labels_ is not None:
            return dict(zip(sorted(self.topic_sizes_), self.custom_labels_, strict=False))
        return None

    def _aspect(self, name: str) -> dict[int, list[tuple[str, float]]]:
        return aspect_words(self.topic_aspects_, name)

    def _words(self, topic: int) -> list[str]:
        return [w for w, _ in (self.get_topic(topic) or [])]

    # --- document coordinates ----------------------------------------------------------------
    def _document_coordinates(self, docs: Sequence[str] | None, rows: np.ndarray, embeddings: np.ndarray | None,
                              reduced_embeddings: np.ndarray | None, **umap: Any) -> np.ndarray:
        """x, y of the documents at ``rows``: ``reduced_embeddings`` when given, else UMAP (``reduce_to_2d``)
        of ``embeddings``, of the embeddings the model was fitted with, or (only without those) of the
        documents embedded again, as BERTopic does."""
        n_docs = len(self.topics_)
        if reduced_embeddings is not None:
            reduced = np.asarray(reduced_embeddings)
            if reduced.ndim != 2 or reduced.shape[0] != n_docs or reduced.shape[1] < 2:
                raise ModelArgumentError(f"reduced_embeddings must have shape ({n_docs}, 2), one row per training "
                                         f"document; got {reduced.shape}.")
            return reduced[rows, :2]
        vectors = embeddings if embeddings is not None else self.embeddings_
        if vectors is None:
            if docs is None:
                raise ModelArgumentError("Pass docs, embeddings or reduced_embeddings: this model keeps no embeddings.")
            return reduce_to_2d(self._encoder()([docs[r] for r in rows]), **umap)
        vectors = np.asarray(vectors)
        if len(vectors) != n_docs:
            raise ModelArgumentError(f"embeddings must have one row per training document ({n_docs}); "
                                     f"got {len(vectors)}.")
        return reduce_to_2d(vectors[rows], **umap)

    # --- the figures ---------------------------------------------------------------------------
    def visualize_topics(self, topics: list[int] | None = None, top_n_topics: int | None = None, use_ctfidf: bool = False,
                         custom_labels: bool | str = False, title: str = "<b>Intertopic Distance Map</b>",
                         width: int = 650, height: int = 650):
        """Intertopic distance map: topic embeddings (or c-TF-IDF with ``use_ctfidf``) in 2-D, bubble = size."""
        freq = self.get_topic_freq()
        ranked = [int(t) for t in freq["Topic"] if t != -1]
        if topics is not None:
            chosen = sorted({int(t) for t in topics})
            unknown = sorted(set(chosen) - set(self.topic_sizes_))
            if unknown:
                raise ModelArgumentError(f"Topics {unknown} do not exist; topics are {sorted(self.topic_sizes_)}.")
        else:
            chosen = sorted(ranked[:top_n_topics] if top_n_topics is not None else ranked)
        names = self._custom_figure_labels(custom_labels)
        words = [names[t] if names else " | ".join(self._words(t)[:5]) for t in chosen]
        vectors, row_topics, is_ctfidf = figure_vectors(self.fitted, use_ctfidf)
        coordinates = reduce_topics_to_2d(vectors[[row_topics.index(t) for t in chosen]], use_ctfidf=is_ctfidf)
        sizes = self.topic_sizes_
        return intertopic_distance_map(chosen, [sizes[t] for t in chosen], words, coordinates, title=title,
                                       width=width, height=height)

    def visualize_documents(self, docs: list[str], topics: list[int] | None = None, embeddings: np.ndarray = None,
                            reduced_embeddings: np.ndarray = None, sample: float | None = None,
                            hide_annotations: bool = False, hide_document_hover: bool = False,
                            custom_labels: bool | str = False, title: str = "<b>Documents and Topics</b>",
                            width: int = 1200, height: int = 750):
        """The documents in 2-D coloured by topic; hover = the (escaped) document, outliers grey."""
        self._checked(docs)
        assigned = np.asarray(self.topics_)
        rows = documents.sample_documents(assigned, sample)
        points = self._document_coordinates(docs, rows, embeddings, reduced_embeddings)
        labels = self._custom_figure_labels(custom_labels) or {
            t: "_".join([str(t), *self._words(t)[:3]]) for t in self.topic_sizes_}
        return documents.documents_map(points[:, 0], points[:, 1], assigned[rows], [docs[r] for r in rows], labels,
                                       selected=topics, hide_annotations=hide_annotations,
                                       hide_document_hover=hide_document_hover, title=title, width=width, height=height)

    def visualize_hierarchical_documents(self, docs: list[str], hierarchical_topics: pd.DataFrame,
                                         topics: list[int] | None = None, embeddings: np.ndarray = None,
                                         reduced_embeddings: np.ndarray = None, sample: float | int | None = None,
                                         hide_annotations: bool = False, hide_document_hover: bool = True,
                                         nr_levels: int = 10, level_scale: str = "linear",
                                         custom_labels: bool | str = False,
                                         title: str = "<b>Hierarchical Documents and Topics</b>",
                                         width: int = 1200, height: int = 750):
        """The documents map at ``nr_levels`` levels of ``hierarchical_topics``, one level per slider step."""
        self._checked(docs)
        assigned = np.asarray(self.topics_)
        rows = documents.sample_documents(assigned, sample)
        points = self._document_coordinates(docs, rows, embeddings, reduced_embeddings)
        return hierarchical_documents.hierarchical_documents_map(
            points[:, 0], points[:, 1], assigned[rows], [docs[r] for r in rows], hierarchical_topics,
            self._leaf_labels(custom_labels), selected=topics, hide_annotations=hide_annotations,
            hide_document_hover=hide_document_hover, nr_levels=nr_levels, level_scale=level_scale, title=title,
            width=width, height=height)

    def _leaf_labels(self, custom_labels: bool | str) -> dict[int, str]:
        """The original topics' names in the hierarchical map (BERTopic's: words cut to 20 characters)."""
        leaves = [t for t in sorted(self.topic_sizes_) if t != -1 and self.get_topic(t)]
        if isinstance(custom_labels, str):
            aspect = self._aspect(custom_labels)
            return {t: "_".join([str(t), *[w for w, _ in aspect.get(t, [])][:3]]) for t in leaves}
        custom = self._custom_figure_labels(custom_labels)
        if custom is not None:
            return {t: custom[t] for t in leaves}
        return {t: "_".join([str(t), *[w[:20] for w in self._words(t)][:3]]) for t in leaves}

    def visualize_document_datamap(self, docs: list[str] | None = None, topics: list[int] | None = None,
                                   embeddings: np.ndarray = None, reduced_embeddings: np.ndarray = None,
                                   custom_labels: bool | str = False, title: str = "Documents and Topics",
                                   sub_title: str | None = None, width: int = 1200, height: int = 750,
                                   interactive: bool = False, enable_search: bool = False, topic_prefix: bool = False,
                                   datamap_kwds: dict = {}, int_datamap_kwds: dict = {}):  # BERTopic's defaults; never mutated
        """A static (matplotlib) or interactive DataMapPlot map of the documents; needs the ``datamap`` extra."""
        datamap.import_datamapplot()  # fail before any UMAP work when DataMapPlot is missing
        if docs is not None:
            self._checked(docs)
        assigned = np.asarray(self.topics_)
        points = self._document_coordinates(docs, np.arange(len(assigned)), embeddings, reduced_embeddings,
                                            n_neighbors=15, min_dist=0.15)
        names = self._custom_figure_labels(custom_labels, separator=" ") or {
            t: (f"Topic-{t}: " if topic_prefix else "") + " ".join(self._words(t)[:3]) for t in self.topic_sizes_}
        return datamap.document_datamap(
            points, datamap.document_names(assigned, names, topics), texts=docs, title=title, sub_title=sub_title,
            width=width, height=height, interactive=interactive, enable_search=enable_search,
            datamap_kwds=datamap_kwds, int_datamap_kwds=int_datamap_kwds)

    def visualize_distribution(self, probabilities: np.ndarray, min_probability: float = 0.015,
                               custom_labels: bool | str = False, title: str = "<b>Topic Probability Distribution</b>",
                               width: int = 800, height: int = 600):
        """One document's topic probabilities as bars (those of at least ``min_probability``)."""
        words = {t: [w for w, _ in pairs] for t, pairs in self.topic_representations_.items()}
        return distribution.distribution_figure(probabilities, words, names=self._custom_figure_labels(custom_labels),
                                                min_probability=min_probability, title=title, width=width,
                                                height=height)

    def visualize_approximate_distribution(self, document: str, topic_token_distribution: np.ndarray,
                                           normalize: bool = False):
        """The token-level distribution of ``approximate_distribution(..., calculate_tokens=True)`` as a
        pandas ``Styler`` (a plain DataFrame when no topic has weight), as BERTopic returns it."""
        tokens = self.vectorizer_model.build_tokenizer()(document)
        labels = self.topic_labels_
        return approximate_distribution.approximate_distribution_table(
            tokens, topic_token_distribution, [labels[t] for t in sorted(labels) if t != -1], normalize)

