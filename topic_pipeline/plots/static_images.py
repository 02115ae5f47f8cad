"""Small static PNG pictures of the stored results, for places that cannot run plotly.js.

Dagster's UI shows markdown metadata, and an image embedded in it as a ``data:`` URL is drawn
inline; an interactive plotly figure is not. These pictures are drawn with matplotlib's Agg
backend (no display, no browser) on a ``Figure`` of its own, never through ``pyplot``, so
drawing holds no global state and works from any thread of a Dagster step. Each ``draw_*``
function returns the matplotlib ``Figure`` (tests read its text artists); each ``*_png`` the
PNG bytes, a few tens of kB at 80 dpi.

Every text drawn (topic names, words, labels) is passed with ``parse_math=False``: a ``$`` in
a document's word must show as a dollar sign, not start matplotlib's mathtext.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

DPI = 80
OUTLIER_COLOUR = "#bdbdbd"
BAR_COLOUR = "#4c72b0"
TITLE_CHARS = 32  # a panel title longer than this is cut with an ellipsis, so panels do not overlap
PLAIN = {"parse_math": False}  # text as given: no mathtext


def _short(text: object, limit: int = TITLE_CHARS) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _new_figure(width: float, height: float) -> Any:
    """A matplotlib ``Figure`` on the Agg canvas (imported here: matplotlib is slow to import)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def figure_png(figure: Any) -> bytes:
    """The PNG bytes of a matplotlib ``figure`` at ``DPI``, as a 256-colour palette image.

    A plot has few colours; the palette (Pillow, which matplotlib depends on) makes a scatter of
    thousands of anti-aliased points about three times smaller than matplotlib's RGBA file.
    """
    from PIL import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB").quantize(colors=256)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _message(figure: Any, text: str) -> Any:
    figure.text(0.5, 0.5, text, ha="center", va="center", color="#666666", **PLAIN)
    return figure


def draw_topic_words(terms: pd.DataFrame, topics: pd.DataFrame, *, n_topics: int = 8, n_words: int = 5) -> Any:
    """Horizontal bars of the top Main words of the ``n_topics`` largest topics, one small panel each.

    Parameters
    ----------
    terms : DataFrame with columns topic_id, aspect, rank, term, weight (``topic_terms``).
    topics : DataFrame with columns topic_id, size, name (``topics``); the outlier topic -1 is left out.
    """
    shown = (topics.loc[topics["topic_id"] != -1]
             .sort_values(["size", "topic_id"], ascending=[False, True]).head(n_topics))
    columns = min(4, max(len(shown), 1))
    rows = max(1, -(-len(shown) // columns))
    figure = _new_figure(1.7 * columns + 0.4, 1.6 * rows + 0.4)
    if shown.empty:
        return _message(figure, "no topics")
    main = terms.loc[(terms["aspect"] == "Main") & (terms["term"].astype(str) != "")]
    for index, (topic_id, name) in enumerate(zip(shown["topic_id"], shown["name"], strict=True)):
        axes = figure.add_subplot(rows, columns, index + 1)
        words = main.loc[main["topic_id"] == topic_id].sort_values("rank").head(n_words).iloc[::-1]
        positions = np.arange(len(words))
        axes.barh(positions, words["weight"].astype(float), color=BAR_COLOUR)
        axes.set_yticks(positions, labels=[_short(w, 16) for w in words["term"]], fontsize=7, **PLAIN)
        axes.set_title(_short(name, 24), fontsize=7, **PLAIN)
        axes.tick_params(axis="x", labelsize=6)
        axes.xaxis.set_major_locator(_few_ticks())
    figure.suptitle("Top words per topic (c-TF-IDF)", fontsize=9)
    return figure


def _few_ticks() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=2)


def draw_topic_sizes(topics: pd.DataFrame) -> Any:
    """Documents per topic (topics.parquet's topic_id, size), the outlier topic -1 in grey."""
    frame = topics.sort_values("topic_id")
    figure = _new_figure(6, 3.5)
    if frame.empty:
        return _message(figure, "no topics")
    axes = figure.add_subplot()
    ids = frame["topic_id"].astype(int).to_numpy()
    colours = [OUTLIER_COLOUR if topic_id == -1 else BAR_COLOUR for topic_id in ids]
    axes.bar(np.arange(len(ids)), frame["size"].astype(int), color=colours)
    step = max(1, -(-len(ids) // 30))  # at most about 30 tick labels
    axes.set_xticks(np.arange(len(ids))[::step], labels=[str(i) for i in ids[::step]], fontsize=7)
    axes.set_xlabel("topic", fontsize=8)
    axes.set_ylabel("documents", fontsize=8)
    axes.tick_params(axis="y", labelsize=7)
    axes.set_title(f"Topic sizes ({int((ids != -1).sum())} topics)", fontsize=9)
    return figure


def draw_documents_map(x: np.ndarray, y: np.ndarray, topic_ids: np.ndarray, labels: Mapping[int, str] | None = None,
                       *, max_points: int = 5000, n_labels: int = 12, seed: int = 0) -> Any:
    """Documents on a 2-D map (``document_map``'s x, y), coloured by topic, outliers (-1) grey.

    A fixed random sample of ``max_points`` documents is drawn (the picture is a few hundred
    pixels wide; more points only make the file larger); the ``n_labels`` largest topics get
    their label from ``labels`` (else their id) at the median of their documents.
    """
    x, y, topic_ids = np.asarray(x, float), np.asarray(y, float), np.asarray(topic_ids, int)
    figure = _new_figure(6, 3.5)
    if len(x) == 0:
        return _message(figure, "no documents")
    shown = np.arange(len(x))
    if len(shown) > max_points:
        shown = np.sort(np.random.default_rng(seed).choice(shown, max_points, replace=False))
    axes = figure.add_subplot()
    outliers = shown[topic_ids[shown] == -1]
    axes.scatter(x[outliers], y[outliers], s=2, c=OUTLIER_COLOUR, linewidths=0)
    clustered = shown[topic_ids[shown] != -1]
    axes.scatter(x[clustered], y[clustered], s=2, c=_topic_colours(topic_ids[clustered]), linewidths=0)
    ids, counts = np.unique(topic_ids[topic_ids != -1], return_counts=True)
    for topic_id in ids[np.argsort(-counts, kind="stable")][:n_labels]:
        members = topic_ids == topic_id
        text = (labels or {}).get(int(topic_id), str(int(topic_id)))
        axes.text(float(np.median(x[members])), float(np.median(y[members])), _short(text, 24), fontsize=6,
                  ha="center", va="center", bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7,
                                                  "lw": 0}, **PLAIN)
    _zoom_to_bulk(axes, x[shown], y[shown])
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(f"Documents ({len(x)}, {len(shown)} drawn), coloured by topic", fontsize=9)
    return figure


def _zoom_to_bulk(axes: Any, x: np.ndarray, y: np.ndarray) -> None:
    """Limits around the central 99% of the points when a few far-off documents would squeeze the rest
    into a corner (UMAP leaves small islands far away); the picture is a thumbnail, not a measurement."""
    for values, set_limits in ((x, axes.set_xlim), (y, axes.set_ylim)):
        low, high = np.quantile(values, [0.005, 0.995])
        span = float(np.ptp(values))
        if high > low and span > 3 * (high - low):
            margin = 0.05 * (high - low)
            set_limits(low - margin, high + margin)


def _topic_colours(topic_ids: np.ndarray) -> np.ndarray:
    """RGBA rows, one per document: matplotlib's ``tab20`` colours by topic id (cycling past 20)."""
    from matplotlib import colormaps

    return colormaps["tab20"](topic_ids % 20)


def topic_words_png(terms: pd.DataFrame, topics: pd.DataFrame, *, n_topics: int = 8, n_words: int = 5) -> bytes:
    """PNG of ``draw_topic_words``: BERTopic's barchart as a small picture."""
    return figure_png(draw_topic_words(terms, topics, n_topics=n_topics, n_words=n_words))


def topic_sizes_png(topics: pd.DataFrame) -> bytes:
    """PNG of ``draw_topic_sizes``."""
    return figure_png(draw_topic_sizes(topics))


def documents_map_png(x: np.ndarray, y: np.ndarray, topic_ids: np.ndarray,
                      labels: Mapping[int, str] | None = None) -> bytes:
    """PNG of ``draw_documents_map``."""
    return figure_png(draw_documents_map(x, y, topic_ids, labels))
