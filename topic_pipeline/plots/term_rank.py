"""How fast each topic's word scores decline with the word's rank (BERTopic's ``visualize_term_rank``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from topic_pipeline.plots.common import escape_text
from topic_pipeline.plots.selection import Words

LABEL_LIMIT = 50  # BERTopic cuts the default hover label at 50 characters, its "<b>Topic n</b>:" prefix included
MAX_SCORE = 1.5  # as BERTopic: a topic with a score above this (not c-TF-IDF-like) gets no line


def term_rank_label(topic: int, words: Words) -> str:
    """``"<b>Topic <id></b>:w1_w2_..."``, 50 characters at most; the words escaped, the markup kept."""
    prefix = f"<b>Topic {topic}</b>:"
    body = "_".join(str(word) for word, _ in words)[: max(LABEL_LIMIT - len(prefix), 0)]
    return prefix + escape_text(body)


def term_rank_figure(topics: Sequence[int], words: Mapping[int, Words], labels: Mapping[int, str] | None = None, *,
                     highlighted: Iterable[int] = (), log_scale: bool = False,
                     title: str = "<b>Term score decline per Topic</b>", width: int = 800, height: int = 500):
    """One line per topic: the score of its 1st, 2nd, ... word.

    Parameters
    ----------
    topics : sequence of int
        The topics drawn, in order (BERTopic: every topic, -1 first).
    words : mapping of topic id to list of (word, weight)
    labels : mapping of topic id to str, optional
        Hover labels (already escaped); default ``term_rank_label``.
    highlighted : iterable of int
        Topics drawn red and opaque; the others are black at 10 % opacity.
    log_scale : bool
        Scores as log10. Zero scores are first raised to the smallest positive score of all topics.
    """
    import plotly.graph_objects as go

    topics = [int(t) for t in topics if int(t) in words]
    scores = {t: np.array([float(weight) for _, weight in words[t]], dtype=np.float64) for t in topics}
    positive = np.concatenate([s[s > 0] for s in scores.values()] or [np.empty(0)])
    smallest = positive.min() if positive.size else 1.0
    highlighted = {int(t) for t in highlighted}
    lines = []
    for topic in topics:
        y = scores[topic]
        if (y > MAX_SCORE).any():
            continue
        y = np.where(y == 0, smallest, y)
        label = labels[topic] if labels and topic in labels else term_rank_label(topic, words[topic])
        chosen = topic in highlighted
        lines.append(go.Scatter(x=np.arange(1, len(y) + 1), y=np.log10(y) if log_scale else y, name="",
                                hovertext=label, mode="lines+lines", opacity=1 if chosen else 0.1,
                                line={"color": "red" if chosen else "black", "width": 1.5}))
    figure = go.Figure(data=lines)
    n_ranks = max((len(s) for s in scores.values()), default=0)
    figure.update_xaxes(range=[0, n_ranks], tick0=1, dtick=2, title_text="Term Rank")
    figure.update_layout(
        showlegend=False, template="plotly_white",
        title={"text": title, "y": 0.9, "x": 0.5, "xanchor": "center", "yanchor": "top",
               "font": {"size": 22, "color": "Black"}},
        width=width, height=height, hoverlabel={"bgcolor": "white", "font_size": 16, "font_family": "Rockwell"},
    )
    figure.update_yaxes(title_text="c-TF-IDF score (log scale)" if log_scale else "c-TF-IDF score")
    return figure
