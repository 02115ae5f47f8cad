"""One document's topic distribution as horizontal bars (BERTopic's ``visualize_distribution``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from topic_pipeline.errors import ModelArgumentError
from topic_pipeline.plots.common import escape_text
from topic_pipeline.plots.topic_map import centered_title

LABEL_LIMIT = 40  # BERTopic cuts a default bar label to 40 characters and adds "..."


def default_label(topic: int, words: Sequence[str]) -> str:
    """``"<b>Topic n</b>: w1_w2_w3_w4_w5"``, cut as BERTopic cuts it; the words are escaped, the bold kept."""
    prefix = f"<b>Topic {topic}</b>: "
    body = "_".join(list(words)[:5])
    if len(prefix) + len(body) > LABEL_LIMIT:
        return prefix + escape_text(body[: max(LABEL_LIMIT - len(prefix), 0)]) + "..."
    return prefix + escape_text(body)


def distribution_figure(probabilities: np.ndarray, topic_words: Mapping[int, Sequence[str]], *,
                        names: Mapping[int, str] | None = None, min_probability: float = 0.015,
                        title: str = "<b>Topic Probability Distribution</b>", width: int = 800, height: int = 600):
    """Bars of the topics whose probability is at least ``min_probability``.

    Parameters
    ----------
    probabilities : ndarray of shape (n_topics,), one document's probability per topic; column i is topic i
        (outliers have no column, as in BERTopic)
    topic_words : topic id -> its words, most important first (the default label: the first five)
    names : topic id -> label, used instead (custom labels or an aspect's labels); escaped here
    min_probability, title, width, height : as in ``BERTopic.visualize_distribution``

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    ModelArgumentError
        When ``probabilities`` is not one document's row, or no probability exceeds ``min_probability``.
    """
    import plotly.graph_objects as go

    values = np.asarray(probabilities, dtype=float)
    if values.ndim != 1:
        raise ModelArgumentError(
            "visualize_distribution takes one document's probabilities, an array of shape (n_topics,) such as "
            f"probabilities[0]; got shape {values.shape}. Per-topic probabilities need a model fitted with "
            "calculate_probabilities=True (or approximate_distribution)."
        )
    if not (values > min_probability).any():
        raise ModelArgumentError(
            f"No probability is above min_probability={min_probability} (the largest is "
            f"{values.max(initial=0.0):.4g}); lower min_probability."
        )
    bars, labels = [], []
    for topic in np.flatnonzero(values >= min_probability).tolist():
        if names is not None:
            labels.append(escape_text(names.get(topic, str(topic))))
        elif topic_words.get(topic):
            labels.append(default_label(topic, topic_words[topic]))
        else:
            continue  # a topic without words has no label; BERTopic leaves its bar out
        bars.append(float(values[topic]))
    figure = go.Figure(go.Bar(x=bars, y=labels, orientation="h",
                              marker={"color": "#C8D2D7", "line": {"color": "#6E8484", "width": 1}}))
    figure.update_layout(
        xaxis_title="Probability", title=centered_title(title, y=0.95), template="simple_white", width=width,
        height=height, hoverlabel={"bgcolor": "white", "font_size": 16, "font_family": "Rockwell"},
    )
    return figure
