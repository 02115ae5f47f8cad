"""The topic-level figures: barchart, heatmap, term rank, hierarchy, topics over time, topics per class.

The figure functions are checked on hand-made topics whose every bar, cell and line is known; the
``TopicFigures`` methods on one 1,000-post fit, where each figure must carry that model's topics, sizes,
words, labels and similarities. Text that may come from documents or users (words of a custom vectorizer,
custom labels) must appear escaped: ``<script>`` and ``<img onerror>`` never reach the figure as markup.
Parity with BERTopic's figures is tests/model/test_figure_parity.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS
from scipy.cluster import hierarchy as sch
from sklearn.metrics.pairwise import cosine_similarity

from topic_pipeline import TopicModel
from topic_pipeline.core.hierarchy import topic_linkage
from topic_pipeline.errors import ModelArgumentError, NotFittedError, StageInputError
from topic_pipeline.plots.barchart import BAR_COLORS, topic_barchart
from topic_pipeline.plots.dendrogram import (
    linkage_from_hierarchy,
    merge_hover,
    stored_hierarchy_figure,
    topic_dendrogram,
)
from topic_pipeline.plots.heatmap import topic_heatmap
from topic_pipeline.plots.selection import select_topics, short_label
from topic_pipeline.plots.term_rank import term_rank_figure
from topic_pipeline.plots.topics_over_time import LINE_COLORS, topics_over_time_figure
from topic_pipeline.plots.topics_per_class import topics_per_class_figure

Model = TopicModel
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
WORDS = {  # hand-made topics: word weights fall with rank
    -1: [("the", 0.05), ("of", 0.04), ("and", 0.03)],
    0: [("game", 0.9), ("team", 0.5), ("season", 0.25)],
    1: [("space", 0.8), ("nasa", 0.6), ("orbit", 0.0)],
    2: [("god", 0.7), ("church", 0.3), ("faith", 0.2)],
    3: [("car", 0.6), ("engine", 0.4), ("road", 0.1)],
    4: [("gun", 2.0), ("law", 1.0), ("rights", 0.5)],  # not c-TF-IDF-like: no term-rank line
}


def assert_no_markup(figure) -> None:
    text = figure.to_json()
    assert "<script>" not in text and "<img" not in text


# --- choosing and labelling topics ------------------------------------------------------------------
@pytest.mark.parametrize(("topics", "top_n", "default_n", "expected"), [
    (None, 3, None, [0, 2, 5]),  # the 3 largest, outliers left out, ascending
    (None, None, None, [0, 1, 2, 3, 5]),  # all but -1
    (None, None, 2, [2, 5]),  # the figure's own default count (the barchart's 6)
    ([3, -1, 0], 2, None, [3, -1, 0]),  # a list wins and keeps its order, -1 included
])
def test_select_topics(topics, top_n, default_n, expected):
    by_frequency = [5, -1, 2, 0, 3, 1]  # largest first
    assert select_topics(by_frequency, topics, top_n, default_n) == expected


def test_short_label_cuts_at_30_and_escapes():
    assert short_label(3, [("car", 1.0), ("engine", 0.5), ("road", 0.2), ("wheel", 0.1)]) == "3_car_engine_road"
    assert short_label(12, [("a" * 30, 1.0)]) == "12_" + "a" * 24 + "..."
    assert short_label(7, [("x", 1.0), ("", 1e-5), ("", 1e-5)]) == "7_x__"  # padding words stay, as in BERTopic
    assert short_label(1, [(SCRIPT, 1.0)]) == "1_&lt;script&gt;alert(1)&lt;/script&gt;"


# --- barchart -----------------------------------------------------------------------------------------
def test_barchart_bars_are_the_topics_words_best_on_top():
    topics = [0, 1, 2, 3, 4]
    figure = topic_barchart(topics, WORDS, {0: "sports", 3: "cars"}, n_words=2, width=200, height=300)
    assert len(figure.data) == 5
    for trace, topic, color in zip(figure.data, topics, BAR_COLORS, strict=False):
        assert list(trace.y) == [w + "  " for w, _ in WORDS[topic][:2][::-1]]
        assert list(trace.x) == [s for _, s in WORDS[topic][:2][::-1]]
        assert trace.orientation == "h" and trace.marker.color == color
    assert [a.text for a in figure.layout.annotations] == ["sports", "Topic 1", "Topic 2", "cars", "Topic 4"]
    assert (figure.layout.width, figure.layout.height) == (800, 600)  # 4 columns; 2 rows of 300
    assert topic_barchart([2], WORDS).layout.height == 250 * 1.3  # one row gets 30 % more


def test_barchart_escapes_words_and_labels():
    figure = topic_barchart([0], {0: [(SCRIPT, 1.0)]}, {0: short_label(0, [(IMG, 1.0)])})
    assert figure.data[0].y == ("&lt;script&gt;alert(1)&lt;/script&gt;  ",)
    assert_no_markup(figure)


@pytest.mark.parametrize(("topics", "match"), [
    ([], "at least one topic"),  # e.g. a model whose documents are all outliers
    ([0, 9], r"topics \[9\] have no words"),
])
def test_barchart_refuses_what_it_cannot_draw(topics, match):
    with pytest.raises(StageInputError, match=match):
        topic_barchart(topics, WORDS)


# --- heatmap ------------------------------------------------------------------------------------------
def test_heatmap_cells_are_cosine_similarities_ordered_by_clusters():
    # topics 10 and 12 point one way, 11 and 13 the other: two clusters, interleaved
    vectors = np.array([[1.0, 0.1, 0], [0, 1.0, 0.2], [0.9, 0.2, 0], [0.1, 1.0, 0.1]])
    topics = [10, 11, 12, 13]
    figure = topic_heatmap(vectors, topics, words={t: [(f"w{t}", 1.0)] for t in topics}, labels={13: "last"})
    np.testing.assert_allclose(np.asarray(figure.data[0].z), cosine_similarity(vectors), atol=1e-12)
    assert list(figure.data[0].x) == list(figure.data[0].y) == ["10_w10", "11_w11", "12_w12", "last"]
    grouped = topic_heatmap(vectors, topics, n_clusters=2)
    assert list(grouped.data[0].x) == ["10", "12", "11", "13"]  # no words: the id alone
    order = [0, 2, 1, 3]
    np.testing.assert_allclose(np.asarray(grouped.data[0].z), cosine_similarity(vectors[order]), atol=1e-12)
    with pytest.raises(StageInputError, match="n_clusters must be lower than the number of topics shown"):
        topic_heatmap(vectors, topics, n_clusters=4)


# --- term rank ----------------------------------------------------------------------------------------
def test_term_rank_lines_are_the_scores_by_rank():
    topics = sorted(WORDS)
    figure = term_rank_figure(topics, WORDS, highlighted=[2])
    drawn = [int(trace.hovertext.split("</b>")[0].removeprefix("<b>Topic ")) for trace in figure.data]
    assert drawn == [-1, 0, 1, 2, 3]  # topic 4 has scores above 1.5
    by_topic = dict(zip(drawn, figure.data, strict=True))
    assert list(by_topic[0].x) == [1, 2, 3] and list(by_topic[0].y) == [0.9, 0.5, 0.25]
    assert list(by_topic[1].y) == [0.8, 0.6, 0.03]  # a zero score becomes the smallest positive one
    assert by_topic[2].line.color == "red" and by_topic[2].opacity == 1
    assert by_topic[3].line.color == "black" and by_topic[3].opacity == 0.1
    assert by_topic[3].hovertext == "<b>Topic 3</b>:car_engine_road"
    logged = term_rank_figure(topics, WORDS, log_scale=True)
    np.testing.assert_allclose(logged.data[1].y, np.log10([0.9, 0.5, 0.25]))
    assert logged.layout.yaxis.title.text == "c-TF-IDF score (log scale)"


def test_term_rank_labels_are_cut_at_50_and_escaped():
    words = {0: [("a" * 40, 0.5), ("b" * 40, 0.4)], 1: [(SCRIPT, 0.5)]}
    figure = term_rank_figure([0, 1], words)
    assert figure.data[0].hovertext == ("<b>Topic 0</b>:" + "a" * 40 + "_" + "b" * 40)[:50]
    assert figure.data[1].hovertext == "<b>Topic 1</b>:&lt;script&gt;alert(1)&lt;/script&gt;"


# --- dendrogram ---------------------------------------------------------------------------------------
@pytest.fixture
def five_topics():
    """c-TF-IDF-like rows: topics 0/1 share words, 2/3 share others, 4 stands apart."""
    rows = np.array([[3, 1, 0, 0, 0], [2, 1, 0, 0, 0.1], [0, 0, 3, 1, 0], [0, 0.2, 2, 1, 0], [0, 0, 0, 1, 3.0]])
    return rows, topic_linkage(rows)


def test_dendrogram_leaves_follow_the_linkage(five_topics):
    rows, linkage = five_topics
    labels = [f"label {t}" for t in range(5)]
    figure = topic_dendrogram(linkage, list(range(5)), labels)
    leaves = sch.dendrogram(linkage, no_plot=True)["leaves"]
    assert list(figure.layout.yaxis.ticktext) == [labels[leaf] for leaf in leaves]
    assert sorted(float(trace.x[1]) for trace in figure.data) == sorted(linkage[:, 2])  # the merge heights
    assert figure.layout.height == 200 + 15 * 5
    position = {leaf: i for i, leaf in enumerate(leaves)}
    assert abs(position[0] - position[1]) == 1 and abs(position[2] - position[3]) == 1  # similar topics side by side
    with pytest.raises(StageInputError, match="orientation must be one of"):
        topic_dendrogram(linkage, list(range(5)), labels, orientation="top")


def test_dendrogram_hover_names_merged_topics_from_the_table(five_topics):
    _, linkage = five_topics
    table = pd.DataFrame({"Parent_ID": ["5", "6", "7", "8"], "Topics": [[0, 1], [2, 3], [2, 3, 4], [0, 1, 2, 3, 4]],
                          "Parent_Name": ["sports", "tech", "tech_cars", SCRIPT]})
    hover = merge_hover(linkage, list(range(5)), [f"leaf{t}" for t in range(5)], table, "left")
    named = {frozenset(pair) for pair in ([h[0], h[3]] for h in hover)}
    assert {"leaf0", "leaf1"} in named and {"leaf2", "leaf3"} in named
    assert {"sports", "tech_cars"} in named or {"sports", "tech"} in named  # the root joins two named groups
    figure = topic_dendrogram(linkage, list(range(5)), [str(t) for t in range(5)], hover=hover, merge_markers=True)
    markers = figure.data[-2:]
    assert all(trace.mode == "markers" for trace in markers)
    assert set(markers[0].hovertext + markers[1].hovertext) <= {"sports", "tech", "tech_cars"}
    assert_no_markup(figure)


# --- over time and per class --------------------------------------------------------------------------
@pytest.fixture
def over_time():
    stamps = pd.to_datetime(["1993-01-01", "1993-02-01", "1993-03-01"])
    return pd.DataFrame({"Topic": [1, 0, 0, 1, 0, 2], "Words": ["space, nasa", "game, team", SCRIPT, "orbit", "cup", "x"],
                         "Frequency": [4, 3, 6, 2, 5, 1], "Timestamp": [stamps[0], stamps[0], stamps[1], stamps[2],
                                                                        stamps[2], stamps[0]]})


def test_topics_over_time_lines_are_the_tables_frequencies(over_time):
    before = over_time.copy()
    figure = topics_over_time_figure(over_time, [0, 1], {0: "0_game", 1: "1_space"})
    pd.testing.assert_frame_equal(over_time, before)  # the caller's table is not changed
    assert [trace.name for trace in figure.data] == ["0_game", "1_space"]
    assert list(figure.data[0].y) == [3, 6, 5] and list(figure.data[1].y) == [4, 2]
    assert [trace.marker.color for trace in figure.data] == list(LINE_COLORS[:2])
    assert figure.data[0].hovertext[1] == "<b>Topic 0</b><br>Words: &lt;script&gt;alert(1)&lt;/script&gt;"
    normalized = topics_over_time_figure(over_time, [0], {0: "0_game"}, normalize_frequency=True)
    np.testing.assert_allclose(normalized.data[0].y, np.array([3, 6, 5]) / np.sqrt(70))
    assert normalized.layout.yaxis.title.text == "Normalized Frequency"
    with pytest.raises(StageInputError, match=r"\['Timestamp'\] missing"):
        topics_over_time_figure(over_time.drop(columns="Timestamp"), [0], {})


def test_topics_per_class_bars_are_the_tables_frequencies():
    table = pd.DataFrame({"Topic": [0, 0, 1], "Words": ["a", "b", "c"], "Frequency": [5, 2, 7],
                          "Class": ["sci.space", "rec.autos", "sci.space"]})
    figure = topics_per_class_figure(table, [1, 0, 9], {0: "zero", 1: "one"})
    assert [trace.name for trace in figure.data] == ["one", "zero", "Topic 9"]  # 9 has no rows: an empty trace
    assert list(figure.data[1].y) == ["sci.space", "rec.autos"] and list(figure.data[1].x) == [5, 2]
    assert [trace.visible for trace in figure.data] == [True, "legendonly", "legendonly"]
    assert list(figure.data[2].x) == []


# --- the TopicModel methods on a fit ------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    """1,000 posts, min topic size 5 (a few dozen topics and outliers), their dates and newsgroups."""
    posts = pd.read_parquet(NEWSGROUPS, columns=["text", "label", "timestamp"]).iloc[:1000]
    model = Model(min_topic_size=5)
    model.fit(posts["text"].tolist(), np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:1000].copy())
    return model, posts


def largest(model, n):
    sizes = {t: s for t, s in model.topic_sizes_.items() if t != -1}
    return sorted(sorted(sizes, key=lambda t: -sizes[t])[:n])


def test_barchart_shows_the_largest_topics_and_their_words(fitted):
    model, _ = fitted
    figure = model.visualize_barchart()
    shown = largest(model, 8)
    assert [a.text for a in figure.layout.annotations] == [f"Topic {t}" for t in shown]
    for trace, topic in zip(figure.data, shown, strict=True):
        assert [w.strip() for w in trace.y][::-1] == [w for w, _ in model.get_topic(topic)[:5]]
        np.testing.assert_allclose(trace.x[::-1], [s for _, s in model.get_topic(topic)[:5]])


def test_heatmap_compares_the_topic_embeddings(fitted):
    model, _ = fitted
    figure = model.visualize_heatmap(top_n_topics=6)
    shown = largest(model, 6)
    rows = [sorted(model.topic_sizes_).index(t) for t in shown]
    np.testing.assert_allclose(np.asarray(figure.data[0].z), cosine_similarity(model.topic_embeddings_[rows]),
                               atol=1e-6)
    assert list(figure.data[0].x) == [short_label(t, model.get_topic(t)) for t in shown]
    np.testing.assert_allclose(np.asarray(model.visualize_heatmap(topics=shown, use_ctfidf=True).data[0].z),
                               cosine_similarity(model.c_tf_idf_[rows]), atol=1e-6)


def test_hierarchy_is_the_tree_of_hierarchical_topics(fitted):
    model, posts = fitted
    table = model.hierarchical_topics(posts["text"].tolist())
    figure = model.visualize_hierarchy(hierarchical_topics=table)
    linkage = linkage_from_hierarchy(table)
    leaves = sch.dendrogram(linkage, no_plot=True)["leaves"]
    topics = sorted(t for t in model.topic_sizes_ if t != -1)
    assert list(figure.layout.yaxis.ticktext) == [short_label(topics[leaf], model.get_topic(topics[leaf]))
                                                  for leaf in leaves]
    root = table.iloc[0]  # the root joins its two children: their names are the last link's hover
    assert list(figure.data[-3].text) == [root.Child_Left_Name, "", "", root.Child_Right_Name] or \
        list(figure.data[-3].text) == [root.Child_Right_Name, "", "", root.Child_Left_Name]
    # the report draws the same figure from the stored table and words, without the model
    assert stored_hierarchy_figure(table, model.topic_representations_).to_dict() == figure.to_dict()


def test_over_time_and_per_class_frequencies_add_up_to_the_topic_sizes(fitted):
    model, posts = fitted
    texts = posts["text"].tolist()
    over_time = model.topics_over_time(texts, posts["timestamp"].fillna(posts["timestamp"].min()).tolist(), nr_bins=5)
    figure = model.visualize_topics_over_time(over_time, top_n_topics=4)
    shown = largest(model, 4)
    assert [trace.name for trace in figure.data] == [model.topic_labels_[t][:40] for t in shown]
    assert [sum(trace.y) for trace in figure.data] == [model.topic_sizes_[t] for t in shown]
    per_class = model.topics_per_class(texts, posts["label"].tolist())
    bars = model.visualize_topics_per_class(per_class)
    assert [sum(trace.x) for trace in bars.data] == [model.topic_sizes_[t] for t in largest(model, 10)]
    assert set(bars.data[0].y) <= set(posts["label"])


def test_custom_labels_and_aspects_label_every_figure(fitted):
    model, posts = fitted
    record = model.fitted
    alt = {t: [(w.upper(), s) for w, s in words] for t, words in model.topic_representations_.items()}
    with_aspect = Model(min_topic_size=5)
    with_aspect.fitted_state_ = record.replace(description=dataclasses.replace(record.description, aspects={"Alt": alt}))
    with_aspect.set_topic_labels({t: f"{SCRIPT} {t}" for t in largest(model, 3)})
    custom = with_aspect.visualize_barchart(top_n_topics=3, custom_labels=True)
    assert [a.text for a in custom.layout.annotations] == [f"&lt;script&gt;alert(1)&lt;/script&gt; {t}"
                                                           for t in largest(model, 3)]
    assert_no_markup(custom)
    aspect = with_aspect.visualize_heatmap(top_n_topics=3, custom_labels="Alt")
    assert list(aspect.data[0].x) == [short_label(t, alt[t]) for t in largest(model, 3)]
    assert with_aspect.visualize_term_rank(custom_labels="Alt").data[0].hovertext == \
        "-1_" + "_".join(w for w, _ in alt[-1][:3])
    with pytest.raises(ModelArgumentError, match="custom_labels='KeyBERT' is not an aspect of this model"):
        with_aspect.visualize_barchart(custom_labels="KeyBERT")


def test_figures_need_a_fitted_model():
    with pytest.raises(NotFittedError):
        Model().visualize_barchart()
