"""The document- and space-level figures: ``visualize_topics``, ``visualize_documents``,
``visualize_hierarchical_documents``, ``visualize_document_datamap``, ``visualize_distribution`` and
``visualize_approximate_distribution``.

The figure functions in ``topic_pipeline.plots`` are checked on small hand-made inputs whose every trace is
known (no UMAP). The ``DocumentFigures`` methods are checked on one 400-post fit: the topics, sizes, labels,
coordinates and hover texts in each figure are the model's, and where BERTopic 0.17.4's own plotting
function can be run on our model (it only reads BERTopic's attribute names) the figures carry the same data.
Two of the posts are replaced by markup (``<script>``, an ``<img onerror>``): it must appear escaped.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from topic_pipeline.errors import ModelArgumentError, StageInputError
from topic_pipeline.plots import approximate_distribution, datamap, distribution, documents, hierarchical_documents
from topic_pipeline.plots.common import escape_text
from topic_pipeline.plots.topic_map import intertopic_distance_map

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


# --- documents map on hand-made data ----------------------------------------------------------------
@pytest.fixture
def six_documents():
    """Six documents: two outliers (one a script), three in topic 0 (one an img tag), one in topic 1."""
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    topics = np.array([-1, 0, 0, 1, -1, 0])
    texts = [SCRIPT, "apples", IMG, "bikes & <b>cars</b>", "noise", "pears"]
    labels = {-1: "-1_the_a_of", 0: "0_fruit_apple_pear", 1: "1_<b>bike</b>_car_road"}
    return x, y, topics, texts, labels


def test_documents_map_traces_hold_each_topics_documents(six_documents):
    x, y, topics, texts, labels = six_documents
    figure = documents.documents_map(x, y, topics, texts, labels)
    other, fruit, bikes = figure.data
    assert (other.name, other.marker.color, other.showlegend) == ("other", "#CFD8DC", False)
    assert list(other.x) == [0.0, 4.0] and list(other.y) == [5.0, 1.0]  # the outliers, grey
    assert list(other.hovertext) == [escape_text(SCRIPT), "noise"]
    # a topic trace: its documents, then one point at their mean carrying the label as text
    assert fruit.name == "0_fruit_apple_pear"
    assert list(fruit.x) == [1.0, 2.0, 5.0, pytest.approx(8 / 3)]
    assert list(fruit.y) == [4.0, 3.0, 0.0, pytest.approx(7 / 3)]
    assert list(fruit.text) == ["", "", "", "0_fruit_apple_pear"]
    assert list(fruit.hovertext) == ["apples", escape_text(IMG), "pears", None]
    assert bikes.name == "1_&lt;b&gt;bike&lt;/b&gt;_car_road"  # labels are escaped too
    assert list(bikes.hovertext) == ["bikes &amp; &lt;b&gt;cars&lt;/b&gt;", None]
    assert figure.layout.title.text == "<b>Documents and Topics</b>"
    assert [a.text for a in figure.layout.annotations] == ["D1", "D2"]


def test_documents_map_never_carries_raw_markup(six_documents):
    x, y, topics, texts, labels = six_documents
    shown = shown_strings(documents.documents_map(x, y, topics, texts, labels))
    assert not [text for text in shown if "<" in text or ">" in text]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown and '"&gt;&lt;img src=x onerror=alert(1)&gt;' in shown


def shown_strings(figure) -> set[str]:
    """Every hover text, text and trace name of the figure's traces."""
    found = set()
    for trace in figure.data:
        for field in ("hovertext", "text", "name"):
            value = getattr(trace, field, None)
            found.update([value] if isinstance(value, str) else [v for v in (value or ()) if isinstance(v, str)])
    return found


@pytest.mark.parametrize(("option", "why"), [
    ("hide_annotations", "no label point at the mean; every text is empty"),
    ("hide_document_hover", "no hover texts at all: lighter figures for many documents"),
])
def test_documents_map_hide_options(six_documents, option, why):
    x, y, topics, texts, labels = six_documents
    fruit = documents.documents_map(x, y, topics, texts, labels, **{option: True}).data[1]
    if option == "hide_annotations":
        assert list(fruit.x) == [1.0, 2.0, 5.0] and list(fruit.text) == ["", "", ""]
        assert list(fruit.hovertext) == ["apples", escape_text(IMG), "pears"]
    else:
        assert fruit.hovertext is None and list(fruit.text)[-1] == "0_fruit_apple_pear"


def test_documents_map_unselected_topics_join_the_grey_trace(six_documents):
    x, y, topics, texts, labels = six_documents
    figure = documents.documents_map(x, y, topics, texts, labels, selected=[1])
    assert [trace.name for trace in figure.data] == ["other", "1_&lt;b&gt;bike&lt;/b&gt;_car_road"]
    assert list(figure.data[0].x) == [0.0, 1.0, 2.0, 4.0, 5.0]  # outliers and topic 0


def test_sample_keeps_every_small_topic_and_a_share_of_large_ones():
    """BERTopic's rule: a topic under 100 documents keeps all, a larger one int(count * sample)."""
    topics = np.repeat([-1, 0, 1, 2], [150, 320, 99, 100])
    chosen = documents.sample_documents(topics, 0.1, random_state=0)
    kept = pd.Series(topics[chosen]).value_counts().to_dict()
    assert kept == {-1: 15, 0: 32, 1: 99, 2: 10}
    assert np.all(np.diff(chosen) > 0) and len(set(chosen)) == len(chosen)
    assert np.array_equal(chosen, documents.sample_documents(topics, 0.1, random_state=0))
    for keep_all in (None, 1, 1.5):
        assert np.array_equal(documents.sample_documents(topics, keep_all), np.arange(len(topics)))


# --- intertopic distance map ------------------------------------------------------------------------
def test_intertopic_map_bubbles_are_the_topics():
    coordinates = np.array([[0.0, 1.0], [2.0, -1.0], [4.0, 3.0]])
    figure = intertopic_distance_map([0, 1, 2], [30, 20, 10], ["a | b", "<i>c</i>", "d"], coordinates)
    bubbles = figure.data[0]
    assert list(bubbles.x) == [0.0, 2.0, 4.0] and list(bubbles.y) == [1.0, -1.0, 3.0]
    assert [list(row) for row in bubbles.customdata] == [[0, "a | b", 30], [1, "&lt;i&gt;c&lt;/i&gt;", 20], [2, "d", 10]]
    assert list(bubbles.marker.size) == [30, 20, 10] and bubbles.marker.sizemode == "area"
    assert bubbles.marker.sizeref == pytest.approx(30 / 40**2)  # plotly express's size_max=40, as BERTopic
    steps = figure.layout.sliders[0].steps
    assert [s.label for s in steps] == ["Topic 0", "Topic 1", "Topic 2"]
    assert steps[1].args[0]["marker.color"] == [["#B0BEC5", "red", "#B0BEC5"]]
    assert figure.layout.xaxis.range == (0.0, pytest.approx(4.6)) and figure.layout.yaxis.range == (
        pytest.approx(-1.15), pytest.approx(3.45))


def test_reducers_refuse_too_few_rows():
    from topic_pipeline.core.document_map import reduce_to_2d, reduce_topics_to_2d

    with pytest.raises(StageInputError, match="at least 3 topics"):
        reduce_topics_to_2d(np.eye(2), use_ctfidf=False)
    with pytest.raises(StageInputError, match="n_documents >= 3"):
        reduce_to_2d(np.ones((2, 4)))


# --- distribution -----------------------------------------------------------------------------------
def test_distribution_bars_are_the_topics_at_or_above_min_probability():
    words = {0: ["space", "nasa", "orbit", "launch", "moon", "shuttle"], 1: ["gun"], 2: ["god", "<b>"]}
    figure = distribution.distribution_figure(np.array([0.5, 0.01, 0.2]), words, min_probability=0.015)
    bars = figure.data[0]
    assert list(bars.x) == [0.5, 0.2] and bars.orientation == "h"
    # BERTopic's label: bold topic number, five words, cut at 40 characters
    assert list(bars.y) == ["<b>Topic 0</b>: space_nasa_orbit_launch_...", "<b>Topic 2</b>: god_&lt;b&gt;"]
    named = distribution.distribution_figure(np.array([0.5, 0.01, 0.2]), words, names={0: "Space", 2: "<Religion>"})
    assert list(named.data[0].y) == ["Space", "&lt;Religion&gt;"]


@pytest.mark.parametrize(("probabilities", "message"), [
    (np.full((2, 3), 0.3), "one document's probabilities"),  # the whole matrix instead of one row
    (np.array([0.01, 0.012]), "lower min_probability"),
])
def test_distribution_errors(probabilities, message):
    with pytest.raises(ModelArgumentError, match=message):
        distribution.distribution_figure(probabilities, {0: ["a"], 1: ["b"]})


# --- approximate distribution -------------------------------------------------------------------------
def test_approximate_distribution_table_is_bertopics_styled_table():
    tokens = ["the", "space", "<b>", "space"]
    values = np.array([[0.0, 0.0, 0.0], [0.4, 0.0, 0.1], [0.0, 0.0, 0.0], [0.2, 0.0, 0.3]])
    styled = approximate_distribution.approximate_distribution_table(tokens, values, ["0_space", "1_gun", "2_<x>"])
    frame = styled.data
    assert list(frame.columns) == ["the", "space ", "<b>  ", "space   "]  # token + i spaces keeps repeats apart
    assert list(frame.index) == ["0_space", "2_<x>"]  # 1_gun has no weight on any token
    assert frame.loc["2_<x>"].tolist() == [0.0, 0.1, 0.0, 0.3]
    page = styled.to_html()
    assert "&lt;b&gt;" in page and "2_&lt;x&gt;" in page and "<b>" not in page
    assert "0.400" in page
    normalized = approximate_distribution.approximate_distribution_table(tokens, values, ["a", "b", "c"], normalize=True)
    assert normalized.data.to_numpy().sum() == pytest.approx(1.0)
    empty = approximate_distribution.approximate_distribution_table(["x"], np.zeros((1, 2)), ["a", "b"])
    assert isinstance(empty, pd.DataFrame) and empty.empty
    with pytest.raises(ModelArgumentError, match="at least 1 token"):
        approximate_distribution.approximate_distribution_table([], np.zeros((0, 2)), ["a", "b"])


# --- data map -----------------------------------------------------------------------------------------
def test_datamap_names_outliers_and_unselected_topics_unlabelled():
    names = {-1: "the of", 0: "space nasa orbit", 1: "gun law"}
    assert datamap.document_names([0, -1, 1, 0], names, None).tolist() == [
        "space nasa orbit", "Unlabelled", "gun law", "space nasa orbit"]
    assert datamap.document_names([0, -1, 1], names, [1]).tolist() == ["Unlabelled", "Unlabelled", "gun law"]


def test_datamap_hover_is_escaped_only_where_datamapplot_renders_it_as_html():
    """DataMapPlot's default tooltip is a string, which deck.gl shows as text; a user's HTML template is not."""
    assert datamap.interactive_hover([SCRIPT], {}).tolist() == [SCRIPT]
    assert datamap.interactive_hover([SCRIPT], {"hover_text_html_template": "<p>{hover_text}</p>"}).tolist() == [
        escape_text(SCRIPT)]
    assert datamap.interactive_hover(None, {}) is None


@pytest.mark.skipif(importlib.util.find_spec("datamapplot") is not None, reason="datamapplot is installed")
def test_datamap_without_datamapplot_says_how_to_install_it():
    with pytest.raises(ModuleNotFoundError, match=r"pip install datamapplot \(its current releases need pandas < 3"):
        datamap.document_datamap(np.zeros((3, 2)), np.array(["a", "b", "c"]))


# --- hierarchical documents on a hand-made tree ------------------------------------------------------
@pytest.fixture
def three_topic_tree():
    """Topics 0, 1, 2: 0 and 1 merge first (3, distance 0.5), then with 2 (4, distance 0.9); BERTopic's order."""
    return pd.DataFrame({
        "Parent_ID": ["4", "3"], "Parent_Name": ["space_nasa_gun_law", "space_nasa_orbit"],
        "Topics": [[0, 1, 2], [0, 1]], "Child_Left_ID": ["3", "0"], "Child_Left_Name": ["space_nasa_orbit", "a"],
        "Child_Right_ID": ["2", "1"], "Child_Right_Name": ["gun_law", "b"], "Distance": [0.9, 0.5],
    })


def test_levels_follow_the_merge_distances(three_topic_tree):
    assert hierarchical_documents.level_distances([0.9, 0.5], 2, "linear") == [0.5, 0.9]
    assert hierarchical_documents.level_distances([0.9, 0.5], 5, "linear") == [0.5, 0.9]  # no empty levels
    assert hierarchical_documents.topics_at_level([-1, 0, 1, 2], three_topic_tree, 0.5) == {-1: -1, 0: 3, 1: 3, 2: 2}
    assert hierarchical_documents.topics_at_level([-1, 0, 1, 2], three_topic_tree, 0.9) == {-1: -1, 0: 4, 1: 4, 2: 4}
    with pytest.raises(ModelArgumentError, match="level_scale"):
        hierarchical_documents.level_distances([0.9, 0.5], 2, "cubic")


def test_hierarchical_documents_map_draws_one_trace_group_per_level(three_topic_tree):
    x, y = np.arange(5.0), np.arange(5.0)[::-1]
    topics = np.array([-1, 0, 1, 2, 0])
    texts = ["noise", SCRIPT, "b", "c", "d"]
    leaf_labels = {0: "0_space_nasa", 1: "1_orbit_moon", 2: "2_gun_law"}
    figure = hierarchical_documents.hierarchical_documents_map(x, y, topics, texts, three_topic_tree, leaf_labels,
                                                               nr_levels=2, hide_document_hover=False)
    names = [trace.name for trace in figure.data]
    assert names == ["other", "2_gun_law", "3_space_nasa_orbit", "other", "4_space_nasa_gun_law"]
    assert [trace.visible for trace in figure.data] == [None, None, None, False, False]
    steps = figure.layout.sliders[0].steps
    assert [s.args[0]["visible"] for s in steps] == [[True, True, True, False, False], [False, False, False, True, True]]
    merged = figure.data[2]  # level 1: topics 0 and 1 as their parent 3
    assert list(merged.x) == [1.0, 2.0, 4.0, pytest.approx(7 / 3)]
    assert list(merged.text) == ["", "", "", "3_space_nasa"]  # the map text keeps three name parts
    assert list(merged.hovertext) == [escape_text(SCRIPT), "b", "d", None]
    assert list(figure.data[3].x) == [0.0]  # outliers stay grey at every level


# --- the TopicModel methods on one 400-post fit ------------------------------------------------------
N_POSTS = 400


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A model fitted on 400 posts with their precomputed embeddings; posts 0 and 1 are markup.

    HDBSCAN selects leaf clusters: with BERTopic's "eom" these 400 posts make 3 topics and no outliers,
    with "leaf" some 20 topics and outliers, which the figures need.
    """
    from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS
    from hdbscan import HDBSCAN

    from topic_pipeline import TopicModel

    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:N_POSTS].tolist()
    texts[0], texts[1] = SCRIPT, IMG
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:N_POSTS].copy()
    clusterer = HDBSCAN(min_cluster_size=5, cluster_selection_method="leaf", prediction_data=True)
    model = TopicModel(min_topic_size=5, hdbscan_model=clusterer, cache_dir=tmp_path_factory.mktemp("cache"))
    model.fit(texts, embeddings)
    reduced = np.random.RandomState(7).normal(size=(N_POSTS, 2))  # any 2-D map: the figure must show it as given
    return model, texts, reduced


def topic_label(model, topic: int) -> str:
    return "_".join([str(topic), *[w for w, _ in model.get_topic(topic)][:3]])


def test_visualize_documents_shows_the_models_topics_at_the_given_coordinates(fitted):
    model, texts, reduced = fitted
    topics = np.asarray(model.topics_)
    figure = model.visualize_documents(texts, reduced_embeddings=reduced)
    other, *coloured = figure.data
    assert list(other.x) == reduced[topics == -1, 0].tolist()
    assert [trace.name for trace in coloured] == [escape_text(topic_label(model, t))
                                                  for t in sorted(set(topics.tolist()) - {-1})]
    for topic, trace in zip(sorted(set(topics.tolist()) - {-1}), coloured, strict=True):
        rows = np.flatnonzero(topics == topic)
        assert list(trace.x)[:-1] == reduced[rows, 0].tolist() and list(trace.y)[:-1] == reduced[rows, 1].tolist()
        assert list(trace.hovertext)[:-1] == [escape_text(texts[r]) for r in rows]
        assert trace.text[-1] == trace.name and len(trace.x) == model.topic_sizes_[topic] + 1
    assert {escape_text(SCRIPT), escape_text(IMG)} <= shown_strings(figure)
    assert not [text for text in shown_strings(figure) if "<" in text]


def test_visualize_documents_matches_bertopics_function_on_our_model(fitted):
    """BERTopic's plotting function reads only BERTopic's attribute names, so it runs on our model: the same
    traces, names, points and label positions. Differences on purpose: BERTopic draws each topic's points
    in a random order (we keep the corpus order), adds an unlabelled point at the outliers' mean (we do
    not), and shows the documents unescaped."""
    plotting = pytest.importorskip("bertopic.plotting")
    model, texts, reduced = fitted
    ours = model.visualize_documents(texts, reduced_embeddings=reduced)
    theirs = plotting.visualize_documents(model, texts, reduced_embeddings=reduced)
    assert [t.name for t in ours.data] == [t.name for t in theirs.data]
    for mine, their in zip(ours.data, theirs.data, strict=True):
        their_docs = sorted((x, y, escape_text(h)) for x, y, h in zip(their.x, their.y, their.hovertext, strict=True)
                            if isinstance(h, str))  # not the label or "Other documents" points (hover None/NaN)
        assert sorted((x, y, h) for x, y, h in zip(mine.x, mine.y, mine.hovertext, strict=True) if h is not None
                      ) == their_docs
        if mine.name != "other":  # the label point at the topic's mean
            assert (mine.x[-1], mine.y[-1], mine.text[-1]) == (pytest.approx(their.x[-1]), pytest.approx(their.y[-1]),
                                                               their.text[-1])
    for field in ("title", "width", "height", "template"):
        assert ours.layout[field] == theirs.layout[field]
    assert [pytest.approx((l.x0, l.x1, l.y0, l.y1)) for l in ours.layout.shapes] == [
        (l.x0, l.x1, l.y0, l.y1) for l in theirs.layout.shapes]


def test_visualize_documents_sample_and_reused_embeddings(fitted):
    """Without reduced_embeddings the map is UMAP of the embeddings the model was fitted with (this model
    has no embedding model to embed again); ``sample`` keeps BERTopic's per-topic shares."""
    model, texts, _ = fitted
    topics = np.asarray(model.topics_)
    np.random.seed(0)
    figure = model.visualize_documents(texts, sample=0.5, hide_document_hover=True)
    drawn = {trace.name: len(trace.x) - 1 for trace in figure.data[1:]}  # minus the label point
    expected = {t: (n if n < 100 else int(n * 0.5)) for t, n in model.topic_sizes_.items()}
    assert drawn == {escape_text(topic_label(model, t)): expected[t] for t in sorted(expected) if t != -1}
    assert len(figure.data[0].x) == expected[-1] == int((topics == -1).sum() * 0.5)
    assert all(trace.hovertext is None for trace in figure.data)
    assert np.isfinite(np.concatenate([np.asarray(trace.x, dtype=float) for trace in figure.data])).all()


def test_visualize_documents_custom_labels_and_selection(fitted):
    model, texts, reduced = fitted
    ids = sorted(model.topic_sizes_)
    model.set_topic_labels({t: f"<topic {t}>" for t in ids if t != -1})
    try:
        figure = model.visualize_documents(texts, topics=[0, 2], reduced_embeddings=reduced, custom_labels=True)
    finally:
        model.custom_labels_ = None
    assert [trace.name for trace in figure.data] == ["other", "&lt;topic 0&gt;", "&lt;topic 2&gt;"]
    topics = np.asarray(model.topics_)
    assert len(figure.data[0].x) == int((~np.isin(topics, [0, 2])).sum())
    with pytest.raises(ModelArgumentError, match="not an aspect"):
        model.visualize_documents(texts, reduced_embeddings=reduced, custom_labels="KeyBERT")
    with pytest.raises(ModelArgumentError, match="reduced_embeddings must have shape"):
        model.visualize_documents(texts, reduced_embeddings=reduced[:10])


@pytest.mark.parametrize("use_ctfidf", [False, True])
def test_visualize_topics_matches_bertopics_function_on_our_model(fitted, use_ctfidf):
    """Same topics, sizes, words and (the same UMAP with the same seed on the same vectors) positions."""
    plotting = pytest.importorskip("bertopic.plotting")
    model, _, _ = fitted
    ours = model.visualize_topics(use_ctfidf=use_ctfidf)
    theirs = plotting.visualize_topics(model, use_ctfidf=use_ctfidf)
    mine, their = ours.data[0], theirs.data[0]
    ids = sorted(t for t in model.topic_sizes_ if t != -1)
    assert [row[0] for row in mine.customdata] == ids
    assert [row[2] for row in mine.customdata] == [model.topic_sizes_[t] for t in ids] == list(mine.marker.size)
    assert [row[1] for row in mine.customdata] == [" | ".join(w for w, _ in model.get_topic(t)[:5]) for t in ids]
    assert [list(row) for row in mine.customdata] == [list(row) for row in their.customdata]
    np.testing.assert_allclose(mine.x, their.x, rtol=1e-6)
    np.testing.assert_allclose(mine.y, their.y, rtol=1e-6)
    assert (mine.hovertemplate, mine.marker.sizeref, mine.marker.color) == (
        their.hovertemplate, their.marker.sizeref, their.marker.color)
    assert ours.layout.sliders[0].steps == theirs.layout.sliders[0].steps
    assert ours.layout.xaxis.range == pytest.approx(theirs.layout.xaxis.range)


def test_visualize_topics_top_n_topics_are_the_largest(fitted):
    model, _, _ = fitted
    freq = model.get_topic_freq()
    largest = sorted(int(t) for t in freq.loc[freq["Topic"] != -1, "Topic"].iloc[:5])
    figure = model.visualize_topics(top_n_topics=5)
    assert [row[0] for row in figure.data[0].customdata] == largest
    assert [s.label for s in figure.layout.sliders[0].steps] == [f"Topic {t}" for t in largest]


def test_visualize_distribution_matches_bertopics_function_on_our_model(fitted):
    plotting = pytest.importorskip("bertopic.plotting")
    model, texts, _ = fitted
    distributions, _ = model.approximate_distribution(texts[2:4])
    row = distributions[0]
    ours, theirs = model.visualize_distribution(row), plotting.visualize_distribution(model, row)
    assert list(ours.data[0].x) == list(theirs.data[0].x) == [v for v in row.tolist() if v >= 0.015]
    assert list(ours.data[0].y) == list(theirs.data[0].y)
    assert ours.layout.title.text == theirs.layout.title.text
    low = model.visualize_distribution(row, min_probability=0.0001)
    assert len(low.data[0].x) == int((row >= 0.0001).sum())


def test_visualize_approximate_distribution_is_the_token_table(fitted):
    """BERTopic's own function fails on pandas 3 (``Styler.applymap`` is gone), so the table is checked
    against the distribution it shows."""
    model, texts, _ = fitted
    document = texts[5]
    _, token_distributions = model.approximate_distribution([document], calculate_tokens=True)
    styled = model.visualize_approximate_distribution(document, token_distributions[0])
    frame = styled.data
    tokens = model.vectorizer_model.build_tokenizer()(document)
    assert [c.strip() for c in frame.columns] == tokens
    labels = [model.topic_labels_[t] for t in sorted(model.topic_labels_) if t != -1]
    weighted = [label for label, column in zip(labels, token_distributions[0].T, strict=True) if column.sum() != 0]
    assert list(frame.index) == weighted and weighted
    np.testing.assert_allclose(frame.to_numpy(), token_distributions[0].T[token_distributions[0].sum(axis=0) != 0])


def test_visualize_hierarchical_documents_matches_bertopics_function_on_our_model(fitted):
    """Same levels, trace names, visibility, slider and points (but for one BERTopic bug, see below)."""
    plotting = pytest.importorskip("bertopic.plotting")
    model, texts, reduced = fitted
    tree = model.hierarchical_topics(texts)
    ours = model.visualize_hierarchical_documents(texts, tree, reduced_embeddings=reduced, nr_levels=4)
    theirs = plotting.visualize_hierarchical_documents(model, texts, tree, reduced_embeddings=reduced, nr_levels=4)
    assert [(t.name, t.visible) for t in ours.data] == [(t.name, t.visible) for t in theirs.data]
    for mine, their in zip(ours.data, theirs.data, strict=True):
        if mine.name == "other":
            assert sorted(zip(mine.x, mine.y)) == sorted(zip(their.x, their.y))
            continue
        ours_points = set(zip(mine.x[:-1], mine.y[:-1]))
        their_points = {p for p in zip(their.x[:-1], their.y[:-1]) if np.isfinite(p).all()}
        if len(their.x) == len(mine.x):
            assert ours_points == their_points
        else:  # BERTopic adds its label point at row label len(selection); when a document of the trace has
            # that label, it overwrites that document (blanked to NaN, another one moved to the mean)
            assert len(their_points - ours_points) <= 1 and len(ours_points) == len(mine.x) - 1
        assert mine.text[-1] in their.text and [t for t in mine.text[:-1] if t] == []
    assert ours.layout.sliders[0].steps == theirs.layout.sliders[0].steps
    assert len(ours.layout.sliders[0].steps) == 4
    first_level = [t.name for t in ours.data if t.visible is None and t.name != "other"]
    # a topic not merged at the lowest level is shown under its own id and words (which topics those are
    # depends on the fit, and UMAP's floating point on the CPU)
    label = {t: escape_text(f"{t}_" + "_".join(w[:20] for w, _ in model.get_topic(t)[:3]))[:40]
             for t in model.topic_sizes_ if t != -1}
    unmerged = [name for name in first_level if name.split("_")[0].isdigit() and int(name.split("_")[0]) in label]
    assert len(unmerged) >= 3 and all(name == label[int(name.split("_")[0])] for name in unmerged)
    assert not [text for text in shown_strings(ours) if "<" in text]


@pytest.mark.skipif(importlib.util.find_spec("datamapplot") is not None, reason="datamapplot is installed")
def test_visualize_document_datamap_without_datamapplot_fails_at_once(fitted):
    model, texts, _ = fitted
    with pytest.raises(ModuleNotFoundError, match="pip install datamapplot"):
        model.visualize_document_datamap(texts)
