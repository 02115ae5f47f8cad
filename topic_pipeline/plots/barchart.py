"""Top words of topics as horizontal bars, four topics a row (BERTopic's ``visualize_barchart``)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

from topic_pipeline.errors import StageInputError
from topic_pipeline.plots.common import escape_text
from topic_pipeline.plots.selection import Words

# BERTopic's barchart palette, in its order: the n-th topic shown gets the n-th colour (cycling)
BAR_COLORS = ("#D55E00", "#0072B2", "#CC79A7", "#E69F00", "#56B4E9", "#009E73", "#F0E442")
COLUMNS = 4


def topic_barchart(topics: Sequence[int], words: Mapping[int, Words], labels: Mapping[int, str] | None = None, *,
                   n_words: int = 5, title: str = "Topic Word Scores", width: int = 250, height: int = 250,
                   autoscale: bool = False):
    """One bar chart per topic of its first ``n_words`` words and weights, largest on top.

    Parameters
    ----------
    topics : sequence of int
        The topics to show, in order (``selection.select_topics``).
    words : mapping of topic id to list of (word, weight)
        Each topic's words, best first (``topic_representations_`` or the stored topic terms).
    labels : mapping of topic id to str, optional
        Subplot titles (already escaped); default ``"Topic <id>"``.
    n_words, title, width, height, autoscale
        As in BERTopic: width and height are per subplot; ``autoscale`` makes room for more than 12 words.

    Raises
    ------
    StageInputError
        No topics to show, or a topic without words.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    topics = [int(t) for t in topics]
    if not topics:
        raise StageInputError("The barchart needs at least one topic; got none (is every document an outlier?).")
    missing = [t for t in topics if t not in words]
    if missing:
        raise StageInputError(f"The barchart's topics {missing} have no words; known topics: {sorted(words)}.")
    rows = math.ceil(len(topics) / COLUMNS)
    titles = [(labels or {}).get(t, f"Topic {t}") for t in topics]
    figure = make_subplots(rows=rows, cols=COLUMNS, shared_xaxes=False, horizontal_spacing=0.1,
                           vertical_spacing=0.4 / rows if rows > 1 else 0, subplot_titles=titles)
    colors = itertools.cycle(BAR_COLORS)
    for index, topic in enumerate(topics):
        shown = list(words[topic])[:n_words][::-1]
        # two trailing spaces keep the words off the bars, as in BERTopic
        names = [escape_text(word) + "  " for word, _ in shown]
        figure.add_trace(go.Bar(x=[weight for _, weight in shown], y=names, orientation="h",
                                marker_color=next(colors)), row=index // COLUMNS + 1, col=index % COLUMNS + 1)
        if autoscale:
            height = _autoscaled(figure, len(names), height)
    figure.update_layout(
        template="plotly_white", showlegend=False,
        title={"text": title, "x": 0.5, "xanchor": "center", "yanchor": "top", "font": {"size": 22, "color": "Black"}},
        width=width * COLUMNS, height=height * rows if rows > 1 else height * 1.3,
        hoverlabel={"bgcolor": "white", "font_size": 16, "font_family": "Rockwell"},
    )
    figure.update_xaxes(showgrid=True)
    figure.update_yaxes(showgrid=True)
    return figure


def _autoscaled(figure, n_shown: int, height: int) -> int:
    """BERTopic's ``autoscale``: taller subplots past 12 words, smaller tick font past 9."""
    if n_shown > 12:
        height = 250 + (n_shown - 12) * 11
    if n_shown > 9:
        figure.update_yaxes(tickfont={"size": (height - 140) // n_shown})
    return height
