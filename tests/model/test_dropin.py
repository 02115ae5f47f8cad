"""Drop-in points BERTopic users rely on, each compared with BERTopic 0.17.4 on the same inputs.

scikit-learn's estimator contract (``clone``, ``get_params``), BERTopic's default sub-models and the fitted
ones after a fit (also a cache-hit fit), the embedding-model fallback, online ``partial_fit``, the topic
mapper, ``delete_topics``, ``hierarchical_topics`` with custom functions, saving an unfitted model.
"""

import copy
import inspect
import logging
import re

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS
from scipy.cluster import hierarchy as sch
from scipy.spatial.distance import pdist
from sklearn.base import clone
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA, IncrementalPCA
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from benchmarks.parity import topic_id_mapping
from topic_pipeline import OnlineCountVectorizer, TopicModel

bertopic = pytest.importorskip("bertopic")


def posts(n: int) -> tuple[list[str], np.ndarray]:
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:n].tolist()
    return texts, np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:n].copy()


@pytest.fixture(scope="module")
def dropin_model(fitted_slice, tmp_path_factory):
    texts, _, _ = fitted_slice
    _, embeddings = posts(len(texts))
    cache = tmp_path_factory.mktemp("dropin")
    return TopicModel(min_topic_size=5, cache_dir=cache).fit(texts, embeddings), embeddings, cache


def test_clone_get_params_set_params_and_repr():
    model = TopicModel(min_topic_size=5)
    assert set(model.get_params(deep=False)) == set(inspect.signature(TopicModel).parameters)
    copied = clone(model)
    assert copied is not model and copied.min_topic_size == 5 and not hasattr(copied, "topics_")
    for name, value in model.get_params(deep=False).items():
        other = copied.get_params(deep=False)[name]
        assert repr(other) == repr(value), name  # sub-models are unfitted copies with the same settings
    assert "min_topic_size=5" in repr(model)
    assert model.set_params(nr_topics=3, umap_model__n_neighbors=10) is model
    assert model.nr_topics == 3 and model.umap_model.n_neighbors == 10
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(no_such_argument=1)


def test_default_submodels_are_bertopics():
    ours, theirs = TopicModel(min_topic_size=7, low_memory=True, n_gram_range=(1, 2)), bertopic.BERTopic(
        min_topic_size=7, low_memory=True, n_gram_range=(1, 2))
    for name in ("umap_model", "hdbscan_model", "vectorizer_model"):
        mine, reference = getattr(ours, name), getattr(theirs, name)
        assert type(mine) is type(reference), name
        assert repr(mine.get_params()) == repr(reference.get_params()), name
    reference = theirs.ctfidf_model
    assert (ours.ctfidf_model.bm25_weighting, ours.ctfidf_model.reduce_frequent_words) == (
        reference.bm25_weighting, reference.reduce_frequent_words)
    ours.umap_model.random_state = 42  # BERTopic code that tunes the default instance works here too
    assert ours.umap_model.random_state == 42


def test_fitted_submodels_after_a_fit_and_after_a_cache_hit(fitted_slice, dropin_model):
    texts, _, theirs = fitted_slice
    model, embeddings, cache = dropin_model
    reference = theirs.model
    assert np.array_equal(model.hdbscan_model.labels_, reference.hdbscan_model.labels_)
    assert np.allclose(model.umap_model.embedding_, reference.umap_model.embedding_, atol=1e-4)
    assert list(model.vectorizer_model.get_feature_names_out()) == list(reference.vectorizer_model.get_feature_names_out())
    again = TopicModel(min_topic_size=5, cache_dir=cache).fit(texts, embeddings)
    runs = pd.concat(pd.read_json(p, typ="series").to_frame().T for p in sorted(again.store_.runs_dir.glob("*.json")))
    assert not runs.tail(8)["computed"].astype(bool).any()  # every stage reused
    assert np.array_equal(again.hdbscan_model.labels_, model.hdbscan_model.labels_)
    assert np.array_equal(again.umap_model.embedding_, model.umap_model.embedding_)


def test_topic_mapper_lists_only_topics_that_exist(fitted_slice, dropin_model):
    texts, ours, theirs = fitted_slice
    model = dropin_model[0]
    to_theirs = topic_id_mapping(ours, theirs)
    mine = [[c, c, to_theirs[t]] for c, _, t in model.topic_mapper_.mappings_]
    assert mine == [list(row) for row in theirs.model.topic_mapper_.mappings_]

    texts, embeddings = posts(400)  # KMeans: no outliers, so no -1 row (it changed get_topic_freq before)
    mine = TopicModel(umap_model=PCA(5, random_state=0), hdbscan_model=KMeans(6, random_state=0, n_init=3))
    reference = bertopic.BERTopic(umap_model=PCA(5, random_state=0), hdbscan_model=KMeans(6, random_state=0, n_init=3))
    mine.fit(texts, embeddings)
    reference.fit(texts, embeddings)
    assert mine.topic_mapper_.mappings_ == [list(row) for row in reference.topic_mapper_.mappings_]
    assert -1 not in mine.get_topic_freq()["Topic"].tolist()
    assert mine.get_topic_freq().to_dict("list") == reference.get_topic_freq().to_dict("list")


def test_unusable_embedding_model_falls_back_with_a_warning(caplog):
    texts, embeddings = posts(300)
    estimators = dict(umap_model=PCA(5, random_state=0), hdbscan_model=KMeans(5, random_state=0, n_init=3))
    model = TopicModel(embedding_model=object(), **estimators)
    with caplog.at_level(logging.WARNING, logger="topic_pipeline"):
        topics, _ = model.fit_transform(texts, embeddings)
    assert "has no encode method" in caplog.text and model.params_.embedding.model == "all-MiniLM-L6-v2"
    # BERTopic(embedding_model=object()) fits too: its language becomes None (no English cleaning) and it loads
    # all-MiniLM-L6-v2 from the Hub, which is not reachable here; an embedder it keeps as is gives the same fit
    from bertopic.backend import BaseEmbedder

    reference = bertopic.BERTopic(embedding_model=BaseEmbedder(), **copy.deepcopy(estimators))
    assert topics == reference.fit_transform(texts, embeddings)[0]
    mine, theirs = model.get_topic(0), reference.get_topic(0)
    assert [w for w, _ in mine] == [w for w, _ in theirs]
    assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], abs=1e-12)


@pytest.mark.parametrize("vectorizer", ["ours", "bertopic"])
def test_online_partial_fit_matches_bertopic(vectorizer):
    """10 batches of 50 posts: IncrementalPCA + MiniBatchKMeans + OnlineCountVectorizer(decay).

    Topics and sizes equal BERTopic's batch after batch. Words equal BERTopic's after the first batch only:
    BERTopic's c-TF-IDF normalises its online bag of words in place (``normalize(X, copy=False)`` on the
    vectorizer's ``X_``), so from the second batch on it adds raw counts to rows that sum to 1; we keep the
    decayed counts that OnlineCountVectorizer documents (checked against a sum computed here).
    """
    from bertopic.vectorizers import OnlineCountVectorizer as TheirOnlineCountVectorizer

    texts, embeddings = posts(500)
    # BERTopic's partial_fit fails on float32 embeddings with these models (MiniBatchKMeans keeps float32 centres,
    # IncrementalPCA's later transforms are float64); float64 copies of the float32 values run the same in both
    embeddings = embeddings.astype(np.float64)
    counting = OnlineCountVectorizer if vectorizer == "ours" else TheirOnlineCountVectorizer
    mine = TopicModel(umap_model=IncrementalPCA(n_components=5),
                      hdbscan_model=MiniBatchKMeans(n_clusters=6, random_state=0, n_init=3),
                      vectorizer_model=counting(stop_words="english", decay=0.01))
    reference = bertopic.BERTopic(umap_model=IncrementalPCA(n_components=5),
                                  hdbscan_model=MiniBatchKMeans(n_clusters=6, random_state=0, n_init=3),
                                  vectorizer_model=TheirOnlineCountVectorizer(stop_words="english", decay=0.01))
    batches = []
    for start in range(0, 500, 50):
        batch = slice(start, start + 50)
        mine.partial_fit(texts[batch], embeddings[batch])
        reference.partial_fit(texts[batch], embeddings[batch])
        assert mine.topics_ == list(reference.topics_), start
        if start == 0:
            for topic in mine.topic_sizes_:
                assert mine.get_topic(topic) == [(w, pytest.approx(s, rel=1e-12)) for w, s in reference.get_topic(topic)]
        batches.append((texts[batch], list(mine.topics_)))
    assert mine.topic_sizes_ == dict(reference.topic_sizes_)
    # the decayed counts: sum over batches of 0.99^(batches since) x the batch's counts per topic, each batch's
    # documents of a topic joined and cleaned as BERTopic does, counted by scikit-learn over our vocabulary
    description = mine.fitted.description
    counting = CountVectorizer(stop_words="english", vocabulary=list(description.vocabulary))
    expected = np.zeros(description.bags.topic_term_counts.shape)
    for age, (batch_texts, batch_topics) in enumerate(reversed(batches)):
        for row, topic in enumerate(description.topic_ids):
            joined = " ".join(text for text, t in zip(batch_texts, batch_topics, strict=True) if t == topic)
            cleaned = re.sub(r"[^A-Za-z0-9 ]+", "", joined.replace("\n", " ").replace("\t", " "))
            expected[row] += 0.99 ** age * counting.transform([cleaned]).toarray().ravel()
    assert description.bags.topic_term_counts.toarray() == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_partial_fit_with_a_batch_reducer_uses_assign_mode():
    """PCA has no partial_fit, so batches are placed by the fitted PCA + MiniBatchKMeans (no KeyError)."""
    texts, embeddings = posts(500)
    model = TopicModel(umap_model=PCA(5, random_state=0),
                       hdbscan_model=MiniBatchKMeans(n_clusters=6, random_state=0, n_init=3),
                       vectorizer_model=OnlineCountVectorizer(stop_words="english"))
    for start in range(0, 500, 50):
        model.partial_fit(texts[start:start + 50], embeddings[start:start + 50])
    assert len(model.topics_) == 500 and sum(model.topic_sizes_.values()) == 500
    assert set(model.topics_) <= set(model.topic_sizes_)


def test_delete_topics_matches_bertopic(fitted_slice, dropin_model):
    texts, ours, theirs = fitted_slice
    model = copy.copy(dropin_model[0])
    reference = copy.deepcopy(theirs.model)
    to_theirs = topic_id_mapping(ours, theirs)
    model.delete_topics([1, 3])
    reference.delete_topics([to_theirs[1], to_theirs[3]])
    pairs = set(zip(model.topics_, reference.topics_, strict=True))
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})  # the same partition
    now = dict(pairs)
    assert now[-1] == -1 and {now[t]: n for t, n in model.topic_sizes_.items()} == dict(reference.topic_sizes_)
    for topic, words in model.topic_representations_.items():
        assert [w for w, _ in words] == [w for w, _ in reference.topic_representations_[now[topic]]], topic
    assert len(model.topic_mapper_.mappings_[0]) == len(reference.topic_mapper_.mappings_[0])
    assert [[c, now[t]] for c, *_, t in model.topic_mapper_.mappings_] == [
        [c, t] for c, *_, t in reference.topic_mapper_.mappings_]
    # BERTopic drops c-TF-IDF rows by position (one off after the -1 row); ours keeps each kept topic's own row
    before = dropin_model[0]
    old_of = {new: old for old, new in zip(before.topics_, model.topics_, strict=True) if new != -1}
    rows = {t: i for i, t in enumerate(sorted(model.topic_sizes_))}
    old_rows = {t: i for i, t in enumerate(sorted(before.topic_sizes_))}
    for topic, old in old_of.items():
        assert (model.c_tf_idf_[rows[topic]] != before.c_tf_idf_[old_rows[old]]).nnz == 0


@pytest.mark.parametrize("arguments", [
    {"linkage_function": lambda x: sch.linkage(x, "single", optimal_ordering=True)},
    # condensed and exact (a square matrix from a matmul is symmetric only up to rounding, which BERTopic's
    # squareform refuses on some CPUs), without tied merge heights (BERTopic spreads those with random noise)
    {"distance_function": lambda x: pdist(normalize(x).toarray(), "euclidean")},
    {"use_ctfidf": False},
], ids=["single-linkage", "euclidean-distance", "embeddings"])
def test_hierarchical_topics_with_custom_functions_matches_bertopic(fitted_slice, dropin_model, arguments):
    texts, ours, theirs = fitted_slice
    model = dropin_model[0]
    to_theirs = topic_id_mapping(ours, theirs)
    hier = model.hierarchical_topics(texts, **arguments)
    reference = theirs.model.hierarchical_topics(texts, **arguments)
    assert {frozenset(to_theirs[t] for t in row) for row in hier["Topics"]} == {
        frozenset(row) for row in reference["Topics"]}


def test_an_unfitted_model_saves_and_loads_unfitted(tmp_path):
    TopicModel(min_topic_size=7, top_n_words=5).save(tmp_path / "unfitted")
    loaded = TopicModel.load(tmp_path / "unfitted")
    assert not hasattr(loaded, "topics_") and loaded.min_topic_size == 7 and loaded.top_n_words == 5
