"""Which figures the report shows, drawn from stored tables with the same functions ``TopicModel`` uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topic_pipeline.core.topic_ids import topic_embeddings
from topic_pipeline.params import ReportParams


@dataclass
class ReportData:
    """The stored results a report is drawn from (rows of ``ctfidf`` follow ``topic_ids``)."""

    documents: pd.DataFrame  # doc_id, text, timestamp, label
    topics: np.ndarray  # topic per document, in the documents' order
    topic_table: pd.DataFrame  # topics.parquet
    terms: pd.DataFrame  # topic_terms.parquet
    quality: pd.DataFrame | None
    topic_ids: np.ndarray
    ctfidf: sp.csr_matrix
    embeddings: np.ndarray | None
    hierarchy: pd.DataFrame | None
    over_time: pd.DataFrame | None
    per_class: pd.DataFrame | None
    document_map: pd.DataFrame | None
    hierarchy_linkage: str = "ward"  # the linkage method topic_hierarchy was built with

    def labels(self) -> dict[int, str]:
        """Topic id -> the stored topic name (e.g. ``0_game_team_games_season``)."""
        return dict(zip(self.topic_table["topic_id"].astype(int), self.topic_table["name"].astype(str), strict=True))

    def topic_words(self) -> dict[int, list[tuple[str, float]]]:
        """Topic id -> its Main (word, weight) pairs in rank order, BERTopic's empty padding words kept."""
        main = self.terms.loc[self.terms["aspect"] == "Main"].sort_values(
            ["topic_id", "rank"])
        return {int(t): list(zip(group["term"], group["weight"].astype(float), strict=True))
                for t, group in main.groupby("topic_id", sort=True)}

    def sizes(self) -> dict[int, int]:
        return dict(zip(self.topic_table["topic_id"].astype(int), self.topic_table["size"].astype(int), strict=True))

    def topic_vectors(self) -> np.ndarray | None:
        """Mean document embedding per topic, row i for ``topic_ids[i]`` (BERTopic's ``topic_embeddings_``)."""
        if self.embeddings is None or len(self.embeddings) != len(self.topics):
            return None
        means = dict(zip(np.unique(self.topics).tolist(), topic_embeddings(self.embeddings, self.topics), strict=True))
        return np.vstack([means[int(t)] for t in self.topic_ids]) if set(self.topic_ids.tolist()) <= set(means) \
            else None


def mapped_documents(data: ReportData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """x, y, topic and row (in ``documents``) of every document on the stored 2-D map; None without a map."""
    if data.document_map is None or data.document_map.empty:
        return None
    coordinates = data.document_map.set_index("doc_id").reindex(data.documents["doc_id"])
    rows = np.flatnonzero(coordinates["x"].notna().to_numpy())
    return coordinates["x"].to_numpy()[rows], coordinates["y"].to_numpy()[rows], data.topics[rows], rows


Section = tuple[str, Any]


def report_sections(data: ReportData, settings: ReportParams) -> tuple[list[Section], list[str]]:
    """The report's figures in order, and notes saying why a figure is missing."""
    sections: list[Section] = []
    notes: list[str] = []
    for title, draw in FIGURES:
        figure, note = draw(data, settings)
        if figure is not None:
            sections.append((title, figure))
        if note:
            notes.append(note)
    return sections, notes


ANNOTATED_TOPICS = 20
BARCHART_TOPICS = 32  # eight rows of four small charts: more would be a wall of bars
HOVER_CHARS = 300  # a document's hover text in the report: enough to recognise it, and the file stays small


def documents_figure(data: ReportData, settings: ReportParams) -> tuple[Any, str | None]:
    """The stored 2-D map, sampled per topic as ``visualize_documents(sample=...)`` and capped at
    ``max_documents`` points."""
    from topic_pipeline.plots.documents import documents_map, sample_documents

    mapped = mapped_documents(data)
    if mapped is None:
        return None, "No documents map: the document_map stage is switched off (document_map.enabled) or empty."
    x, y, topics, document_rows = mapped
    texts = data.documents["text"].to_numpy()[document_rows]
    rows = sample_documents(topics, settings.documents_sample if settings.documents_sample < 1 else None,
                            random_state=np.random.RandomState(42))
    if len(rows) > settings.max_documents:
        rows = np.sort(np.random.RandomState(42).choice(rows, settings.max_documents, replace=False))
    shown = [text if len(text) <= HOVER_CHARS else text[:HOVER_CHARS].rstrip() + "..." for text in texts[rows]]
    many = len(set(topics.tolist()) - {-1}) > ANNOTATED_TOPICS  # labels on the map would overlap; the legend has them
    figure = documents_map(x[rows], y[rows], topics[rows], shown, data.labels(), hide_annotations=many,
                           title="<b>Documents and Topics</b>")
    note = (f"The documents map shows {len(rows):,} of {len(x):,} documents (report.documents_sample, "
            "report.max_documents)." if len(rows) < len(x) else None)
    return figure, note


def _by_size(data: ReportData) -> list[int]:
    """Topic ids largest first (stored ids are numbered by size already), outliers included."""
    sizes = data.sizes()
    return sorted(sizes, key=lambda t: (-sizes[t], t))


def _shown(data: ReportData, settings: ReportParams) -> list[int]:
    from topic_pipeline.plots.selection import select_topics

    return select_topics(_by_size(data), None, settings.top_n_topics)


def barchart_figure(data: ReportData, settings: ReportParams) -> tuple[Any, str | None]:
    from topic_pipeline.plots.barchart import topic_barchart
    from topic_pipeline.plots.selection import select_topics

    shown = select_topics(_by_size(data), None, min(settings.top_n_topics or BARCHART_TOPICS, BARCHART_TOPICS))
    if not shown:
        return None, "No topic words: every document is an outlier."
    return topic_barchart(shown, data.topic_words(), n_words=settings.n_words), None


def hierarchy_figure(data: ReportData, settings: ReportParams) -> tuple[Any, str | None]:
    """The dendrogram of every topic from the c-TF-IDF rows (as ``visualize_hierarchy()``), hover from the
    stored merge tree."""
    from topic_pipeline.core.hierarchy import topic_linkage
    from topic_pipeline.plots.dendrogram import merge_hover, topic_dendrogram
    from topic_pipeline.plots.selection import joined_words, short_label

    topics = [int(t) for t in data.topic_ids if t != -1]
    if len(topics) < 2 or data.hierarchy is None or data.hierarchy.empty:
        return None, "No hierarchy: fewer than two topics."
    rows = [list(data.topic_ids).index(t) for t in topics]
    linkage = topic_linkage(data.ctfidf[rows], str(data.hierarchy_linkage))
    words = data.topic_words()
    hover = merge_hover(linkage, topics, [joined_words(words.get(t), 5) for t in topics],
                        data.hierarchy.rename(columns=BERTOPIC_HIERARCHY_COLUMNS), "left")
    return topic_dendrogram(linkage, topics, [short_label(t, words.get(t)) for t in topics], hover=hover,
                            merge_markers=True), None


BERTOPIC_HIERARCHY_COLUMNS = {
    "parent_id": "Parent_ID", "parent_name": "Parent_Name", "topic_ids": "Topics", "left_child_id": "Child_Left_ID",
    "left_child_name": "Child_Left_Name", "right_child_id": "Child_Right_ID", "right_child_name": "Child_Right_Name",
    "distance": "Distance",
}


def heatmap_figure(data: ReportData, settings: ReportParams) -> tuple[Any, str | None]:
    """Similarity of the topic embeddings (c-TF-IDF rows without embeddings), as ``visualize_heatmap()``."""
    from topic_pipeline.plots.heatmap import topic_heatmap

    shown = [t for t in _shown(data, settings) if t != -1]
    if len(shown) < 2:
        return None, None
    vectors = data.topic_vectors()
    source = vectors if vectors is not None else data.ctfidf
    rows = [list(data.topic_ids).index(t) for t in shown]
    return topic_heatmap(source[rows], shown, words=data.topic_words()), None


def _table_labels(data: ReportData, shown: list[int]) -> dict[int, str]:
    from topic_pipeline.plots.selection import legend_label

    labels = data.labels()
    return {t: legend_label(labels.get(t, str(t))) for t in shown}


def _bertopic_columns(table: pd.DataFrame, group: str) -> pd.DataFrame:
    """A stored over-time / per-class table with BERTopic's column names (Topic, Words, Frequency, Timestamp
    or Class), which the figure functions take."""
    return table.rename(columns={"topic_id": "Topic", "words": "Words", "frequency": "Frequency",
                                 group: group.capitalize()})


def over_time_figure(data: ReportData, settings: ReportParams) -> tuple[Any, str | None]:
    from topic_pipeline.plots.topics_over_time import topics_over_time_figure

    if data.documents["timestamp"].isna().all() or data.over_time is None or data.over_time.empty:
        return None, ("No topics over time: the documents have no timestamps (set corpus.timestamp_column, "
                      "or give the files a 'timestamp' column).")
    shown = _shown(data, settings)
    return topics_over_time_figure(_bertopic_columns(data.over_time, "timestamp"), shown,
                                   _table_labels(data, shown)), None


def per_class_figure(data: ReportData, settings: ReportParams) -> tuple[Any, str | None]:
    from topic_pipeline.plots.topics_per_class import topics_per_class_figure

    if data.documents["label"].isna().all() or data.per_class is None or data.per_class.empty:
        return None, ("No topics per class: the documents have no labels (set corpus.label_column, or give the "
                      "files a 'label' column).")
    shown = _shown(data, settings)
    return topics_per_class_figure(_bertopic_columns(data.per_class, "class"), shown,
                                   _table_labels(data, shown)), None


FIGURES: list[tuple[str, Callable[[ReportData, ReportParams], tuple[Any, str | None]]]] = [
    ("Documents and topics", documents_figure),
    ("Topic words (barchart)", barchart_figure),
    ("Hierarchy of the topics", hierarchy_figure),
    ("Similarity of the topics", heatmap_figure),
    ("Topics over time", over_time_figure),
    ("Topics per class", per_class_figure),
]
