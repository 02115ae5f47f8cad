"""Cosine similarity between topics as a heatmap (BERTopic's ``visualize_heatmap``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from topic_pipeline.errors import StageInputError
from topic_pipeline.plots.selection import Words, short_label


def cluster_order(similarity: np.ndarray, n_clusters: int) -> np.ndarray:
    """Positions of the topics grouped into ``n_clusters`` clusters, as BERTopic orders its heatmap.

    BERTopic clusters the rows of the similarity matrix (each topic described by its similarities to the
    others) with ward linkage, cuts the tree into ``n_clusters`` and lists the clusters in the order their
    first topic appears, each cluster's topics in their original order.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    clusters = fcluster(linkage(similarity, "ward"), t=n_clusters, criterion="maxclust")
    first_seen = {cluster: position for position, cluster in reversed(list(enumerate(clusters)))}
    return np.array(sorted(range(len(clusters)), key=lambda i: (first_seen[clusters[i]], i)))


def topic_heatmap(vectors: np.ndarray | sp.spmatrix, topics: Sequence[int], *,
                  words: Mapping[int, Words] | None = None, labels: Mapping[int, str] | None = None,
                  n_clusters: int | None = None, title: str = "<b>Similarity Matrix</b>", width: int = 800,
                  height: int = 800):
    """Heatmap of the cosine similarity between the rows of ``vectors`` (one per topic in ``topics``).

    Parameters
    ----------
    vectors : ndarray or sparse matrix of shape (n_topics, n_features)
        Topic embeddings or c-TF-IDF rows, row i for ``topics[i]``.
    topics : sequence of int
    words : mapping of topic id to list of (word, weight), optional
        Default labels ``"<id>_w1_w2_w3"`` (cut at 30 characters) are made from them.
    labels : mapping of topic id to str, optional
        Labels to use instead (already escaped).
    n_clusters : int, optional
        Order the topics by ``n_clusters`` clusters of similar topics (``cluster_order``).

    Raises
    ------
    StageInputError
        ``vectors`` and ``topics`` disagree in length, or ``n_clusters`` is not below the number of topics.
    """
    import plotly.express as px
    from sklearn.metrics.pairwise import cosine_similarity

    topics = [int(t) for t in topics]
    if vectors.shape[0] != len(topics):
        raise StageInputError(f"The heatmap needs one row per topic: {len(topics)} topics, {vectors.shape[0]} rows.")
    similarity = cosine_similarity(vectors)
    order = np.arange(len(topics))
    if n_clusters:
        if n_clusters >= len(set(topics)):
            raise StageInputError(f"n_clusters must be lower than the number of topics shown ({len(set(topics))}), "
                                  f"got {n_clusters}; lower n_clusters or show more topics.")
        order = cluster_order(similarity, n_clusters)
        similarity = similarity[np.ix_(order, order)]
    shown = [topics[i] for i in order]
    names = [labels[t] if labels and t in labels else short_label(t, (words or {}).get(t)) for t in shown]
    figure = px.imshow(similarity, labels={"color": "Similarity Score"}, x=names, y=names,
                       color_continuous_scale="GnBu")
    figure.update_layout(
        title={"text": title, "y": 0.95, "x": 0.55, "xanchor": "center", "yanchor": "top",
               "font": {"size": 22, "color": "Black"}},
        width=width, height=height, hoverlabel={"bgcolor": "white", "font_size": 16, "font_family": "Rockwell"},
        showlegend=True, legend_title_text="Trend",
    )
    return figure
