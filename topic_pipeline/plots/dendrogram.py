"""The topic hierarchy as a dendrogram (BERTopic's ``visualize_hierarchy``).

The tree is drawn from a linkage matrix given by the caller, the same one
``hierarchical_topics`` builds (``core.hierarchy.topic_linkage`` or
``custom_linkage``), so the figure and the merge table never disagree; BERTopic
computes a second linkage for its figure. With a ``hierarchical_topics`` table
each merge's hover names the two topics it joins, merged ones by their names in
the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from topic_pipeline.errors import StageInputError
from topic_pipeline.plots.common import escape_text
from topic_pipeline.plots.selection import joined_words, short_label

ORIENTATIONS = ("left", "bottom")
LEAF_SPACING = 10  # scipy's dendrogram puts leaf i at x = 5 + 10 i


def linkage_from_hierarchy(hierarchy: pd.DataFrame) -> np.ndarray:
    """The scipy linkage a ``hierarchical_topics`` table was built from (its ids are scipy's: leaves 0..n-1,
    the i-th merge n + i), so a stored table redraws its tree without recomputing distances."""
    table = hierarchy.assign(parent=hierarchy["Parent_ID"].astype(int)).sort_values("parent")
    return np.column_stack([table["Child_Left_ID"].astype(int), table["Child_Right_ID"].astype(int),
                            table["Distance"].astype(float), table["Topics"].map(len)]).astype(np.float64)


def merge_hover(linkage: np.ndarray, topics: Sequence[int], leaf_names: Sequence[str], hierarchy: pd.DataFrame,
                orientation: str) -> list[list[str]]:
    """For each link of the dendrogram (scipy's drawing order): [left name, "", "", right name].

    A leaf is named by ``leaf_names`` (escaped already); a merged group by the ``Parent_Name`` of the row of
    ``hierarchy`` whose ``Topics`` are exactly its topics (the root row "Top", if any, is ignored).
    """
    from scipy.cluster import hierarchy as sch

    tree = sch.dendrogram(linkage, orientation=orientation, no_plot=True)
    table = hierarchy.loc[hierarchy["Parent_Name"] != "Top"]
    by_members = {frozenset(int(t) for t in members): escape_text(name)
                  for members, name in zip(table["Topics"], table["Parent_Name"], strict=True)}
    at_x: dict[float, list[int]] = {5.0 + LEAF_SPACING * i: [leaf] for i, leaf in enumerate(tree["leaves"])}

    def name(leaves: list[int]) -> str:
        if len(leaves) == 1:
            return leaf_names[leaves[0]]
        members = frozenset(int(topics[leaf]) for leaf in leaves)
        return by_members.get(members, "_".join(str(t) for t in sorted(members)))

    hover = []
    for xs in tree["icoord"]:  # children are drawn before the link that joins them
        left, right = at_x[xs[0]], at_x[xs[2]]
        hover.append([name(left), "", "", name(right)])
        at_x[(xs[0] + xs[2]) / 2] = left + right
    return hover


def topic_dendrogram(linkage: np.ndarray, topics: Sequence[int], labels: Sequence[str], *,
                     orientation: str = "left", hover: list[list[str]] | None = None, merge_markers: bool = False,
                     color_threshold: float | None = 1, title: str = "<b>Hierarchical Clustering</b>",
                     width: int = 1000, height: int = 600):
    """Dendrogram of ``topics`` (leaf i = ``topics[i]``, tick label ``labels[i]``, escaped already).

    ``hover`` (``merge_hover``) names both sides of each merge; ``merge_markers`` adds BERTopic's black dots
    on merged groups carrying those names. With ``orientation="left"`` the height grows with the number of
    topics (200 + 15 per topic), with ``"bottom"`` the width.

    Raises
    ------
    StageInputError
        An orientation other than "left" or "bottom", or a linkage that does not fit the topics.
    """
    import plotly.figure_factory as ff

    if orientation not in ORIENTATIONS:
        raise StageInputError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}.")
    n = len(topics)
    if n < 2 or np.shape(linkage) != (n - 1, 4):
        raise StageInputError(f"A dendrogram of {n} topics needs at least 2 topics and a linkage of shape "
                              f"({n - 1}, 4), got {np.shape(linkage)}.")
    # plotly draws from a linkage function; hand it ours, so nothing is computed twice
    figure = ff.create_dendrogram(np.zeros((n, 1)), orientation=orientation, distfun=lambda _: None,
                                  linkagefun=lambda _: linkage, hovertext=hover, color_threshold=color_threshold)
    axis = "yaxis" if orientation == "left" else "xaxis"
    ticks = [labels[int(leaf)] for leaf in figure.layout[axis]["ticktext"]]
    figure.update_layout(
        plot_bgcolor="#ECEFF1", template="plotly_white",
        title={"text": title, "x": 0.5, "xanchor": "center", "yanchor": "top", "font": {"size": 22, "color": "Black"}},
        hoverlabel={"bgcolor": "white", "font_size": 16, "font_family": "Rockwell"},
    )
    if orientation == "left":
        figure.update_layout(height=200 + 15 * n, width=width, yaxis={"tickmode": "array", "ticktext": ticks})
        lowest = min(float(np.min(trace.y)) for trace in figure.data) - 5
        highest = max(float(np.max(trace.y)) for trace in figure.data) + 5
        figure.update_layout(yaxis={"range": [lowest, highest]})
    else:
        figure.update_layout(width=200 + 15 * n, height=height, xaxis={"tickmode": "array", "ticktext": ticks})
    if merge_markers:
        _add_merge_markers(figure, orientation)
    return figure


def _add_merge_markers(figure, orientation: str) -> None:
    """A black dot with the merged group's name where each merged group (not a leaf) joins its parent."""
    import plotly.graph_objects as go

    height_axis = "x" if orientation == "left" else "y"
    links = list(figure.data)
    for end in (0, 3):  # the left and the right child of each link
        chosen = [trace for trace in links if trace.text and trace[height_axis][end] > 0]
        figure.add_trace(go.Scatter(x=[trace.x[end] for trace in chosen], y=[trace.y[end] for trace in chosen],
                                    marker_color="black", hovertext=[trace.text[end] for trace in chosen],
                                    hoverinfo="text", mode="markers", showlegend=False))


def stored_hierarchy_figure(hierarchy: pd.DataFrame, words: dict[int, list[tuple[str, float]]], *,
                            orientation: str = "left", color_threshold: float | None = 1,
                            title: str = "<b>Hierarchical Clustering</b>", width: int = 1000, height: int = 600):
    """``visualize_hierarchy(hierarchical_topics=table)`` of every topic, from the stored table and words alone.

    The table's leaves 0..n-1 are its topics in ascending order (``core.hierarchy.build_hierarchy``); ticks are
    ``"<id>_w1_w2_w3"``, hovers the merged topics' names, as ``TopicModel.visualize_hierarchy`` draws them.
    """
    linkage = linkage_from_hierarchy(hierarchy)
    topics = sorted({int(t) for members in hierarchy["Topics"] for t in members})
    hover = merge_hover(linkage, topics, [joined_words(words.get(t), 5) for t in topics], hierarchy, orientation)
    return topic_dendrogram(linkage, topics, [short_label(t, words.get(t)) for t in topics], orientation=orientation,
                            hover=hover, merge_markers=True, color_threshold=color_threshold, title=title,
                            width=width, height=height)
