"""Topic frequency per time bin, one line per topic (BERTopic's ``visualize_topics_over_time``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from topic_pipeline.errors import StageInputError
from topic_pipeline.plots.common import escape_text

# BERTopic's palette for the over-time and per-class figures: the n-th topic drawn gets the n-th colour (cycling)
LINE_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#D55E00", "#0072B2", "#CC79A7")
OVER_TIME_COLUMNS = ("Topic", "Words", "Frequency", "Timestamp")


def check_columns(table: pd.DataFrame, columns: Sequence[str], figure: str) -> None:
    """Raise ``StageInputError`` naming the columns ``table`` lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise StageInputError(f"{figure} needs a table with columns {list(columns)}; {missing} missing "
                              f"(got {list(table.columns)}). Pass the result of topics_over_time/topics_per_class.")


def unit_norm(values: np.ndarray) -> np.ndarray:
    """``values`` divided by their Euclidean norm (all zeros stay zeros): ``normalize_frequency``."""
    values = np.asarray(values, dtype=np.float64)
    norm = np.sqrt(np.dot(values, values))
    return values / norm if norm > 0 else values


def word_hover(topic: int, words: Sequence[str]) -> list[str]:
    """``"<b>Topic <id></b><br>Words: ..."`` per row; the words escaped, the markup kept."""
    return [f"<b>Topic {topic}</b><br>Words: {escape_text(w)}" for w in words]


def topics_over_time_figure(table: pd.DataFrame, topics: Sequence[int], labels: Mapping[int, str], *,
                            normalize_frequency: bool = False, title: str = "<b>Topics over Time</b>",
                            width: int = 1250, height: int = 450):
    """One line per topic of ``topics`` that has rows in ``table``, ascending by topic id and time.

    Parameters
    ----------
    table : DataFrame with columns Topic, Words, Frequency, Timestamp
        ``topics_over_time``'s result (or the stored table renamed to these columns); not changed.
    topics : sequence of int
        The topics to draw (``selection.select_topics``).
    labels : mapping of topic id to str
        Each line's legend name (already escaped).
    normalize_frequency : bool
        Scale each topic's frequencies to unit Euclidean norm.

    Raises
    ------
    StageInputError
        ``table`` lacks one of the columns.
    """
    import plotly.graph_objects as go

    check_columns(table, OVER_TIME_COLUMNS, "visualize_topics_over_time")
    chosen = {int(t) for t in topics}
    data = table.loc[table["Topic"].isin(chosen)].sort_values(["Topic", "Timestamp"])
    figure = go.Figure()
    for index, (topic, rows) in enumerate(data.groupby("Topic", sort=True)):
        frequency = unit_norm(rows["Frequency"].to_numpy()) if normalize_frequency else rows["Frequency"]
        figure.add_trace(go.Scatter(x=rows["Timestamp"], y=frequency, mode="lines",
                                    marker_color=LINE_COLORS[index % len(LINE_COLORS)], hoverinfo="text",
                                    name=labels.get(int(topic), f"Topic {topic}"),
                                    hovertext=word_hover(int(topic), rows["Words"])))
    figure.update_xaxes(showgrid=True)
    figure.update_yaxes(showgrid=True)
    figure.update_layout(
        yaxis_title="Normalized Frequency" if normalize_frequency else "Frequency",
        title={"text": title, "y": 0.95, "x": 0.40, "xanchor": "center", "yanchor": "top",
               "font": {"size": 22, "color": "Black"}},
        template="simple_white", width=width, height=height,
        hoverlabel={"bgcolor": "white", "font_size": 16, "font_family": "Rockwell"},
        legend={"title": "<b>Global Topic Representation"},
    )
    return figure
