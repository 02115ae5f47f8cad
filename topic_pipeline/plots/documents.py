"""The documents map (BERTopic's ``visualize_documents``): every document as a point, coloured by topic.

Takes plain per-document arrays (x, y, topic, text) and the topics' labels, so the report draws it from the
stored ``document_map`` and ``topic_assignments`` without a model and without running UMAP. The figure is
BERTopic 0.17.4's: a grey "other" trace of outliers and unselected topics, then one trace per selected
topic whose label sits at the topic's mean position, a "plus" of axis lines; hover = the document text,
escaped so that a document's HTML shows as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from topic_pipeline.plots.common import escape_text
from topic_pipeline.plots.topic_map import add_plus_grid, centered_title, padded_range

OTHER_GREY = "#CFD8DC"
SAMPLE_ALL_BELOW = 100  # BERTopic keeps every document of a topic smaller than this, whatever ``sample`` is


def sample_documents(topics: Sequence[int] | np.ndarray, sample: float | None,
                     random_state: int | np.random.RandomState | None = None) -> np.ndarray:
    """The documents to draw, as BERTopic's ``sample`` picks them: per topic, all when it has fewer than
    100 documents, else ``int(count * sample)`` drawn without replacement.

    ``sample`` None or above 1 keeps every document. Without ``random_state`` the draw uses numpy's global
    random state, as BERTopic's does (``np.random.seed`` makes both reproducible).

    Returns
    -------
    ndarray of int, the chosen document positions in ascending (corpus) order
    """
    labels = np.asarray(topics)
    if sample is None or sample >= 1:
        return np.arange(len(labels))
    if random_state is None:
        rng = np.random  # the module's functions draw from the global state, as BERTopic's np.random.choice
    elif isinstance(random_state, np.random.RandomState):
        rng = random_state
    else:
        rng = np.random.RandomState(random_state)
    chosen = []
    for topic in np.unique(labels):
        members = np.flatnonzero(labels == topic)
        size = len(members) if len(members) < SAMPLE_ALL_BELOW else int(len(members) * sample)
        chosen.append(rng.choice(members, size=size, replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.arange(0)


def hover_texts(texts: Sequence[str], rows: np.ndarray, hide: bool) -> list[str | None] | None:
    """The escaped documents at ``rows`` (None when hover is hidden, which also keeps the figure small)."""
    return None if hide else [escape_text(texts[r]) for r in rows]


def documents_map(x: Sequence[float], y: Sequence[float], topics: Sequence[int], texts: Sequence[str],
                  labels: Mapping[int, str], *, selected: Iterable[int] | None = None,
                  hide_annotations: bool = False, hide_document_hover: bool = False,
                  title: str = "<b>Documents and Topics</b>", width: int = 1200, height: int = 750):
    """BERTopic's documents-and-topics map of the documents given (already sampled).

    Parameters
    ----------
    x, y : sequences of float of length n_documents, each document's position
    topics : sequence of int of length n_documents, each document's topic (-1 = outlier)
    texts : sequence of str of length n_documents, the documents (the hover text)
    labels : topic id -> label (BERTopic: ``"<id>_word_word_word"`` or the custom label); escaped here
    selected : the topics to colour; the others join the grey outliers (None: every topic)
    hide_annotations, hide_document_hover, title, width, height : as in ``BERTopic.visualize_documents``

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    assigned = np.asarray(topics)
    present = sorted(int(t) for t in np.unique(assigned))
    chosen = set(present) if selected is None else {int(t) for t in selected}
    coloured = [t for t in present if t in chosen and t != -1]
    figure = go.Figure()
    grey = np.flatnonzero(~np.isin(assigned, coloured))  # outliers, always grey, and the unselected topics
    figure.add_trace(go.Scattergl(
        x=xs[grey], y=ys[grey], hovertext=hover_texts(texts, grey, hide_document_hover), hoverinfo="text",
        mode="markers+text", name="other", showlegend=False, marker={"color": OTHER_GREY, "size": 5, "opacity": 0.5},
    ))
    for topic in coloured:
        figure.add_trace(_topic_trace(go, xs, ys, np.flatnonzero(assigned == topic), texts,
                                      escape_text(labels.get(topic, str(topic))), hide_annotations,
                                      hide_document_hover))
    if len(xs):
        add_plus_grid(figure, padded_range(xs), padded_range(ys))
    figure.update_layout(template="simple_white", title=centered_title(title), width=width, height=height)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def _topic_trace(go, xs: np.ndarray, ys: np.ndarray, rows: np.ndarray, texts: Sequence[str], name: str,
                 hide_annotations: bool, hide_document_hover: bool):
    """One topic's points; unless annotations are hidden, one more point at their mean carries the label."""
    tx, ty, hover = xs[rows].tolist(), ys[rows].tolist(), hover_texts(texts, rows, hide_document_hover)
    text = [""] * len(rows)
    if not hide_annotations:
        tx.append(float(np.mean(xs[rows])))
        ty.append(float(np.mean(ys[rows])))
        text.append(name)
        if hover is not None:
            hover.append(None)
    return go.Scattergl(x=tx, y=ty, hovertext=hover, hoverinfo="text", text=text, mode="markers+text", name=name,
                        textfont={"size": 12}, marker={"size": 5, "opacity": 0.5})
