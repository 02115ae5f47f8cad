"""Topic quality: NPMI equal to gensim's c_npmi (corpus slice and edge cases), hand-computed figures, the table."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS
from sklearn.feature_extraction.text import CountVectorizer

from topic_pipeline.core.quality import (
    EPSILON,
    co_occurrences,
    corpus_tokens,
    topic_npmi,
    topic_quality,
    window_runs,
)
from topic_pipeline.core.vectorize import clean_for_bag_of_words
from topic_pipeline.errors import ParamsError


def gensim_npmi(tokens: list[list[str]], topics: list[list[str]], window_size: int = 10) -> np.ndarray:
    """gensim 4.4's c_npmi per topic, called as BERTopic's evaluation calls it.

    One process: the parallel accumulator counts the same windows (its workers sum the same per-window
    counts); one process keeps the test light on a shared machine.
    """
    gensim = pytest.importorskip("gensim")
    from gensim.models.coherencemodel import CoherenceModel

    model = CoherenceModel(topics=topics, texts=tokens, dictionary=gensim.corpora.Dictionary(tokens),
                           coherence="c_npmi", topn=10, window_size=window_size, processes=1)
    with warnings.catch_warnings():  # gensim's "mean of empty slice" for a topic with one usable word
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.array(model.get_coherence_per_topic(), dtype=np.float64)


def label_topics(texts: list[str], labels: list[str], vectorizer: CountVectorizer, n_words: int = 10
                 ) -> list[list[str]]:
    """The most counted words of each newsgroup's posts: real, deterministic topics without a fit."""
    counts = vectorizer.fit_transform(clean_for_bag_of_words(texts, "english")).tocsr()
    vocabulary = vectorizer.get_feature_names_out()
    codes = pd.Series(labels).astype("category").cat.codes.to_numpy()
    topics = []
    for label in np.unique(codes):
        totals = np.asarray(counts[codes == label].sum(axis=0)).ravel()
        topics.append([str(vocabulary[i]) for i in np.argsort(-totals, kind="stable")[:n_words]])
    return topics


@pytest.mark.parametrize(("limit", "vectorizer"), [
    # BERTopic's default vectorizer: stop-word topics, so words repeat inside most windows (gensim's flag rule)
    (2000, {}),
    # the shipped params' kind of vectorizer: stop words removed and bigrams, which are tokens after the unigrams
    (500, {"stop_words": "english", "ngram_range": (1, 2)}),
])
def test_npmi_equals_gensim_c_npmi_on_newsgroups(limit, vectorizer):
    posts = pd.read_parquet(NEWSGROUPS, columns=["text", "label"]).iloc[:limit]
    texts = posts["text"].tolist()
    topics = label_topics(texts, posts["label"].tolist(), CountVectorizer(**vectorizer))
    topics[0] = topics[0][:9] + ["notawordinthecorpus"]  # a word gensim's dictionary lacks is left out
    tokens = list(corpus_tokens(texts, CountVectorizer(**vectorizer), "english"))
    theirs = gensim_npmi(tokens, topics)
    ours = topic_npmi(tokens, topics)
    assert len(ours) == 20 and not np.isnan(ours).any()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    table = topic_quality(dict(enumerate(topics)), iter(tokens), np.zeros(limit, dtype=int))
    corpus = table[(table["metric"] == "npmi") & table["topic_id"].isna()]["value"].item()
    assert corpus == pytest.approx(float(np.mean(theirs)), abs=1e-6)  # gensim's get_coherence: mean over topics
    # unknown words are left out before the first 10 are taken: an unknown third word of 12 keeps 10 known
    # words (alone: gensim's value for one topic also moves with the other topics' words, ours does not)
    longer = label_topics(texts, posts["label"].tolist(), CountVectorizer(**vectorizer), 11)[1]
    longer = longer[:2] + ["notawordeither"] + longer[2:]
    np.testing.assert_allclose(topic_npmi(tokens, [longer]), gensim_npmi(tokens, [longer]), rtol=0, atol=1e-6)
    assert topic_npmi(tokens, [longer]) != pytest.approx(topic_npmi(tokens, [longer[:10]]))


# Each case: tokens, topics, window size, why
EDGE_CASES = [
    pytest.param([["a", "b"], ["b", "c", "d"], ["a"]], [["a", "b", "c"]], 10,
                 id="documents shorter than the window are one window each"),
    pytest.param([[], ["a", "b"], [], ["c"], []], [["a", "b", "c"]], 2,
                 id="empty documents are windows too"),
    pytest.param([["a", "a", "b", "a", "c", "a", "b", "b", "a"]], [["a", "b", "c"]], 3,
                 id="a word repeated in a window is gone once its first copy leaves, as in gensim"),
    pytest.param([["a", "x", "x", "x", "b"], ["b", "y", "y", "c"]], [["a", "b", "c"]], 2,
                 id="words that never share a window"),
    pytest.param([["a", "b", "c"], ["c", "d"]], [["a", "zzz", "c"], ["d", "zzz"]], 2,
                 id="a word absent from the corpus is left out; one word left gives NaN"),
    pytest.param([["q", "a", "b", "q", "q", "a"]] * 3 + [["b"] * 12], [["a", "b", "q"], ["q", "b"]], 4,
                 id="irrelevant and relevant tokens keep their positions across several documents"),
]


@pytest.mark.parametrize(("tokens", "topics", "window_size"), EDGE_CASES)
def test_edge_cases_equal_gensim(tokens, topics, window_size):
    theirs = gensim_npmi(tokens, topics, window_size)
    ours = topic_npmi(tokens, topics, window_size=window_size)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)], rtol=0, atol=1e-12)


def hand_npmi(together: float, first: float, second: float) -> float:
    return math.log((together + EPSILON) / (first * second)) / -math.log(together + EPSILON)


def test_window_counts_and_npmi_by_hand():
    # window 2 over [a a b]: windows [a a] and [a b]; gensim clears "a" when the first copy leaves, so "a" is
    # seen in one window only and never with "b"
    runs = window_runs([["a", "a", "b"]], ["a", "b"], window_size=2)
    assert runs.n_windows == 2 and runs.occurrences().tolist() == [1, 1]
    assert co_occurrences(runs, np.array([[0, 1], [0, 0]])).tolist() == [0, 1]
    assert topic_npmi([["a", "a", "b"]], [["a", "b"]], window_size=2)[0] == pytest.approx(hand_npmi(0, 0.5, 0.5))
    # three short documents are three windows: P(a) = 2/3, P(b) = 1/3, P(a, b) = 1/3
    value = topic_npmi([["a", "b"], ["a"], ["c"]], [["a", "b"]])[0]
    assert value == pytest.approx(math.log(1.5) / math.log(3)) == pytest.approx(hand_npmi(1 / 3, 2 / 3, 1 / 3))
    # a document of 12 tokens has 3 windows of 10; "b" at positions 0 and 11 is in windows 0 and 2 only
    runs = window_runs([["b"] + ["x"] * 10 + ["b"]], ["b"])
    assert runs.n_windows == 3 and runs.occurrences().tolist() == [2]
    # only the first top_n words count
    assert topic_npmi([["a", "b", "c"]], [["a", "b", "c"]], top_n=2)[0] == pytest.approx(hand_npmi(1, 1, 1))


def test_quality_table_by_hand():
    tokens = [["a", "b"], ["a", "c"], ["b", "d"], ["d"], ["a", "b"]]
    # topic 1 as get_topics() gives it: (word, weight) pairs, padded with ("", 1e-05) as BERTopic pads
    words = {-1: ["a", "d"], 1: [("b", 0.5), ("c", 0.3), ("d", 0.2), ("", 1e-05)], 0: ["a", "b", "c"], 2: ["d"]}
    table = topic_quality(words, tokens, [-1, 0, 0, 1, -1], top_n=10)
    assert list(table.columns) == ["metric", "topic_id", "value"] and str(table["topic_id"].dtype) == "Int64"
    per_topic = table[table["topic_id"].notna()]
    assert per_topic["metric"].eq("npmi").all() and per_topic["topic_id"].tolist() == [0, 1, 2]  # no -1
    five = 1 / 5
    a_b_c = np.mean([hand_npmi(2 * five, 3 * five, 3 * five), hand_npmi(five, 3 * five, five),
                     hand_npmi(0, 3 * five, five)])
    b_c_d = np.mean([hand_npmi(0, 3 * five, five), hand_npmi(five, 3 * five, 2 * five), hand_npmi(0, five, 2 * five)])
    values = per_topic["value"].to_numpy()
    np.testing.assert_allclose(values[:2], [a_b_c, b_c_d], rtol=0, atol=1e-12)
    assert np.isnan(values[2])  # one word: no pair
    corpus = table[table["topic_id"].isna()].set_index("metric")["value"]
    assert corpus.index.tolist() == ["npmi", "diversity", "outlier_share", "topics"]
    assert corpus["npmi"] == pytest.approx((a_b_c + b_c_d) / 2)  # topics without a value are left out
    assert corpus["diversity"] == pytest.approx(4 / 30)  # a b c d among 3 topics x 10 words; "" is padding
    assert corpus["outlier_share"] == pytest.approx(2 / 5)
    assert corpus["topics"] == 3


def test_no_topics_and_no_documents_give_nan_not_an_error():
    table = topic_quality({-1: ["a"]}, [], []).set_index("metric")["value"]
    assert np.isnan(table["npmi"]) and np.isnan(table["diversity"]) and np.isnan(table["outlier_share"])
    assert table["topics"] == 0


def test_corpus_tokens_clean_then_analyze_like_bertopic():
    texts = ["Hello, World!\nThe world's end", "", "\t"]
    assert list(corpus_tokens(texts, CountVectorizer(), "english")) == [
        ["hello", "world", "the", "worlds", "end"], ["emptydoc"], []]
    bigrams = CountVectorizer(stop_words="english", ngram_range=(1, 2))
    assert next(corpus_tokens(texts, bigrams, "english")) == ["hello", "world", "worlds", "end", "hello world",
                                                     "world worlds", "worlds end"]
    # language "none" keeps every character, as BERTopic does for other languages
    assert next(corpus_tokens(["Ça va, très bien"], CountVectorizer(), "none")) == ["ça", "va", "très", "bien"]


@pytest.mark.parametrize("setting", ["top_n", "window_size"])
def test_a_setting_below_one_is_refused(setting):
    with pytest.raises(ParamsError, match=f"{setting} must be at least 1, got 0"):
        topic_quality({0: ["a", "b"]}, [["a", "b"]], [0], **{setting: 0})
