"""Topic hierarchy: known small cases and parity with BERTopic's hierarchical_topics."""

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks.parity import topic_id_mapping
from topic_pipeline.core.ctfidf import ctfidf_transform
from topic_pipeline.core.hierarchy import build_hierarchy, spread_tied_heights, topic_tree
from topic_pipeline.pipeline.stage_outputs import CtfidfOutput, HierarchyOutput, VectorizedBagsOutput


def test_tied_heights_are_spread_deterministically():
    spread = spread_tied_heights(np.array([0.1, 0.2, 0.2, 0.2, 0.5]))
    assert np.all(np.diff(spread) > 0) and spread[1] == 0.2 and np.all(np.diff(spread)[1:3] <= 1e-7)
    assert spread_tied_heights(np.array([0.1, 0.2, 0.2, 0.2, 0.5])).tolist() == spread.tolist()


def test_small_hierarchy_merges_similar_topics_first():
    vocabulary = np.array(["ball", "game", "goal", "vote", "law"])
    counts = sp.csr_matrix(np.array([[5, 4, 1, 0, 0], [4, 5, 2, 0, 0], [0, 0, 0, 5, 4], [3, 0, 0, 0, 0]]))
    idf = np.ones(5)
    weights = sp.csr_matrix(counts / counts.sum(1))
    tree = build_hierarchy(np.array([-1, 0, 1, 2]), sp.vstack([counts[3], counts[:3]]).tocsr(),
                           sp.vstack([weights[3], weights[:3]]).tocsr(), idf, vocabulary, reduce_frequent_words=False)
    assert tree["parent_id"].tolist() == [4, 3]
    first = tree.iloc[1]
    assert sorted([first["left_child_id"], first["right_child_id"]]) == [0, 1] and list(first["topic_ids"]) == [0, 1]
    # summed counts 9, 9, 3, then padding; ball and game tie, in the order BERTopic's numpy calls give them
    # (it was by column before; test_ctfidf_and_words pins the tie order against BERTopic)
    name = first["parent_name"].split("_")
    assert sorted(name[:2]) == ["ball", "game"] and name[2:] == ["goal", "", ""]
    assert list(tree.iloc[0]["topic_ids"]) == [0, 1, 2]
    text = topic_tree(tree)
    assert text.splitlines()[0].startswith("■ ") and "── Topic: 2" in text


def test_hierarchy_equals_bertopic(fitted_slice):
    texts, ours, theirs = fitted_slice
    to_theirs = topic_id_mapping(ours, theirs)
    reference = theirs.model.hierarchical_topics(texts)
    tree = HierarchyOutput(ours.model.current_dir("topic_hierarchy")).read()
    assert len(tree) == len(reference) == len(set(theirs.topics) - {-1}) - 1

    store = ours.model
    bags = VectorizedBagsOutput(store.current_dir("vectorized_bags"))
    counts, idf = bags.topic_term_counts(), CtfidfOutput(store.current_dir("ctfidf")).idf()
    vocabulary = bags.vocabulary().tolist()
    row_of = {int(t): i for i, t in enumerate(bags.topic_ids())}

    ours_by_members = {frozenset(to_theirs[t] for t in row.topic_ids): row for row in tree.itertuples()}
    for row in reference.itertuples():
        mine = ours_by_members[frozenset(row.Topics)]  # the same merge exists
        assert mine.distance == pytest.approx(row.Distance, abs=2e-7)  # BERTopic jitters ties by up to 1e-7
        if mine.parent_name != row.Parent_Name:
            # same words up to the order of equal weights: compare weights position by position
            merged = sp.csr_matrix(counts[[row_of[t] for t in mine.topic_ids]].sum(axis=0))
            weight = dict(zip(vocabulary, ctfidf_transform(merged, idf, reduce_frequent_words=False).toarray()[0]))
            ranks = [[weight.get(w, 0.0) for w in name.split("_")] for name in (mine.parent_name, row.Parent_Name)]
            assert ranks[0] == pytest.approx(ranks[1], abs=1e-12), (mine.parent_name, row.Parent_Name)
