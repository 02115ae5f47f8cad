"""Plotly figures of the stored results, written as self-contained HTML files that open offline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def topic_words_figure(topic_terms: pd.DataFrame, topics: pd.DataFrame, *, n_topics: int = 8, n_words: int = 5):
    """Bar chart of the top words of the largest topics (BERTopic's ``visualize_barchart``)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    shown = topics.loc[topics["topic_id"] != -1].sort_values("topic_id").head(n_topics)
    columns = min(4, max(len(shown), 1))
    rows = max(1, -(-len(shown) // columns))
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=[str(name) for name in shown["name"]],
                           horizontal_spacing=0.1, vertical_spacing=0.4 / rows)
    main = topic_terms.loc[(topic_terms["aspect"] == "Main") & (topic_terms["term"] != "")]
    for index, topic_id in enumerate(shown["topic_id"]):
        words = main.loc[main["topic_id"] == topic_id].sort_values("rank").head(n_words).iloc[::-1]
        figure.add_trace(go.Bar(x=words["weight"], y=words["term"], orientation="h", showlegend=False),
                         row=index // columns + 1, col=index % columns + 1)
    figure.update_layout(title="Top words per topic (c-TF-IDF)", template="plotly_white",
                         height=260 * rows, width=260 * columns + 100)
    return figure


def topic_sizes_figure(topics: pd.DataFrame):
    """Documents per topic, outliers (-1) included."""
    import plotly.express as px

    frame = topics.sort_values("topic_id")
    figure = px.bar(frame, x=frame["topic_id"].astype(str), y="size", hover_name="name",
                    labels={"x": "topic", "size": "documents"}, title="Topic sizes")
    figure.update_layout(template="plotly_white")
    return figure


def write_html(figure, path: Path, *, plotly_js: str | None = None) -> Path:
    """Write ``figure`` as HTML; ``plotly_js`` is a relative URL of a shared plotly.js, else it is embedded."""
    figure.write_html(path, include_plotlyjs=plotly_js if plotly_js else True, full_html=True)
    return path
