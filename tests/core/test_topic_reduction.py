"""Merging and reducing topics: per-document ids and merged embeddings equal BERTopic 0.17.4's."""

from __future__ import annotations

import collections
import copy

import numpy as np
import pandas as pd
import pytest

from topic_pipeline.core.topic_ids import renumber_by_frequency
from topic_pipeline.core.topic_reduction import (
    TopicRemap,
    merge_topic_ids,
    merged_topic_embeddings,
    reduce_automatically,
    reduce_to_n_topics,
)
from topic_pipeline.errors import StageInputError


@pytest.fixture(scope="module")
def before(fitted_slice):
    """BERTopic's state before any operation: topics per document, topic embeddings, c-TF-IDF, sizes."""
    _, _, theirs = fitted_slice
    model = theirs.model
    topics = np.asarray(model.topics_)
    ids = np.unique(topics)
    sizes = np.array([model.topic_sizes_[int(t)] for t in ids])
    return topics, np.asarray(model.topic_embeddings_), model.c_tf_idf_.copy(), ids, sizes


def _theirs_after(fitted_slice, method: str, *args, **kwargs):
    """Run a BERTopic post-fit method on a copy (the fitted model is shared by other test files)."""
    texts, _, theirs = fitted_slice
    model = copy.deepcopy(theirs.model)
    getattr(model, method)(texts, *args, **kwargs)
    return model


def _check_remap(remap: TopicRemap, model, before) -> None:
    topics, embeddings, _, ids, sizes = before
    np.testing.assert_array_equal(remap.topics, np.asarray(model.topics_))
    # the mapping reproduces the documents' new ids, and merged_from is its inverse
    np.testing.assert_array_equal(np.vectorize(remap.mapping.get)(topics), remap.topics)
    assert {old for olds in remap.merged_from.values() for old in olds} == set(ids.tolist())
    assert sorted(remap.merged_from) == sorted(set(remap.topics.tolist()))
    np.testing.assert_allclose(
        merged_topic_embeddings(embeddings, ids, sizes, remap), model.topic_embeddings_, rtol=1e-5, atol=1e-7
    )


# The fit's topic count depends on the CPU's UMAP rounding (75 topics + -1 where the suite was written,
# 71 + -1 on another machine): cases near the end take it as ``n``, the number of topics besides -1.
@pytest.mark.parametrize(
    ("nr_topics", "use_ctfidf"),
    [
        (30, False),  # the brief's case: 29 topics + outliers, on topic embeddings
        (lambda n: n, False),  # one step below the current n + 1 (-1 counts): a single merge, the rest renumbered
        (12, True),  # distances on c-TF-IDF rows (BERTopic densifies them; we accept sparse)
    ],
    ids=["30-False", "one-below-False", "12-True"],
)
def test_reduce_to_n_topics_matches_bertopic(fitted_slice, before, nr_topics, use_ctfidf):
    topics, embeddings, c_tf_idf, ids, _ = before
    if callable(nr_topics):
        nr_topics = nr_topics(int((ids != -1).sum()))
    model = _theirs_after(fitted_slice, "reduce_topics", nr_topics=nr_topics, use_ctfidf=use_ctfidf)
    remap = reduce_to_n_topics(topics, c_tf_idf if use_ctfidf else embeddings, nr_topics)
    assert len(set(remap.topics.tolist())) == nr_topics  # nr_topics counts -1, as in BERTopic
    _check_remap(remap, model, before)


def test_reduce_automatically_matches_bertopic(fitted_slice, before):
    topics, embeddings, _, _, _ = before
    model = _theirs_after(fitted_slice, "reduce_topics", nr_topics="auto")
    remap = reduce_automatically(topics, embeddings)
    assert len(set(remap.topics.tolist())) < len(set(topics.tolist()))  # HDBSCAN did merge something
    _check_remap(remap, model, before)


@pytest.mark.parametrize(
    "topics_to_merge",
    [
        [[1, 2], [3, 4, 5]],  # several groups
        [6, 7],  # one flat group
        # groups named out of order, targets not the lowest id; n - 1 is the smallest topic (74 where the
        # suite was written)
        lambda n: [[40, 3], [n - 1, 0, 10]],
    ],
    ids=["groups", "flat", "out-of-order"],
)
def test_merge_topic_ids_matches_bertopic(fitted_slice, before, topics_to_merge):
    topics, ids = before[0], before[3]
    if callable(topics_to_merge):
        topics_to_merge = topics_to_merge(int((ids != -1).sum()))
    model = _theirs_after(fitted_slice, "merge_topics", topics_to_merge)
    _check_remap(merge_topic_ids(topics, topics_to_merge), model, before)


def test_mean_document_embeddings_give_the_same_reduction(fitted_slice, before):
    """Our own topic embeddings (means of document embeddings, float32) reduce like BERTopic's."""
    from conftest import NEWSGROUPS_EMBEDDINGS

    from topic_pipeline.core.topic_ids import topic_embeddings

    topics = before[0]
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[: len(topics)].copy()
    ours = topic_embeddings(embeddings, topics)
    np.testing.assert_allclose(ours, before[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(reduce_to_n_topics(topics, ours, 30).topics, reduce_to_n_topics(topics, before[1], 30).topics)


def test_renumber_by_frequency_breaks_ties_like_pandas():
    """Equal sizes are ordered by pandas' unstable quicksort over the first-appearance counts, as in BERTopic."""
    rng = np.random.default_rng(0)
    topics = rng.integers(-1, 40, size=300)  # 41 ids, many equal sizes
    counts = collections.Counter(topics.tolist())
    frame = pd.DataFrame(counts.items(), columns=["Old_Topic", "Size"]).sort_values("Size", ascending=False)
    frame = frame[frame.Old_Topic != -1]
    expected = {-1: -1, **dict(zip(frame.Old_Topic, range(len(frame)), strict=True))}
    new, mapping = renumber_by_frequency(topics)
    assert mapping == expected
    np.testing.assert_array_equal(new, [expected[t] for t in topics.tolist()])


def test_inputs_are_not_changed(before):
    topics, embeddings, _, _, _ = before
    topics_copy, embeddings_copy = topics.copy(), embeddings.copy()
    reduce_to_n_topics(topics, embeddings, 10)
    merge_topic_ids(topics, [1, 2])
    np.testing.assert_array_equal(topics, topics_copy)
    np.testing.assert_array_equal(embeddings, embeddings_copy)


SMALL = np.array([-1, 0, 0, 0, 1, 1, 2, 2, 3])
SMALL_VECTORS = np.eye(5)  # rows for -1, 0, 1, 2, 3


@pytest.mark.parametrize(
    ("call", "match"),
    [
        # BERTopic silently does nothing when nr_topics >= the current count; we raise (intended difference)
        (lambda: reduce_to_n_topics(SMALL, SMALL_VECTORS, 5), r"between 2 and 4: there are 5 topics including the outlier"),
        (lambda: reduce_to_n_topics(SMALL, SMALL_VECTORS, 9), r"got nr_topics=9"),
        # with outliers, nr_topics=1 would leave no cluster for the other topics
        (lambda: reduce_to_n_topics(SMALL, SMALL_VECTORS, 1), r"between 2 and 4"),
        (lambda: reduce_to_n_topics(SMALL[1:], SMALL_VECTORS[1:], 0), r"between 1 and 3: there are 4 topics;"),
        (lambda: reduce_to_n_topics(SMALL, SMALL_VECTORS, "auto"), r"must be an int .*reduce_automatically"),
        (lambda: reduce_to_n_topics(SMALL, SMALL_VECTORS[1:], 2), r"one row per topic \(5 topics.*got shape \(4, 5\)"),
        (lambda: reduce_automatically(SMALL, SMALL_VECTORS[:4]), r"one row per topic"),
        (lambda: reduce_automatically(np.array([-1, 0, 0]), np.eye(2)), r"at least 2 topics besides -1; got 1"),
        (lambda: reduce_to_n_topics(np.array([[0, 1]]), np.eye(2), 1), r"1-D array of integer topic ids"),
        (lambda: merge_topic_ids(SMALL, [1, 9]), r"names topic\(s\) \[9\] that no document has"),
        (lambda: merge_topic_ids(SMALL, [[0, 1], [2, 7, 8]]), r"\[7, 8\] that no document has"),
        (lambda: merge_topic_ids(SMALL, [2]), r"fewer than 2 distinct topics"),
        (lambda: merge_topic_ids(SMALL, [[0, 1], [2, 2]]), r"fewer than 2 distinct topics; got \[2\]"),
        (lambda: merge_topic_ids(SMALL, []), r"topics_to_merge is empty"),
        (lambda: merge_topic_ids(SMALL, [[0, 1], [1, 2]]), r"Topic 1 appears in two topics_to_merge groups"),
        (lambda: merge_topic_ids(SMALL, [-1, 2]), r"outlier topic -1, which cannot be merged"),
        (lambda: merge_topic_ids(SMALL, [[0, 1], 2]), r"not a mix"),
        (lambda: merge_topic_ids(SMALL, "01"), r"list of topic ids or a list of lists"),
        (lambda: merged_topic_embeddings(np.eye(3), [0, 1, 2], [1, 1, 1], merge_topic_ids(SMALL, [0, 1])), r"no row for topic"),
        (lambda: merged_topic_embeddings(np.eye(5), [-1, 0, 1, 2, 3], [1, 3], merge_topic_ids(SMALL, [0, 1])), r"one row per old topic"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(StageInputError, match=match):
        call()


def test_small_merge_by_hand():
    """Topics 1 and 3 (sizes 2 and 1) merge into the second largest; the weights are the sizes."""
    remap = merge_topic_ids(SMALL, [3, 1])
    assert remap.mapping == {-1: -1, 0: 0, 1: 1, 2: 2, 3: 1}
    assert remap.merged_from == {-1: [-1], 0: [0], 1: [1, 3], 2: [2]}
    np.testing.assert_array_equal(remap.topics, [-1, 0, 0, 0, 1, 1, 2, 2, 1])
    merged = merged_topic_embeddings(SMALL_VECTORS, [-1, 0, 1, 2, 3], [1, 3, 2, 2, 1], remap)
    np.testing.assert_allclose(merged[2], [0, 0, 2 / 3, 0, 1 / 3])


def test_merge_without_renumbering_keeps_the_first_listed_id():
    """BERTopic keeps ids after merging in a zero-shot model (checked by hand on 0.17.4): group -> first listed id."""
    remap = merge_topic_ids(SMALL, [3, 1], renumber=False)
    np.testing.assert_array_equal(remap.topics, [-1, 0, 0, 0, 3, 3, 2, 2, 3])
    assert remap.mapping == {-1: -1, 0: 0, 1: 3, 2: 2, 3: 3}
    assert remap.merged_from == {-1: [-1], 0: [0], 2: [2], 3: [1, 3]}
    merged = merged_topic_embeddings(SMALL_VECTORS, [-1, 0, 1, 2, 3], [1, 3, 2, 2, 1], remap)
    np.testing.assert_allclose(merged[3], [0, 0, 2 / 3, 0, 1 / 3])
