"""Which topics a topic-level figure shows, and the short labels BERTopic gives them there.

The barchart, heatmap, hierarchy, term-rank, over-time and per-class figures pick
their topics with one rule (``top_n_topics`` largest, or the ``topics`` given) and
label them in a few fixed ways; both live here so that ``TopicModel.visualize_*``
and the pipeline's report (which has stored tables, not a model) label the same
topic the same way. Labels are made from the raw words first and escaped last, so a
cut never splits an HTML entity and plain words come out exactly as BERTopic's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from topic_pipeline.plots.common import escape_text

Words = Sequence[tuple[str, float]]


def select_topics(by_frequency: Iterable[int], topics: Iterable[int] | None = None,
                  top_n_topics: int | None = None, default_n: int | None = None) -> list[int]:
    """The topics to show: ``topics`` as given; else the ``top_n_topics`` largest (outliers left out), ascending;
    else the ``default_n`` largest (all when None), ascending.

    ``by_frequency`` lists the topic ids largest first (``get_topic_freq().Topic``), so equal sizes are
    resolved as BERTopic resolves them.
    """
    if topics is not None:
        return [int(t) for t in topics]
    ranked = [int(t) for t in by_frequency if int(t) != -1]
    limit = top_n_topics if top_n_topics is not None else default_n
    return sorted(ranked if limit is None else ranked[:limit])


def cut(label: str, limit: int, keep: int | None = None) -> str:
    """``label`` when shorter than ``limit``, else its first ``keep`` (default ``limit - 3``) characters + "..."."""
    keep = limit - 3 if keep is None else keep
    return label if len(label) < limit else label[:keep] + "..."


def short_label(topic: int, words: Words | None, n_words: int = 3, limit: int = 30) -> str:
    """``"<id>_w1_w2_w3"`` cut at ``limit`` characters, escaped: the barchart's aspect titles and the heatmap's and
    dendrogram's tick labels. Empty padding words stay (``"7_word__"``), as in BERTopic."""
    raw = "_".join([str(topic), *[str(word) for word, _ in list(words or [])[:n_words]]])
    return escape_text(cut(raw, limit))


def prefixed_label(topic: int, words: Words | None, n_words: int = 3) -> str:
    """``"<id>_w1_w2_w3"`` uncut, escaped: aspect labels in the term-rank lines and the dendrogram's hover."""
    return escape_text(f"{topic}_" + "_".join(str(word) for word, _ in list(words or [])[:n_words]))


def joined_words(words: Words | None, n_words: int | None = None) -> str:
    """The words joined by "_", escaped (a leaf's hover name in the dendrogram: its first 5 words)."""
    chosen = list(words or []) if n_words is None else list(words or [])[:n_words]
    return escape_text("_".join(str(word) for word, _ in chosen))


def labels_from(values: dict[int, str] | None, topics: Iterable[int]) -> dict[int, str] | None:
    """``values`` escaped for ``topics`` (None stays None): labels a user gave or stored names."""
    if values is None:
        return None
    return {int(t): escape_text(values[int(t)]) for t in topics if int(t) in values}


def legend_label(label: str) -> str:
    """A topic's name in the over-time and per-class legends: cut at 40 characters (+ "..."), escaped."""
    return escape_text(cut(label, 41, keep=40))
