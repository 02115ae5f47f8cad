"""c-TF-IDF, topic words and topic ids against values computed by hand."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from topic_pipeline.core.ctfidf import ctfidf_transform, fit_idf
from topic_pipeline.core.topic_ids import renumber_by_frequency
from topic_pipeline.core.topic_words import top_words, topic_name
from topic_pipeline.core.vectorize import clean_for_bag_of_words, vectorize_topics
from topic_pipeline.params import CtfidfParams, VectorizerParams

COUNTS = sp.csr_matrix(np.array([[2, 1, 0], [0, 1, 3]]))
VOCABULARY = np.array(["apple", "banana", "cherry"])


def test_idf_uses_truncated_mean_words_per_topic():
    # f = [2, 2, 3]; mean words per topic (3 + 4) / 2 = 3.5 -> A = 3.
    idf = fit_idf(COUNTS, VOCABULARY, CtfidfParams())
    assert idf == pytest.approx([math.log(2.5), math.log(2.5), math.log(2.0)], abs=1e-15)


def test_bm25_and_seed_words():
    idf = fit_idf(COUNTS, VOCABULARY, CtfidfParams(bm25_weighting=True))
    assert idf == pytest.approx([math.log(1.6), math.log(1.6), math.log(8 / 7)], abs=1e-15)
    seeded = fit_idf(COUNTS, VOCABULARY, CtfidfParams(seed_words=["cherry"], seed_multiplier=3.0))
    assert seeded == pytest.approx([math.log(2.5), math.log(2.5), 3 * math.log(2.0)], abs=1e-15)


def test_transform_is_l1_tf_times_idf_without_l2():
    idf = fit_idf(COUNTS, VOCABULARY, CtfidfParams())
    weights = ctfidf_transform(COUNTS, idf, reduce_frequent_words=False).toarray()
    expected = [[2 / 3 * math.log(2.5), 1 / 3 * math.log(2.5), 0], [0, 0.25 * math.log(2.5), 0.75 * math.log(2)]]
    assert weights == pytest.approx(np.array(expected), abs=1e-15)
    reduced = ctfidf_transform(COUNTS, idf, reduce_frequent_words=True).toarray()
    assert reduced[1, 2] == pytest.approx(math.sqrt(0.75) * math.log(2), abs=1e-15)


def test_top_words_order_ties_and_padding():
    matrix = sp.csr_matrix(np.array([[0.5, 0.5, 0.9, 0.0], [0.0, 0.0, 0.0, 0.2]]))
    words = top_words(matrix, np.array(["b", "a", "c", "d"]), 3)
    # equal weights come out as BERTopic's calls order them (test_top_words_ties_as_bertopic); here either way
    assert words[0][0] == ("c", 0.9) and sorted(words[0][1:]) == [("a", 0.5), ("b", 0.5)]
    assert words[1] == [("d", 0.2), ("", 1e-05), ("", 1e-05)]
    assert topic_name(7, words[0], 4) == f"7_c_{words[0][1][0]}_{words[0][2][0]}"


def test_top_words_ties_as_bertopic():
    """Many equal weights, in BERTopic's own c-TF-IDF layout: the words are BERTopic's, tie order included.

    Ties used to be broken by column; BERTopic's order comes from np.argpartition and np.argsort on the row as
    stored, which differs between CPUs (numpy's SIMD sorts), so we make those calls on the same layout.
    """
    bertopic = pytest.importorskip("bertopic")
    rng = np.random.default_rng(0)
    dense = rng.integers(0, 3, size=(12, 300)) * (rng.random((12, 300)) < 0.3)
    dense[np.arange(300) % 12, np.arange(300)] += 1  # every term occurs: finite idf
    counts = sp.csr_matrix(dense)
    vocabulary = np.array([f"w{i:03d}" for i in range(300)])
    ours = ctfidf_transform(counts, fit_idf(counts, vocabulary, CtfidfParams()), reduce_frequent_words=False)
    model = bertopic.BERTopic()
    theirs_ctfidf = model.ctfidf_model.fit(counts).transform(counts)
    assert np.array_equal(ours.indices, theirs_ctfidf.indices) and np.array_equal(ours.data, theirs_ctfidf.data)
    documents = pd.DataFrame({"Document": [""] * 12, "Topic": range(12)})
    model.top_n_words = 10
    theirs = model._extract_words_per_topic(vocabulary, documents, theirs_ctfidf, calculate_aspects=False)
    by_column = 0  # topics whose top 10 a column-ordered tie break would give differently: the case this pins
    for topic, words in enumerate(top_words(ours, vocabulary, 30)):
        assert words[:10] == [(w, pytest.approx(s, abs=0)) for w, s in theirs[topic]], topic
        row = ours[topic].tocoo()
        tidy = [vocabulary[c] for c in row.col[np.lexsort((row.col, -row.data))][:10]]
        by_column += tidy != [w for w, _ in words[:10]]
    assert by_column > 0


def test_topics_sorted_by_size_with_outliers_kept():
    """The one size rule (``renumber_by_frequency``; a second one with other tie-breaking was removed:
    its tie order is tested against pandas in test_topic_reduction)."""
    labels = np.array([3, 3, -1, 0, 0, 0, 0, 5, -1, 3, 5])
    topics, mapping = renumber_by_frequency(labels)
    assert mapping == {0: 0, 3: 1, 5: 2, -1: -1}
    assert topics.tolist() == [1, 1, -1, 0, 0, 0, 0, 2, -1, 1, 2]
    topics, mapping = renumber_by_frequency(np.array([1, 0, 0]))
    assert mapping == {0: 0, 1: 1} and topics.tolist() == [1, 0, 0]


def test_bag_of_words_cleaning_and_per_topic_joining():
    assert clean_for_bag_of_words(["Hi,\tthere!\nyou", "", "é"], "english") == ["Hi there you", "emptydoc", "emptydoc"]
    assert clean_for_bag_of_words(["Hi,\tthere"], "none") == ["Hi, there"]
    texts = ["red apple", "green apple", "blue sky", "sky high"]
    bags = vectorize_topics(texts, np.array([1, 1, 0, -1]), VectorizerParams())
    assert bags.topic_ids.tolist() == [-1, 0, 1]
    assert bags.vocabulary.tolist() == ["apple", "blue", "green", "high", "red", "sky"]
    assert bags.topic_term_counts.toarray().tolist() == [[0, 0, 0, 1, 0, 1], [0, 1, 0, 0, 0, 1], [2, 0, 1, 0, 1, 0]]
    assert bags.doc_term_counts.shape == (4, 6)
    # min_df counts topics (joined documents), not documents, as BERTopic does
    assert vectorize_topics(texts, np.array([1, 1, 0, -1]), VectorizerParams(min_df=2)).vocabulary.tolist() == ["sky"]


def test_ties_follow_bertopic_when_numpy_sorts_ties_differently():
    """The tie test again, with numpy's AVX2 and AVX-512 sorts switched off (NPY_DISABLE_CPU_FEATURES).

    Equal values then come out of np.argsort in another order, as they do on another CPU; our words still
    equal BERTopic's, because both make the same calls on the same data.
    """
    pytest.importorskip("bertopic")
    disabled = {**os.environ, "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"}
    probe = "import numpy as np; a = np.tile([2.0, 1.0, 2.0, 1.0], 64); print(np.argsort(a)[:16].tolist())"

    def tie_order(env):
        return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout

    found = np._core._multiarray_umath.__cpu_features__
    if found.get("AVX2") or found.get("AVX512F"):
        assert tie_order(disabled) != tie_order(dict(os.environ)), "switching the SIMD sorts off changed nothing"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             f"{__file__}::test_top_words_ties_as_bertopic"], env=disabled, capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stdout[-2000:]
