"""Topic frequency per class as horizontal bars, one bar trace per topic (BERTopic's ``visualize_topics_per_class``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from topic_pipeline.plots.common import escape_text
from topic_pipeline.plots.topics_over_time import LINE_COLORS, check_columns, unit_norm, word_hover

PER_CLASS_COLUMNS = ("Topic", "Words", "Frequency", "Class")


def topics_per_class_figure(table: pd.DataFrame, topics: Sequence[int], labels: Mapping[int, str], *,
                            normalize_frequency: bool = False, title: str = "<b>Topics per Class</b>",
                            width: int = 1250, height: int = 900):
    """One bar trace per topic of ``topics``, in that order: its frequency in each class.

    Only the first topic is visible at first; the others are a click on the legend away, as in BERTopic. A topic
    without rows in ``table`` gets an empty trace (BERTopic fails there), so colours stay with their topics.

    Parameters
    ----------
    table : DataFrame with columns Topic, Words, Frequency, Class
        ``topics_per_class``'s result (or the stored table renamed to these columns); not changed.
    topics : sequence of int
        The topics to draw, in order (``selection.select_topics``).
    labels : mapping of topic id to str
        Each trace's legend name (already escaped).
    normalize_frequency : bool
        Scale each topic's frequencies to unit Euclidean norm.

    Raises
    ------
    StageInputError
        ``table`` lacks one of the columns.
    """
    import plotly.graph_objects as go

    check_columns(table, PER_CLASS_COLUMNS, "visualize_topics_per_class")
    figure = go.Figure()
    for index, topic in enumerate(int(t) for t in topics):
        rows = table.loc[table["Topic"] == topic]
        frequency = unit_norm(rows["Frequency"].to_numpy()) if normalize_frequency else rows["Frequency"]
        classes = [escape_text(c) for c in rows["Class"]]  # labels come from the corpus: shown as text
        figure.add_trace(go.Bar(y=classes, x=frequency, visible=True if index == 0 else "legendonly",
                                marker_color=LINE_COLORS[index % len(LINE_COLORS)], hoverinfo="text",
                                name=labels.get(topic, f"Topic {topic}"), orientation="h",
                                hovertext=word_hover(topic, rows["Words"])))
    figure.update_xaxes(showgrid=True)
    figure.update_yaxes(showgrid=True)
    figure.update_layout(
        xaxis_title="Normalized Frequency" if normalize_frequency else "Frequency", yaxis_title="Class",
        title={"text": title, "y": 0.95, "x": 0.40, "xanchor": "center", "yanchor": "top",
               "font": {"size": 22, "color": "Black"}},
        template="simple_white", width=width, height=height,
        hoverlabel={"bgcolor": "white", "font_size": 16, "font_family": "Rockwell"},
        legend={"title": "<b>Global Topic Representation"},
    )
    return figure
