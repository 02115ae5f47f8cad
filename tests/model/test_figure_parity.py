"""Acceptance 3: our topic-level figures carry BERTopic 0.17.4's traces, values and labels on the same model.

Ours (``TopicModel``) and BERTopic are fitted on the session's 2,000-post slice (``fitted_slice``: same posts,
embeddings and UMAP seed, equal topics). Each figure's whole plotly JSON is compared, trace by trace and the
layout (titles, tick labels, sizes): strings exactly, numbers to 1e-9 (plotly stores numeric arrays as base64
typed arrays; they are decoded first). The over-time and per-class figures get the same table on both sides.

The one input that may differ by construction is the order of words of *equal* c-TF-IDF weight
(tests/model/test_model_parity.py): the test asserts that the words agree up to such ties, then gives a copy
of BERTopic's model our order, so the comparison is about the figures, not about tie-breaking.

Cases are limited to calls where BERTopic's figure is right; where it is not, ours differs on purpose and a
test says how: the heatmap of a ``topics`` list (BERTopic takes the rows of topics 0..k-1 instead of the
listed ones), and ``custom_labels=<aspect>`` in the hierarchy (BERTopic raises KeyError) and in the over-time
/per-class figures without ``topics`` listing every topic (BERTopic raises TypeError).
"""

from __future__ import annotations

import base64
import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS
from scipy.cluster import hierarchy as sch
from sklearn.metrics.pairwise import cosine_similarity

from topic_pipeline import TopicModel

pytest.importorskip("bertopic")

# until TopicModel lists TopicFigures among its bases, test the mixin on a subclass
Model = TopicModel
ATOL = 1e-9


# --- comparing figure JSON --------------------------------------------------------------------------
def plain(value):
    """Figure JSON with plotly's base64 arrays decoded, tuples/arrays as lists."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return array.tolist()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, np.ndarray | pd.Series | pd.Index):
        return plain(value.tolist())
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def differences(ours, theirs, path: str = "") -> list[str]:
    """Where two JSON values differ: keys, lengths, strings, numbers beyond ATOL."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found = [f"{path}.{key}: only in {'ours' if key in ours else 'theirs'}" for key in set(ours) ^ set(theirs)]
        return found + [d for key in sorted(set(ours) & set(theirs)) for d in differences(ours[key], theirs[key],
                                                                                            f"{path}.{key}")]
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{path}: {len(ours)} items vs {len(theirs)}"]
        return [d for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for d in differences(a, b, f"{path}[{i}]")]
    numbers = (int, float)
    if isinstance(ours, numbers) and isinstance(theirs, numbers) and not isinstance(ours, bool):
        return [] if abs(ours - theirs) <= ATOL or ours == theirs else [f"{path}: {ours!r} vs {theirs!r}"]
    return [] if ours == theirs else [f"{path}: {ours!r} vs {theirs!r}"]


def assert_same_figure(ours, theirs) -> None:
    mine, reference = plain(ours.to_dict()), plain(theirs.to_dict())
    assert len(mine["data"]) == len(reference["data"])
    found = differences(mine, reference)
    assert not found, "\n".join(found[:20])


# --- fixtures ---------------------------------------------------------------------------------------
def assert_same_up_to_ties(ours: list, theirs: list) -> None:
    """Equal weights position by position; a run of tied weights holds the same words unless it is cut at the end."""
    assert len(ours) == len(theirs)
    weights = np.array([float(s) for _, s in theirs])
    np.testing.assert_allclose([float(s) for _, s in ours], weights, rtol=0, atol=ATOL)
    start = 0
    for end in range(1, len(theirs) + 1):
        if end == len(theirs) or abs(weights[end] - weights[start]) > ATOL:
            if end < len(theirs):
                assert {w for w, _ in ours[start:end]} == {w for w, _ in theirs[start:end]}, (ours, theirs)
            start = end


@pytest.fixture(scope="module")
def pair(fitted_slice):
    """(texts, ours, theirs): ours fitted like the slice; theirs a copy of the slice's BERTopic with our order of
    tied words, the same custom labels and the same extra aspect ("Alt") on both."""
    texts, _, fitted = fitted_slice
    ours = Model(min_topic_size=5)
    ours.fit(texts, np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[: len(texts)].copy())
    theirs = copy.deepcopy(fitted.model)
    assert sorted(ours.topic_sizes_.items()) == sorted(theirs.topic_sizes_.items())
    for topic, words in ours.topic_representations_.items():
        assert_same_up_to_ties(words, theirs.get_topic(topic))
    theirs.topic_representations_ = ours.topic_representations_  # its topic_labels_ are made from these
    assert theirs.topic_labels_ == ours.topic_labels_
    alt = {t: [(w, s / 2) for w, s in reversed(words)] for t, words in ours.topic_representations_.items()}
    record = ours.fitted
    ours.fitted_state_ = record.replace(description=dataclasses.replace(record.description, aspects={"Alt": alt}))
    theirs.topic_aspects_ = {"Alt": alt}
    labels = [f"{t}: custom label {t}" for t in sorted(ours.topic_sizes_)]
    ours.set_topic_labels(labels)
    theirs.set_topic_labels(labels)
    return texts, ours, theirs


@pytest.fixture(scope="module")
def tables(pair):
    """Our topics_over_time (the posts' real dates, 8 bins) and topics_per_class (newsgroups) tables."""
    texts, ours, _ = pair
    posts = pd.read_parquet(NEWSGROUPS, columns=["label", "timestamp"]).iloc[: len(texts)]
    stamps = posts["timestamp"].fillna(posts["timestamp"].min())
    return ours.topics_over_time(texts, stamps.tolist(), nr_bins=8), ours.topics_per_class(texts, posts["label"].tolist())


# --- the figures ------------------------------------------------------------------------------------
@pytest.mark.parametrize("arguments", [
    {},  # the 8 largest topics, 5 words, "Topic n" titles
    {"top_n_topics": 13, "n_words": 9, "title": "words", "width": 200, "height": 300},  # 4 rows, a colour cycle
    {"topics": [6, 2, 11], "custom_labels": True},  # a list keeps its order; set_topic_labels titles
    {"custom_labels": "Alt", "autoscale": True},  # an aspect's words as titles
    {"top_n_topics": 4, "n_words": 14, "autoscale": True},  # autoscale makes room past 12 words
])
def test_barchart_equals_bertopic(pair, arguments):
    _, ours, theirs = pair
    assert_same_figure(ours.visualize_barchart(**arguments), theirs.visualize_barchart(**arguments))


@pytest.mark.parametrize("arguments", [
    {},  # every topic, topic embeddings
    {"use_ctfidf": True, "top_n_topics": 20},  # c-TF-IDF rows
    {"top_n_topics": 15, "n_clusters": 4},  # rows and columns grouped by 4 clusters
    {"custom_labels": True, "n_clusters": 6},
    {"custom_labels": "Alt", "top_n_topics": 10},
])
def test_heatmap_equals_bertopic(pair, arguments):
    _, ours, theirs = pair
    assert_same_figure(ours.visualize_heatmap(**arguments), theirs.visualize_heatmap(**arguments))


@pytest.mark.parametrize("arguments", [
    {},  # every topic, -1 included, all black
    {"topics": [0, 3], "log_scale": True},  # highlighted in red, log10 scores
    {"custom_labels": True},
    {"custom_labels": "Alt", "width": 600},
])
def test_term_rank_equals_bertopic(pair, arguments):
    _, ours, theirs = pair
    assert_same_figure(ours.visualize_term_rank(**arguments), theirs.visualize_term_rank(**arguments))


@pytest.mark.parametrize("arguments", [
    {},  # every topic, c-TF-IDF, leaves on the left
    {"orientation": "bottom", "top_n_topics": 12, "color_threshold": 0.8},
    {"use_ctfidf": False, "topics": [9, 1, 4, 7, 2]},  # topic embeddings, a list of topics
    {"custom_labels": True},
    {"hierarchy": True},  # hover names of merged topics from hierarchical_topics, black merge markers
    {"hierarchy": True, "custom_labels": True, "orientation": "bottom"},
    {"hierarchy": True, "top_n_topics": 10},  # a subset: markers without names, as in BERTopic
    {"distance_function": lambda x: np.clip(1 - cosine_similarity(x), 0, None),
     "linkage_function": lambda d: sch.linkage(d, "average", optimal_ordering=True)},
])
def test_hierarchy_equals_bertopic(pair, arguments):
    texts, ours, theirs = pair
    arguments = dict(arguments)
    if arguments.pop("hierarchy", False):
        arguments["hierarchical_topics"] = ours.hierarchical_topics(texts)
    mine, reference = ours.visualize_hierarchy(**arguments), theirs.visualize_hierarchy(**arguments)
    axis = "xaxis" if arguments.get("orientation") == "bottom" else "yaxis"
    # the same leaf order (tick labels are "<id>_w1_w2_w3" or custom labels), then the whole figure
    assert list(mine.layout[axis].ticktext) == list(reference.layout[axis].ticktext)
    assert_same_figure(mine, reference)


def test_hierarchy_draws_the_linkage_of_hierarchical_topics(pair):
    """Same linkage as the merge table: each merge height of the table is a link height of the figure."""
    texts, ours, _ = pair
    merges = ours.hierarchical_topics(texts)
    figure = ours.visualize_hierarchy()
    heights = sorted(float(trace.x[1]) for trace in figure.data)
    np.testing.assert_allclose(heights, sorted(merges["Distance"]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("arguments", [
    {},  # every topic but -1
    {"top_n_topics": 5, "normalize_frequency": True, "title": "time", "width": 900},
    {"topics": [7, -1, 3]},  # -1 can be asked for; lines in topic order
    {"custom_labels": True, "top_n_topics": 9},
    {"custom_labels": "Alt", "topics": "all"},  # BERTopic needs every topic listed for aspect labels
])
def test_topics_over_time_equals_bertopic(pair, tables, arguments):
    _, ours, theirs = pair
    over_time = tables[0]
    if arguments.get("topics") == "all":
        arguments = {**arguments, "topics": list(theirs.topic_labels_)}
    before = over_time.copy()
    mine = ours.visualize_topics_over_time(over_time, **arguments)
    pd.testing.assert_frame_equal(over_time, before)  # BERTopic adds a Name column to the caller's table
    assert_same_figure(mine, theirs.visualize_topics_over_time(over_time.copy(), **arguments))


@pytest.mark.parametrize("arguments", [
    {},  # the 10 largest topics, the first one visible
    {"top_n_topics": None, "normalize_frequency": True},
    {"topics": [4, 0, 8], "custom_labels": True, "height": 500},
    {"custom_labels": "Alt", "topics": "all"},
])
def test_topics_per_class_equals_bertopic(pair, tables, arguments):
    _, ours, theirs = pair
    per_class = tables[1]
    if arguments.get("topics") == "all":
        arguments = {**arguments, "topics": list(theirs.topic_labels_)}
    before = per_class.copy()
    mine = ours.visualize_topics_per_class(per_class, **arguments)
    pd.testing.assert_frame_equal(per_class, before)
    assert_same_figure(mine, theirs.visualize_topics_per_class(per_class.copy(), **arguments))


# --- where ours differs on purpose ------------------------------------------------------------------
def test_heatmap_of_listed_topics_compares_those_topics(pair):
    """BERTopic takes rows 0..k-1 for ``topics=[a, b, c]``; ours the listed topics' embeddings."""
    _, ours, theirs = pair
    listed = [9, 2, 5]
    mine = ours.visualize_heatmap(topics=listed)
    expected = cosine_similarity(theirs.topic_embeddings_[[t + theirs._outliers for t in listed]])  # -1 first
    np.testing.assert_allclose(np.asarray(mine.data[0].z, dtype=float), expected, rtol=0, atol=1e-6)
    wrong = cosine_similarity(theirs.topic_embeddings_[theirs._outliers:][: len(listed)])
    np.testing.assert_allclose(np.asarray(theirs.visualize_heatmap(topics=listed).data[0].z, dtype=float), wrong,
                               rtol=0, atol=1e-6)


def aspect_label(topic: int, words) -> str:
    """BERTopic's aspect label of the barchart, heatmap and dendrogram: id and 3 words, cut at 30 characters."""
    label = "_".join([str(topic), *[w for w, _ in words[:3]]])
    return label if len(label) < 30 else label[:27] + "..."


def test_aspect_labels_where_bertopic_fails(pair, tables):
    """Aspect labels in the hierarchy and, without a full ``topics`` list, per class (over time is the same)."""
    _, ours, theirs = pair
    alt = ours.topic_aspects_["Alt"]
    with pytest.raises(KeyError):
        theirs.visualize_hierarchy(custom_labels="Alt")
    figure = ours.visualize_hierarchy(custom_labels="Alt")
    reference = theirs.visualize_hierarchy()  # the same leaves, labelled "<id>_w1_w2_w3"
    leaves = [int(label.split("_")[0]) for label in reference.layout.yaxis.ticktext]
    assert list(figure.layout.yaxis.ticktext) == [aspect_label(t, alt[t]) for t in leaves]
    with pytest.raises(TypeError):
        theirs.visualize_topics_per_class(tables[1].copy(), custom_labels="Alt")
    names = [trace.name for trace in ours.visualize_topics_per_class(tables[1], custom_labels="Alt").data]
    largest = sorted(theirs.get_topic_freq().query("Topic != -1").Topic.tolist()[:10])
    assert names == [aspect_label(t, alt[t]) for t in largest]
