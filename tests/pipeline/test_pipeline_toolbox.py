"""BERTopic's post-fit toolbox as pipeline params: topics.nr_topics, topics.outliers, representation.aspects.

Each is a parameter of its asset, cached like any other: changing it recomputes
`topic_assignments` (or `topic_representations`) and what lies below, never UMAP
or HDBSCAN. Results are compared with BERTopic 0.17.4 doing the same after its fit.
"""

import copy
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS

from benchmarks.parity import fit_ours
from topic_pipeline.pipeline.warehouse import query


def _runs(root, run_id="parity"):
    records = [json.loads(p.read_text()) for p in sorted((root / "_stage_runs").glob("*.json"))]
    return {r["stage"]: r["computed"] for r in records if r["run_id"] == run_id}


@pytest.fixture(scope="module")
def reduced_store(fitted_slice, tmp_path_factory):
    """A copy of the fitted 2,000-post store, refit with nr_topics=30 and c-TF-IDF outlier reassignment."""
    _, ours, _ = fitted_slice
    root = tmp_path_factory.mktemp("toolbox") / "store"
    shutil.copytree(ours.model.root, root)
    for path in (root / "_stage_runs").glob("*.json"):
        path.unlink()
    reduced = fit_ours(NEWSGROUPS_EMBEDDINGS, 2000, root, corpus_path=NEWSGROUPS, clustering={"min_cluster_size": 5},
                       topics={"nr_topics": 30})
    runs_reduced = _runs(root)
    for path in (root / "_stage_runs").glob("*.json"):
        path.unlink()
    reassigned = fit_ours(NEWSGROUPS_EMBEDDINGS, 2000, root, corpus_path=NEWSGROUPS, clustering={"min_cluster_size": 5},
                          topics={"nr_topics": 30, "outliers": {"strategy": "c-tf-idf", "threshold": 0.1}})
    return reduced, runs_reduced, reassigned, _runs(root)


def test_nr_topics_param_matches_bertopic_reduce_topics(fitted_slice, reduced_store):
    texts, _, theirs = fitted_slice
    reduced, runs, _, _ = reduced_store
    reference = copy.deepcopy(theirs.model).reduce_topics(texts, nr_topics=30)
    # same documents in the same topics with the same ids (30 rows: 29 topics and -1)
    assert np.array_equal(reduced.topics, np.asarray(reference.topics_))
    assert len(set(reduced.topics.tolist())) == 30
    for topic in (0, 1, 5):
        ours_words = [w for w, _ in reduced.words[topic]]
        theirs_weights = dict(reference.get_topic(topic))
        assert [round(w, 12) for _, w in reduced.words[topic]] == \
            [round(theirs_weights.get(word, -1), 12) for word in ours_words]
    # only the topic stages and below ran again; UMAP and HDBSCAN were reused
    assert runs["reduced_embeddings"] is False and runs["clusters"] is False
    assert runs["topic_assignments"] is True and runs["ctfidf"] is True


def test_outliers_param_matches_bertopic_reduce_outliers(fitted_slice, reduced_store):
    texts, _, theirs = fitted_slice
    reduced, _, reassigned, runs = reduced_store
    reference = copy.deepcopy(theirs.model).reduce_topics(texts, nr_topics=30)
    expected = reference.reduce_outliers(texts, reference.topics_, strategy="c-tf-idf", threshold=0.1)
    assert np.array_equal(reassigned.topics, np.asarray(expected))
    moved = (reduced.topics == -1) & (reassigned.topics != -1)
    assert 0 < moved.sum() < (reduced.topics == -1).sum()  # the threshold keeps some outliers
    assert np.array_equal(reassigned.topics[reduced.topics != -1], reduced.topics[reduced.topics != -1])
    assert runs["clusters"] is False and runs["topic_assignments"] is True


def test_aspects_param_lands_in_duckdb(tmp_path):
    """An MMR aspect beside the main words: rows in topic_terms with aspect 'MMR', words from the main candidates."""
    root = tmp_path / "store"
    fitted = fit_ours(NEWSGROUPS_EMBEDDINGS, 800, root, corpus_path=NEWSGROUPS, clustering={"min_cluster_size": 40},
                      representation={"aspects": {"MMR": {"type": "MaximalMarginalRelevance", "diversity": 0.3,
                                                          "top_n_words": 5}}})
    terms = query(fitted.model, "SELECT topic_id, aspect, rank, term, weight FROM topic_terms "
                                "ORDER BY aspect, topic_id, rank")
    assert set(terms["aspect"]) == {"Main", "MMR"}
    mmr = terms[terms["aspect"] == "MMR"]
    assert mmr.groupby("topic_id").size().eq(5).all()
    assert set(mmr["topic_id"]) == set(fitted.topics.tolist())
    main = terms[terms["aspect"] == "Main"]
    for topic, group in mmr.groupby("topic_id"):
        # MMR re-ranks the top 30 c-TF-IDF candidates and keeps each chosen word's c-TF-IDF weight
        words = group.loc[group["term"] != "", "term"]  # padded with ("", 1e-05) like BERTopic's top words
        assert group["rank"].tolist() == list(range(5)) and words.is_unique and len(words) >= 1
        main_rows = main.loc[main["topic_id"] == topic]
        weights = dict(zip(main_rows["term"], main_rows["weight"], strict=True))
        shared = [row for _, row in group.iterrows() if row["term"] in weights]
        assert shared and all(row["weight"] == pytest.approx(weights[row["term"]]) for row in shared)
        assert group["weight"].max() <= main_rows["weight"].max() + 1e-12
        if len(words) == 5:  # diversity 0.3 changes the list
            assert group["term"].tolist() != main_rows["term"].head(5).tolist()
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:800]
    assert len(texts) == len(fitted.topics)
