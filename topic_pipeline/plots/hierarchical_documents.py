"""The documents map at levels of the topic hierarchy (BERTopic's ``visualize_hierarchical_documents``).

The same points as the documents map, drawn once per level of ``hierarchical_topics``: at each level a
document takes the topmost merged topic that contains its own topic and merged at or below that level's
distance. A slider shows one level at a time. Takes plain arrays and the hierarchy table (BERTopic's
columns, as stored in ``topic_hierarchy``), so the report draws it without a model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from topic_pipeline.errors import ModelArgumentError
from topic_pipeline.plots.common import escape_text
from topic_pipeline.plots.documents import OTHER_GREY, hover_texts
from topic_pipeline.plots.topic_map import add_plus_grid, centered_title, padded_range


def level_distances(distances: Sequence[float], nr_levels: int, level_scale: str) -> list[float]:
    """The largest merge distance of each level, lowest level first, as BERTopic splits them.

    ``distances`` are in the table's order (BERTopic's: the last merge first). "linear" splits the merges
    into ``nr_levels`` equal runs; "log" (or "logarithmic") spaces them logarithmically, giving the first
    merges more levels. A run that would be empty (more levels than merges) is left out; BERTopic fails there.
    """
    values = list(distances)
    if level_scale in ("log", "logarithmic"):
        stops = np.logspace(0, math.log10(max(len(values) - 1, 1)), num=nr_levels)
        picks = np.round(stops).astype(int).tolist()[::-1]
    elif level_scale in ("lin", "linear"):
        picks = [int(run[-1]) for run in np.array_split(np.arange(len(values)), nr_levels) if len(run)][::-1]
    else:
        raise ModelArgumentError(f"level_scale must be one of 'log' or 'linear'; got {level_scale!r}.")
    return [float(values[i]) for i in picks]


def topics_at_level(leaf_topics: Iterable[int], hierarchy: pd.DataFrame, max_distance: float) -> dict[int, int]:
    """Each leaf topic's topic at a level: the largest Parent_ID merged at or below ``max_distance`` that
    contains it (parents are numbered in merge order), or itself when none does (-1 stays -1)."""
    mapping = {int(t): int(t) for t in leaf_topics}
    merged = hierarchy.loc[hierarchy["Distance"] <= max_distance]
    for parent, members in sorted(zip(merged["Parent_ID"].astype(int), merged["Topics"], strict=True)):
        for topic in members:
            if int(topic) in mapping:
                mapping[int(topic)] = parent
    return mapping


def trace_names(hierarchy: pd.DataFrame, leaf_labels: Mapping[int, str]) -> dict[int, tuple[str, str]]:
    """Topic id -> (legend name, text on the map), each cut to 40 characters, as BERTopic names them.

    Leaves use ``leaf_labels``; a merged topic is ``"<id>_<Parent_Name>"`` and its map text keeps the first
    three parts of that name, 20 characters each.
    """
    names = {int(t): (str(label)[:40], str(label)[:40]) for t, label in leaf_labels.items()}
    for parent, parent_name in zip(hierarchy["Parent_ID"].astype(int), hierarchy["Parent_Name"], strict=True):
        full = f"{parent}_{parent_name}"
        names[parent] = (full[:40], "_".join(part[:20] for part in full.split("_")[:3])[:40])
    return names


def hierarchical_documents_map(x: Sequence[float], y: Sequence[float], topics: Sequence[int], texts: Sequence[str],
                               hierarchy: pd.DataFrame, leaf_labels: Mapping[int, str], *,
                               selected: Iterable[int] | None = None, hide_annotations: bool = False,
                               hide_document_hover: bool = True, nr_levels: int = 10, level_scale: str = "linear",
                               title: str = "<b>Hierarchical Documents and Topics</b>", width: int = 1200,
                               height: int = 750):
    """BERTopic's hierarchical documents map of the documents given (already sampled).

    Parameters
    ----------
    x, y, topics, texts : per document, as in ``documents.documents_map``
    hierarchy : ``hierarchical_topics``' table (Parent_ID, Parent_Name, Topics, ..., Distance)
    leaf_labels : topic id -> label of each original topic (BERTopic: ``"<id>_w1_w2_w3"``); escaped here
    selected : draw only the documents of these original topics (None or empty: all)
    hide_annotations, hide_document_hover, nr_levels, level_scale, title, width, height : as in BERTopic

    Returns
    -------
    plotly.graph_objects.Figure, one group of traces per level, the first visible, and a "Level" slider
    """
    import plotly.graph_objects as go

    xs, ys, assigned = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(topics)
    names = trace_names(hierarchy, leaf_labels)
    leaves = np.unique(assigned).tolist()
    chosen = np.isin(assigned, list(selected)) if selected else np.ones(len(assigned), dtype=bool)
    levels = []
    for max_distance in level_distances(hierarchy["Distance"].tolist(), nr_levels, level_scale):
        mapping = topics_at_level(leaves, hierarchy, max_distance)
        level = np.array([mapping[int(t)] for t in assigned], dtype=np.int64)
        levels.append(_level_traces(go, xs, ys, texts, level, chosen, names, -1 in leaves, hide_annotations,
                                    hide_document_hover))
    figure = go.Figure([trace for traces in levels for trace in traces])
    starts = np.cumsum([0] + [len(traces) for traces in levels])
    for trace in figure.data[starts[1]:]:
        trace.visible = False  # only the first level shows until the slider moves
    steps = [{"method": "update", "label": str(number),
              "args": [{"visible": [bool(starts[number] <= i < starts[number + 1]) for i in range(len(figure.data))]}]}
             for number in range(len(levels))]
    if len(xs):
        add_plus_grid(figure, padded_range(xs), padded_range(ys))
    figure.update_layout(sliders=[{"currentvalue": {"prefix": "Level: "}, "pad": {"t": 20}, "steps": steps}],
                         template="simple_white", title=centered_title(title), width=width, height=height)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def _level_traces(go, xs, ys, texts, level: np.ndarray, chosen: np.ndarray, names: Mapping[int, tuple[str, str]],
                  has_outliers: bool, hide_annotations: bool, hide_document_hover: bool) -> list:
    """One level's traces: the grey outliers (when the model has any), then one per topic at that level."""
    traces = []
    if has_outliers:
        rows = np.flatnonzero(level == -1)
        traces.append(go.Scattergl(x=xs[rows], y=ys[rows], mode="markers+text", name="other", hoverinfo="text",
                                   hovertext=hover_texts(texts, rows, hide_document_hover), showlegend=False,
                                   marker={"color": OTHER_GREY, "size": 5, "opacity": 0.5}))
    for topic in sorted(set(level[chosen].tolist()) - {-1}):
        rows = np.flatnonzero((level == topic) & chosen)
        legend, label = names.get(topic, (str(topic), str(topic)))
        tx, ty, hover = xs[rows].tolist(), ys[rows].tolist(), hover_texts(texts, rows, hide_document_hover)
        text = None
        if not hide_annotations:
            tx.append(float(np.mean(xs[rows])))
            ty.append(float(np.mean(ys[rows])))
            text = [""] * len(rows) + [escape_text(label)]
            hover = None if hover is None else [*hover, None]
        traces.append(go.Scattergl(x=tx, y=ty, text=text, hovertext=hover, hoverinfo="text", name=escape_text(legend),
                                   mode="markers+text", marker={"size": 5, "opacity": 0.5}))
    return traces
