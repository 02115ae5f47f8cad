"""c-TF-IDF, topic words and topic ids against values computed by hand."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from topic_pipeline.ctfidf import ctfidf_transform, fit_idf
from topic_pipeline.params import CtfidfParams, VectorizerParams
from topic_pipeline.representation import top_words, topic_name
from topic_pipeline.topics import sort_topics_by_size
from topic_pipeline.vectorize import clean_for_bag_of_words, vectorize_topics

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
    # equal weights are ordered by column, so results do not depend on numpy's sort
    assert words[0] == [("c", 0.9), ("b", 0.5), ("a", 0.5)]
    assert words[1] == [("d", 0.2), ("", 1e-05), ("", 1e-05)]
    assert topic_name(7, words[0], 4) == "7_c_b_a"


def test_topics_sorted_by_size_with_outliers_kept():
    labels = np.array([3, 3, -1, 0, 0, 0, 5, -1, 3, 5, 5])
    topics, mapping = sort_topics_by_size(labels)
    # sizes: 0 -> 3 docs (seen first at 3), 3 -> 3 docs (seen first at 0), 5 -> 3 docs; ties by first appearance
    assert mapping == {3: 0, 0: 1, 5: 2, -1: -1}
    assert topics.tolist() == [0, 0, -1, 1, 1, 1, 2, -1, 0, 2, 2]
    topics, mapping = sort_topics_by_size(np.array([1, 0, 0]))
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
