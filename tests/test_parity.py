"""Parity with BERTopic 0.17.4 on a 5,000-post slice of 20 Newsgroups (same embeddings, UMAP seed 42).

`benchmarks/parity.py` runs the same comparison on all 18,846 posts.
"""

import numpy as np
import pandas as pd
import pytest

from benchmarks.parity import CORPUS, EMBEDDINGS, compare, fit_bertopic, fit_ours

pytest.importorskip("bertopic")
LIMIT = 5000  # 69 topics with the default min_cluster_size (3,000 posts give only 4)


def test_topics_and_ctfidf_equal_bertopic(tmp_path):
    texts = pd.read_parquet(CORPUS, columns=["text"])["text"].iloc[:LIMIT].tolist()
    theirs = fit_bertopic(texts, np.load(EMBEDDINGS, mmap_mode="r")[:LIMIT].copy())
    ours = fit_ours(EMBEDDINGS, LIMIT, tmp_path)
    result = compare(ours, theirs)
    assert result.n_topics == len(set(theirs.topics))
    assert result.ari == 1.0
    assert result.same_ids_up_to_ties
    assert result.max_ctfidf_difference <= 1e-9
    assert result.max_top_word_weight_difference <= 1e-9
    assert result.top_word_mismatches == []
    assert {w for w, _ in ours.words[0]} == {w for w, _ in theirs.words[0]}
