"""Parity with BERTopic 0.17.4 on the 2,000-post slice of 20 Newsgroups (same embeddings, UMAP seed 42).

The fit is the shared ``fitted_slice`` (min topic size 5, some 70 topics), so the tests' fixture stays small
(it used to fit 5,000 posts at the default size: 69 topics); `benchmarks/parity.py` runs the same comparison
on all 18,846 posts.
"""

import pytest

from benchmarks.parity import compare

pytest.importorskip("bertopic")


def test_topics_and_ctfidf_equal_bertopic(fitted_slice):
    _, ours, theirs = fitted_slice
    result = compare(ours, theirs)
    assert result.n_topics == len(set(theirs.topics)) > 50
    assert result.ari == 1.0
    assert result.same_ids_up_to_ties
    assert result.max_ctfidf_difference <= 1e-9
    assert result.max_top_word_weight_difference <= 1e-9
    assert result.top_word_mismatches == []
    assert {w for w, _ in ours.words[0]} == {w for w, _ in theirs.words[0]}
