"""The intertopic distance map (BERTopic's ``visualize_topics``): topics as bubbles in 2-D.

Takes the topics' 2-D coordinates (``core.document_map.reduce_topics_to_2d`` of the topic embeddings or
the c-TF-IDF rows), sizes and words, so the report can draw it from the stored tables without a model.
The figure is BERTopic 0.17.4's: grey bubbles whose area is the topic size, hover "Topic n / words /
Size", a slider that colours the selected topic red, and a "plus" of axis lines labelled D1 and D2.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from topic_pipeline.plots.common import escape_text

BUBBLE_GREY = "#B0BEC5"
SIZE_MAX = 40  # largest bubble diameter in pixels (plotly express's size_max, as BERTopic sets it)


def padded_range(values: np.ndarray) -> tuple[float, float]:
    """The axis range BERTopic gives a 2-D map: 15 % of each end's magnitude added beyond it."""
    low, high = float(np.min(values)), float(np.max(values))
    return low - abs(low) * 0.15, high + abs(high) * 0.15


def add_plus_grid(figure, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
    """The two axis lines through the middle of the map and their D1/D2 labels (the maps' only axes)."""
    x_mid, y_mid = sum(x_range) / 2, sum(y_range) / 2
    figure.add_shape(type="line", x0=x_mid, y0=y_range[0], x1=x_mid, y1=y_range[1],
                     line={"color": "#CFD8DC", "width": 2})
    figure.add_shape(type="line", x0=x_range[0], y0=y_mid, x1=x_range[1], y1=y_mid,
                     line={"color": "#9E9E9E", "width": 2})
    figure.add_annotation(x=x_range[0], y=y_mid, text="D1", showarrow=False, yshift=10)
    figure.add_annotation(y=y_range[1], x=x_mid, text="D2", showarrow=False, xshift=10)


def centered_title(title: str, *, y: float | None = None) -> dict:
    """BERTopic's figure title: centred, 22 px, black (``title`` may hold plotly markup such as <b>)."""
    spec = {"text": title, "x": 0.5, "xanchor": "center", "yanchor": "top", "font": {"size": 22, "color": "Black"}}
    return spec if y is None else {"text": title, "y": y, **{k: v for k, v in spec.items() if k != "text"}}


def intertopic_distance_map(topic_ids: Sequence[int], sizes: Sequence[int], words: Sequence[str],
                            coordinates: np.ndarray, *, title: str = "<b>Intertopic Distance Map</b>",
                            width: int = 650, height: int = 650):
    """BERTopic's intertopic distance map.

    Parameters
    ----------
    topic_ids : sequence of int, the topics drawn (BERTopic draws them in ascending order)
    sizes : sequence of int, documents per topic (the bubble area)
    words : sequence of str, each topic's hover text (BERTopic: its top 5 words joined by " | ", or its
        custom label); escaped here
    coordinates : ndarray of shape (n_topics, 2), each topic's position
    title, width, height : as in ``BERTopic.visualize_topics``

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    ids = [int(t) for t in topic_ids]
    counts = [int(s) for s in sizes]
    points = np.asarray(coordinates, dtype=float).reshape(len(ids), 2)
    shown = [escape_text(w) for w in words]
    figure = go.Figure(go.Scatter(
        x=points[:, 0], y=points[:, 1], mode="markers", showlegend=False, name="",
        customdata=np.array([[t, w, s] for t, w, s in zip(ids, shown, counts, strict=True)], dtype=object),
        hovertemplate="<b>Topic %{customdata[0]}</b><br>%{customdata[1]}<br>Size: %{customdata[2]}",
        marker={"color": BUBBLE_GREY, "size": counts, "sizemode": "area",
                "sizeref": max(counts, default=1) / SIZE_MAX**2, "line": {"width": 2, "color": "DarkSlateGrey"}},
    ))
    # one slider step per topic: it recolours that topic's bubble red and leaves the others grey
    steps = [{"label": f"Topic {t}", "method": "update",
              "args": [{"marker.color": [["red" if other == t else BUBBLE_GREY for other in ids]]}]} for t in ids]
    x_range, y_range = padded_range(points[:, 0]), padded_range(points[:, 1])
    figure.update_layout(
        template="simple_white", title=centered_title(title, y=0.95), width=width, height=height,
        hoverlabel={"bgcolor": "white", "font_size": 16, "font_family": "Rockwell"},
        xaxis={"visible": False, "title": {"text": ""}, "range": x_range},
        yaxis={"visible": False, "title": {"text": ""}, "range": y_range},
        sliders=[{"active": 0, "pad": {"t": 50}, "steps": steps}],
        legend={"tracegroupgap": 0, "itemsizing": "constant"}, margin={"t": 60},
    )
    add_plus_grid(figure, x_range, y_range)
    return figure
