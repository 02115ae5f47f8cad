"""Hierarchical topic structure: ward linkage on c-TF-IDF distances, merged topics named by words.

As BERTopic's ``hierarchical_topics``: distance = 1 - cosine between topic
c-TF-IDF rows (outliers excluded), scipy ``linkage(..., "ward",
optimal_ordering=True)``; each merged topic sums its members' term counts and
is weighted with the *fitted* idf (no refit), and named by its top 5 words.
Tied merge heights are spread by at most 1e-7 so that cutting the tree at a
height is unambiguous; unlike BERTopic we spread them deterministically.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial.distance import squareform

from topic_pipeline.core.ctfidf import ctfidf_transform
from topic_pipeline.core.sklearn_functions import cosine_similarity
from topic_pipeline.core.topic_words import CANDIDATE_WORDS, top_words
from topic_pipeline.errors import StageInputError

HIERARCHY_COLUMNS = (
    "parent_id", "parent_name", "topic_ids", "left_child_id", "left_child_name", "right_child_id", "right_child_name",
    "distance",
)


def topic_linkage(topic_ctfidf: sp.csr_matrix, method: str = "ward") -> np.ndarray:
    """Linkage matrix (scipy format) over 1 - cosine similarity of the rows."""
    # rounding can give 1 - cos slightly below 0 for equal rows; scipy's optimal ordering refuses negatives
    distances = np.clip(1 - cosine_similarity(topic_ctfidf), 0.0, None)
    np.fill_diagonal(distances, 0)
    condensed = squareform(distances, checks=False)
    from scipy.cluster import hierarchy as sch

    linkage = sch.linkage(condensed, method, optimal_ordering=True)
    linkage[:, 2] = spread_tied_heights(linkage[:, 2])
    return linkage


def custom_linkage(vectors: np.ndarray | sp.csr_matrix, linkage_function: Callable[[np.ndarray], np.ndarray] | None,
                   distance_function: Callable[[Any], np.ndarray] | None) -> np.ndarray:
    """A linkage from the user's functions, as BERTopic's ``hierarchical_topics`` arguments define them.

    ``distance_function`` (default 1 - cosine similarity) may return a square matrix or a condensed one;
    ``linkage_function`` (default ward with optimal ordering) gets the condensed distances.
    """
    distances = (1 - cosine_similarity(vectors)) if distance_function is None else distance_function(vectors)
    distances = np.asarray(distances.toarray() if sp.issparse(distances) else distances, dtype=np.float64)
    n = vectors.shape[0]
    if distances.ndim == 2:
        if distances.shape != (n, n):
            raise StageInputError(f"distance_function must return a ({n}, {n}) matrix or a condensed one, "
                                  f"got shape {distances.shape}.")
        distances = np.clip(distances, 0.0, None)
        np.fill_diagonal(distances, 0)
        distances = squareform(distances, checks=False)
    elif distances.shape != (n * (n - 1) // 2,):
        raise StageInputError(f"distance_function returned shape {distances.shape}; a condensed matrix of "
                              f"{n} topics has {n * (n - 1) // 2} values.")
    if linkage_function is None:
        from scipy.cluster import hierarchy as sch

        linkage = sch.linkage(distances, "ward", optimal_ordering=True)
    else:
        linkage = np.asarray(linkage_function(distances), dtype=np.float64)
    if linkage.shape != (n - 1, 4):
        raise StageInputError(f"linkage_function must return a scipy linkage of shape ({n - 1}, 4), "
                              f"got {linkage.shape}.")
    linkage[:, 2] = spread_tied_heights(linkage[:, 2])
    return linkage


def spread_tied_heights(heights: np.ndarray, max_step: float = 1e-7) -> np.ndarray:
    """Make equal consecutive heights strictly increasing by steps below ``max_step``."""
    spread = heights.copy()
    for i in range(1, len(spread)):
        if spread[i] <= spread[i - 1]:
            later = heights[i + 1 :][heights[i + 1 :] > spread[i - 1]]
            room = min(max_step, (later[0] - spread[i - 1]) if len(later) else max_step)
            spread[i] = spread[i - 1] + room / 2
    return spread


def build_hierarchy(
    topic_ids: np.ndarray,
    topic_term_counts: sp.csr_matrix,
    topic_ctfidf: sp.csr_matrix,
    idf: np.ndarray,
    vocabulary: np.ndarray,
    *,
    reduce_frequent_words: bool,
    top_n_words: int = 10,
    name_words: int = 5,
    method: str = "ward",
    linkage: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per merge: parent id/name, members, both children, merge distance.

    ``linkage`` is a precomputed scipy linkage over the topics besides -1 (``custom_linkage``);
    by default it is ``method`` linkage on c-TF-IDF cosine distances.
    Ids follow scipy: leaves are the topic ids 0..n-1, the i-th merge is n + i.
    Rows are sorted by ``parent_id`` descending (the root first), as BERTopic.

    Raises
    ------
    StageInputError
        Fewer than two topics (outliers excluded): nothing to merge.
    """
    keep = np.asarray(topic_ids) != -1
    ids = np.asarray(topic_ids)[keep]
    if len(ids) < 2:
        raise StageInputError(f"A topic hierarchy needs at least 2 topics besides outliers, got {len(ids)}.")
    counts, weights = topic_term_counts[keep], topic_ctfidf[keep]
    linkage = topic_linkage(weights, method) if linkage is None else np.array(linkage, dtype=np.float64)
    n = len(ids)
    n_candidates = max(top_n_words, CANDIDATE_WORDS)  # as BERTopic's _extract_words_per_topic: ties depend on it
    leaf_names = ["_".join(w for w, _ in words[:name_words]) for words in top_words(weights, vocabulary, n_candidates)]
    members: list[list[int]] = [[int(topic)] for topic in ids]
    names = list(leaf_names)
    rows = []
    for index, (left, right, distance, _) in enumerate(linkage):
        left, right = int(left), int(right)
        merged = sorted(members[left] + members[right])
        grouped = sp.csr_matrix(counts[[int(np.flatnonzero(ids == t)[0]) for t in merged]].sum(axis=0))
        weights_of_merge = ctfidf_transform(grouped, idf, reduce_frequent_words=reduce_frequent_words)
        words = top_words(weights_of_merge, vocabulary, n_candidates)[0]
        name = "_".join(w for w, _ in words[:name_words])
        members.append(merged)
        names.append(name)
        rows.append((n + index, name, merged, left, names[left], right, names[right], float(distance)))
    frame = pd.DataFrame(rows, columns=list(HIERARCHY_COLUMNS))
    return frame.sort_values("parent_id", ascending=False).reset_index(drop=True)


def topic_tree(hierarchy: pd.DataFrame, topic_names: dict[int, str] | None = None) -> str:
    """A plain-text tree of the hierarchy, root first (BERTopic's ``get_topic_tree``)."""
    by_parent = {int(row.parent_id): row for row in hierarchy.itertuples(index=False)}
    root = max(by_parent)
    lines: list[str] = []

    def walk(node: int, prefix: str, last: bool, label: str) -> None:
        branch = "" if node == root else ("└── " if last else "├── ")
        if node in by_parent:
            row = by_parent[node]
            lines.append(f"{prefix}{branch}■ {row.parent_name} (distance {row.distance:.3f}, topics {list(row.topic_ids)})")
            child_prefix = prefix + ("" if node == root else ("    " if last else "│   "))
            walk(int(row.left_child_id), child_prefix, False, row.left_child_name)
            walk(int(row.right_child_id), child_prefix, True, row.right_child_name)
        else:
            shown = (topic_names or {}).get(node, label)
            lines.append(f"{prefix}{branch}● {shown} ── Topic: {node}")

    walk(root, "", True, "")
    return "\n".join(lines)


def bertopic_tree_text(hier_topics: pd.DataFrame, max_distance: float | None = None, tight_layout: bool = False
                       ) -> str:
    """BERTopic's ``get_topic_tree`` text for a table in ``hierarchical_topics``' columns.

    The root's children first; a merged topic prints its name, an original topic
    ``■──<name> ── Topic: <id>`` when the merge it joins lies below ``max_distance`` (default: above
    every distance), else ``O``. ``tight_layout`` indents by 1 instead of 4. Names are cut at 100.
    """
    width = 1 if tight_layout else 4
    limit = hier_topics["Distance"].max() + 1 if max_distance is None else max_distance
    parents = hier_topics["Parent_ID"].astype(int)
    last_original = int(parents.min()) - 1
    names: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    joins_at: dict[str, float] = {}  # a node -> distance of the merge it is a child in
    for row in hier_topics.itertuples(index=False):
        left, right = str(row.Child_Left_ID), str(row.Child_Right_ID)
        names.setdefault(left, str(row.Child_Left_Name)[:100])
        names.setdefault(right, str(row.Child_Right_Name)[:100])
        children[str(row.Parent_ID)] = [left, right]
        joins_at.setdefault(left, row.Distance)
        joins_at.setdefault(right, row.Distance)
    root = str(int(parents.max()))
    text = [".\n"]
    stack: list[tuple[str, str, str]] = [(root, "", "")]  # node, what precedes its label, its children's indent
    while stack:
        node, lead, indent = stack.pop()
        text.append(lead)
        if node != root:
            if int(node) > last_original:
                text.append(names[node] + "\n")
            elif joins_at.get(node, 10) < limit:
                text.append(f"■──{names[node]} ── Topic: {node}\n")
            else:
                text.append("O \n")
        kids = children.get(node, [])
        for position, kid in reversed(list(enumerate(kids))):
            last = position == len(kids) - 1
            stack.append((kid, indent + ("└─" if last else "├─"),
                          indent + (" " * (width + 1) if last else "│" + " " * width)))
    return "".join(text)
