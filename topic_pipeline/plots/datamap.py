"""The documents as a publication-style data map (BERTopic's ``visualize_document_datamap``), drawn by
DataMapPlot.

DataMapPlot is optional (``pip install datamapplot``; no extra of ours names it, because its releases since
0.6 need pandas < 3 and this project pins pandas 3, and it fetches web fonts when it draws): it is imported only here, when the figure is asked for, and its absence is a clear error naming the install
command, instead of BERTopic's warning at import and ``NameError`` at call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from topic_pipeline.plots.common import escape_text

UNLABELLED = "Unlabelled"  # DataMapPlot's noise label: drawn grey and not named on the map
INSTALL_HINT = ("visualize_document_datamap needs DataMapPlot, an optional dependency: "
                "pip install datamapplot (its current releases need pandas < 3, which this project's pins exclude).")


def import_datamapplot() -> Any:
    """``datamapplot``, or ``ModuleNotFoundError`` saying how to install it."""
    try:
        import datamapplot
    except ImportError as exc:
        raise ModuleNotFoundError(INSTALL_HINT, name="datamapplot") from exc
    return datamapplot


def document_names(topics: Sequence[int], names: Mapping[int, str], selected: Sequence[int] | None) -> np.ndarray:
    """Each document's topic name; outliers and, with ``selected``, the other topics are ``"Unlabelled"``."""
    keep = None if selected is None else {int(t) for t in selected}
    lookup = {int(t): (UNLABELLED if t == -1 or (keep is not None and t not in keep) else str(name))
              for t, name in names.items()}
    return np.array([lookup.get(int(t), UNLABELLED) for t in topics], dtype=object)


def interactive_hover(texts: Sequence[str] | None, options: Mapping[str, Any]) -> np.ndarray | None:
    """The documents as the interactive map's hover text.

    DataMapPlot's default tooltip hands deck.gl a string, which deck.gl shows as text (``innerText``), so the
    documents go as they are (escaping them would show ``&lt;`` literally). A ``hover_text_html_template``
    puts them into HTML, so then they are escaped, as every document shown as HTML here is.
    """
    if texts is None:
        return None
    as_html = options.get("hover_text_html_template") is not None
    return np.array([escape_text(t) if as_html else str(t) for t in texts], dtype=object)


def document_datamap(coordinates: np.ndarray, labels: np.ndarray, *, texts: Sequence[str] | None = None,
                     title: str = "Documents and Topics", sub_title: str | None = None, width: int = 1200,
                     height: int = 750, interactive: bool = False, enable_search: bool = False,
                     datamap_kwds: Mapping[str, Any] | None = None, int_datamap_kwds: Mapping[str, Any] | None = None):
    """Draw the map with DataMapPlot, as BERTopic does.

    Parameters
    ----------
    coordinates : ndarray of shape (n_documents, 2)
    labels : ndarray of str of shape (n_documents,), each document's topic name (``document_names``)
    texts : the documents, the hover text of the interactive map (see ``interactive_hover``)
    title, sub_title, width, height, interactive, enable_search, datamap_kwds, int_datamap_kwds :
        as in ``BERTopic.visualize_document_datamap``

    Returns
    -------
    matplotlib Figure (``create_plot``), or DataMapPlot's interactive figure when ``interactive``

    Raises
    ------
    ModuleNotFoundError
        When DataMapPlot is not installed; the message gives the install command.
    """
    datamapplot = import_datamapplot()
    points = np.asarray(coordinates, dtype=np.float32)
    if interactive:
        options = dict(int_datamap_kwds or {})
        return datamapplot.create_interactive_plot(points, labels, hover_text=interactive_hover(texts, options),
                                                   enable_search=enable_search, width=width, height=height, **options)
    figure, _ = datamapplot.create_plot(points, labels, figsize=(width / 100, height / 100), dpi=100, title=title,
                                        sub_title=sub_title, **dict(datamap_kwds or {}))
    return figure
