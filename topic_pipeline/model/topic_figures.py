"""BERTopic's topic-level figures as ``TopicModel`` methods: barchart, heatmap, term rank, hierarchy, over time, per class.

Each method gathers plain data from the fitted record (topics by size, words,
labels, c-TF-IDF rows or topic embeddings) and hands it to the figure function in
``topic_pipeline.plots``, the same functions the pipeline's report calls on stored
tables. Names, arguments and defaults are BERTopic 0.17.4's; where BERTopic's
choice of labels or rows depends on topic ids being 0..n-1 (custom labels
indexed by ``topic + 1``, heatmap rows by position) we look the topic up by id,
which gives the same figure whenever BERTopic's would be right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline.core.hierarchy import custom_linkage, topic_linkage
from topic_pipeline.errors import ModelArgumentError
from topic_pipeline.model.figure_inputs import aspect_words, figure_vectors
from topic_pipeline.plots.barchart import topic_barchart
from topic_pipeline.plots.dendrogram import merge_hover, topic_dendrogram
from topic_pipeline.plots.heatmap import topic_heatmap
from topic_pipeline.plots.selection import (
    Words,
    joined_words,
    labels_from,
    legend_label,
    prefixed_label,
    select_topics,
    short_label,
)
from topic_pipeline.plots.term_rank import term_rank_figure
from topic_pipeline.plots.topics_over_time import topics_over_time_figure
from topic_pipeline.plots.topics_per_class import topics_per_class_figure

LabelOf = Callable[[int, Words], str]


class TopicFigures:
    """Mixin of ``TopicModel``: the ``visualize_*`` methods of BERTopic that show topics (not documents)."""

    # --- what the figures share ---------------------------------------------------------------------
    def _by_frequency(self) -> list[int]:
        return [int(t) for t in self.get_topic_freq()["Topic"]]

    def _custom_labels(self, custom_labels: bool | str, label_of: LabelOf) -> dict[int, str] | None:
        """Labels for ``custom_labels``: an aspect's words through ``label_of``; ``True`` with labels set by
        ``set_topic_labels``: those; otherwise None (the figure's default labels)."""
        if isinstance(custom_labels, str):
            return {t: label_of(t, words) for t, words in aspect_words(self.topic_aspects_, custom_labels).items()}
        labels = self.custom_labels_
        if custom_labels and labels is not None:
            return labels_from(dict(zip(self.fitted.topic_ids, labels, strict=True)), self.fitted.topic_ids)
        return None

    def _topic_vectors(self, use_ctfidf: bool) -> tuple[Any, list[int]]:
        """c-TF-IDF rows or topic embeddings (the other one when the asked one is missing, as BERTopic) and the
        topic of each row."""
        vectors, row_topics, _ = figure_vectors(self.fitted, use_ctfidf)
        return vectors, row_topics

    def _rows_of(self, topics: Sequence[int], use_ctfidf: bool) -> Any:
        vectors, row_topics = self._topic_vectors(use_ctfidf)
        unknown = sorted(set(topics) - set(row_topics))
        if unknown:
            raise ModelArgumentError(f"Topics {unknown} do not exist; topics are {row_topics}.")
        return vectors[[row_topics.index(t) for t in topics]]

    # --- the figures ----------------------------------------------------------------------------------
    def visualize_barchart(self, topics: Sequence[int] | None = None, top_n_topics: int = 8, n_words: int = 5,
                           custom_labels: bool | str = False, title: str = "Topic Word Scores", width: int = 250,
                           height: int = 250, autoscale: bool = False):
        """Bar charts of the top ``n_words`` words of the ``top_n_topics`` largest topics (or ``topics``)."""
        shown = select_topics(self._by_frequency(), topics, top_n_topics, default_n=6)
        return topic_barchart(shown, self.topic_representations_, self._custom_labels(custom_labels, short_label),
                              n_words=n_words, title=title, width=width, height=height, autoscale=autoscale)

    def visualize_heatmap(self, topics: Sequence[int] | None = None, top_n_topics: int | None = None,
                          n_clusters: int | None = None, use_ctfidf: bool = False, custom_labels: bool | str = False,
                          title: str = "<b>Similarity Matrix</b>", width: int = 800, height: int = 800):
        """Cosine similarity of topic embeddings (``use_ctfidf``: c-TF-IDF rows), ordered by ``n_clusters``."""
        shown = select_topics(self._by_frequency(), topics, top_n_topics)
        return topic_heatmap(self._rows_of(shown, use_ctfidf), shown, words=self.topic_representations_,
                             labels=self._custom_labels(custom_labels, short_label), n_clusters=n_clusters,
                             title=title, width=width, height=height)

    def visualize_term_rank(self, topics: Sequence[int] | None = None, log_scale: bool = False,
                            custom_labels: bool | str = False, title: str = "<b>Term score decline per Topic</b>",
                            width: int = 800, height: int = 500):
        """Each topic's word scores by rank; ``topics`` are highlighted in red."""
        words = self.topic_representations_
        return term_rank_figure(sorted(words), words, self._custom_labels(custom_labels, prefixed_label),
                                highlighted=topics or (), log_scale=log_scale, title=title, width=width, height=height)

    def visualize_hierarchy(self, orientation: str = "left", topics: Sequence[int] | None = None,
                            top_n_topics: int | None = None, use_ctfidf: bool = True, custom_labels: bool | str = False,
                            title: str = "<b>Hierarchical Clustering</b>", width: int = 1000, height: int = 600,
                            hierarchical_topics: pd.DataFrame | None = None, linkage_function: Callable | None = None,
                            distance_function: Callable | None = None, color_threshold: int = 1):
        """Dendrogram of the topics from the linkage ``hierarchical_topics`` uses; given that table (and all
        topics shown), each merge's hover names what it joins."""
        ranked = self._by_frequency()
        shown = select_topics(ranked, topics, top_n_topics)
        linkage = self._linkage(shown, use_ctfidf, linkage_function, distance_function)
        words = self.topic_representations_
        ticks = self._custom_labels(custom_labels, short_label) or {t: short_label(t, words[t]) for t in shown}
        hover = None
        if hierarchical_topics is not None and len(shown) == len(ranked) - (-1 in ranked):
            names = self._custom_labels(custom_labels, prefixed_label) or {t: joined_words(words[t], 5) for t in shown}
            hover = merge_hover(linkage, shown, [names[t] for t in shown], hierarchical_topics, orientation)
        return topic_dendrogram(linkage, shown, [ticks[t] for t in shown], orientation=orientation, hover=hover,
                                merge_markers=hierarchical_topics is not None, color_threshold=color_threshold,
                                title=title, width=width, height=height)

    def _linkage(self, topics: list[int], use_ctfidf: bool, linkage_function: Callable | None,
                 distance_function: Callable | None) -> np.ndarray:
        """The linkage ``hierarchical_topics`` builds, over ``topics`` only."""
        vectors = self._rows_of(topics, use_ctfidf)
        if linkage_function is None and distance_function is None and use_ctfidf:
            return topic_linkage(vectors, self.fitted.params.hierarchy.linkage)
        return custom_linkage(vectors, linkage_function, distance_function)

    def _table_labels(self, custom_labels: bool | str) -> dict[int, str]:
        """Legend names of the over-time and per-class figures: the topic labels cut at 40 characters."""
        chosen = self._custom_labels(custom_labels, short_label)
        if chosen is not None:
            return chosen
        return {t: legend_label(label) for t, label in self.topic_labels_.items()}

    def visualize_topics_over_time(self, topics_over_time: pd.DataFrame, top_n_topics: int | None = None,
                                   topics: Sequence[int] | None = None, normalize_frequency: bool = False,
                                   custom_labels: bool | str = False, title: str = "<b>Topics over Time</b>",
                                   width: int = 1250, height: int = 450):
        """Lines of ``topics_over_time``'s frequencies (the table is not changed)."""
        shown = select_topics(self._by_frequency(), topics, top_n_topics)
        return topics_over_time_figure(topics_over_time, shown, self._table_labels(custom_labels),
                                       normalize_frequency=normalize_frequency, title=title, width=width, height=height)

    def visualize_topics_per_class(self, topics_per_class: pd.DataFrame, top_n_topics: int = 10,
                                   topics: Sequence[int] | None = None, normalize_frequency: bool = False,
                                   custom_labels: bool | str = False, title: str = "<b>Topics per Class</b>",
                                   width: int = 1250, height: int = 900):
        """Bars of ``topics_per_class``'s frequencies (the table is not changed)."""
        shown = select_topics(self._by_frequency(), topics, top_n_topics)
        return topics_per_class_figure(topics_per_class, shown, self._table_labels(custom_labels),
                                       normalize_frequency=normalize_frequency, title=title, width=width, height=height)
