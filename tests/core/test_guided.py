"""Guided and zero-shot topic modeling against BERTopic 0.17.4 on the first 1,000 posts.

Both sides get the same precomputed embeddings, the same offline all-MiniLM-L6-v2
model for the seed lists / topic names, and the same UMAP seed. The BERTopic fits
are module-scoped: each costs a UMAP fit, and the 2 cores are shared.

HDBSCAN selects "leaf" clusters on both sides: with "eom" this slice collapses to
three clusters and no outliers, which would test neither the outlier id, the
shift of many cluster ids behind the zero-shot topics, nor ties in the size sort.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS

from topic_pipeline.core.clustering import fit_clusterer
from topic_pipeline.core.ctfidf import ctfidf_transform, fit_idf
from topic_pipeline.core.guided import (
    ZeroShotMatch,
    combine_zeroshot_topics,
    guide_embeddings,
    reduce_unassigned,
    seed_topic_multiplier,
    zeroshot_match,
    zeroshot_probabilities,
)
from topic_pipeline.core.reduction import fit_reducer
from topic_pipeline.core.topic_ids import renumber_by_frequency, topic_embeddings
from topic_pipeline.core.vectorize import vectorize_topics
from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.params import ClusteringParams, CtfidfParams, ReductionParams, VectorizerParams

N_DOCUMENTS = 1000
MIN_TOPIC_SIZE = 10
SEEDS = [["space", "nasa", "orbit"], ["gun", "weapons", "law"], ["god", "jesus", "church"]]
NAMES = ["space and nasa", "guns and law", "religion and god"]
# Long posts rarely reach BERTopic's 0.7; 0.25 assigns 63 of these 1,000 posts (22/31/10) and leaves
# 937 to cluster, so both scenarios of the combination are exercised.
MIN_SIMILARITY = 0.25
CLUSTERING = ClusteringParams(min_cluster_size=MIN_TOPIC_SIZE, cluster_selection_method="leaf")


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], np.ndarray]:
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:N_DOCUMENTS].tolist()
    return texts, np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:N_DOCUMENTS].copy()


@pytest.fixture(scope="module")
def sentence_model():
    from topic_pipeline.pipeline.embedding import load_sentence_model

    return load_sentence_model("all-MiniLM-L6-v2")


def _embed(model):
    # BERTopic's SentenceTransformerBackend calls encode(texts, show_progress_bar=verbose): defaults otherwise
    return lambda texts: model.encode(texts, show_progress_bar=False)


def _bertopic(sentence_model, **settings):
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from umap import UMAP

    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False, random_state=42)
    hdbscan_model = HDBSCAN(min_cluster_size=MIN_TOPIC_SIZE, metric="euclidean", cluster_selection_method="leaf",
                            prediction_data=True)
    return BERTopic(embedding_model=sentence_model, umap_model=umap_model, hdbscan_model=hdbscan_model, **settings)


@pytest.fixture(scope="module")
def guided_bertopic(corpus, sentence_model):
    pytest.importorskip("bertopic")
    texts, embeddings = corpus
    model = _bertopic(sentence_model, seed_topic_list=SEEDS)
    written = embeddings.copy()  # BERTopic writes the guided embeddings into this array
    topics, _ = model.fit_transform(texts, written)
    return model, np.asarray(topics), written


@pytest.fixture(scope="module")
def zeroshot_bertopic(corpus, sentence_model):
    pytest.importorskip("bertopic")
    texts, embeddings = corpus
    model = _bertopic(sentence_model, zeroshot_topic_list=NAMES, zeroshot_min_similarity=MIN_SIMILARITY)
    topics, probabilities = model.fit_transform(texts, embeddings.copy())
    return model, np.asarray(topics), np.asarray(probabilities)


def test_guided_topics_equal_bertopic(corpus, sentence_model, guided_bertopic):
    _, embeddings = corpus
    original = embeddings.copy()
    model, their_topics, their_guided = guided_bertopic

    y, guided = guide_embeddings(embeddings, SEEDS, _embed(sentence_model))
    _, reduced = fit_reducer(guided, ReductionParams(), y=y)
    _, labels, _ = fit_clusterer(reduced, CLUSTERING)
    topics, _ = renumber_by_frequency(labels)  # BERTopic's size sort, ties included

    their_y, _ = model._guided_topic_modeling(original.copy())
    np.testing.assert_array_equal(y, their_y)
    assert np.bincount(y + 1).tolist() == [845, 40, 63, 52]  # unseeded, space, guns, religion
    np.testing.assert_array_equal(guided, their_guided)  # bit-identical pulled embeddings
    np.testing.assert_array_equal(embeddings, original)  # ours did not write into the input
    np.testing.assert_array_equal(topics, their_topics)  # ids too: the size sort breaks ties the same way
    # The sizes depend on the CPU's UMAP rounding (18 topics + 349 outliers on one machine, 21 + 312 on
    # another), so they are BERTopic's here. Both fits have equal-sized topics (28, 28 and 15, 15; 21, 21
    # and 15, 15, 15), whose ids only agree when the size sort breaks ties as BERTopic's pandas quicksort
    # does: a stable sort gives other ids on some CPUs.
    sizes = np.bincount(topics + 1).tolist()
    assert sizes == [model.topic_sizes_[t] for t in range(-1, len(sizes) - 1)]
    assert sizes[0] > 0 and len(sizes) > 10, "outliers and many clusters: the leaf selection did its job"
    clusters = sizes[1:]
    assert len(set(clusters)) < len(clusters), f"no equal-sized topics in {clusters}: the tie check tests nothing"


def test_guided_ctfidf_multiplier_equals_bertopic(corpus, guided_bertopic):
    texts, _ = corpus
    model, topics, _ = guided_bertopic
    # guided BERTopic needs an embedding_model, and with one it skips its English cleaning (language=None)
    bags = vectorize_topics(texts, topics, VectorizerParams(language="none"))
    multiplier = seed_topic_multiplier(bags.vocabulary, SEEDS)
    idf = fit_idf(bags.topic_term_counts, bags.vocabulary, CtfidfParams()) * multiplier
    weights = ctfidf_transform(bags.topic_term_counts, idf, reduce_frequent_words=False)

    boosted = sorted(bags.vocabulary[multiplier != 1].tolist())
    assert boosted == sorted(word for words in SEEDS for word in words)  # all nine seeds are in this vocabulary
    assert set(multiplier.tolist()) == {1.0, 1.2}
    np.testing.assert_array_equal(idf, model.ctfidf_model._idf_diag.diagonal())
    np.testing.assert_allclose(weights.toarray(), model.c_tf_idf_.toarray(), rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("seed_words", "seed_multiplier", "why"),
    [
        ([], 2.0, "seed topics alone: 1.2 for their words, 1 elsewhere"),
        (["moon", "space", "shuttle"], 3.0, "both: ctfidf seed words get 3, but 'space' is a seed-topic word: 1.2 wins"),
    ],
)
def test_seed_multiplier_matches_bertopic_c_tf_idf(corpus, seed_words, seed_multiplier, why):
    """BERTopic's own _c_tf_idf on a 3-topic bag (no fit needed) gives the idf our multiplier reproduces."""
    pytest.importorskip("bertopic")
    from bertopic import BERTopic
    from bertopic.vectorizers import ClassTfidfTransformer

    texts, _ = corpus
    # 60 posts that mention a seed word, dealt round-robin into 3 topics
    posts = [text for text in texts if {"space", "moon", "gun", "god"} & set(text.lower().split())][:60]
    topics = np.arange(len(posts)) % 3
    bags = vectorize_topics(posts, topics, VectorizerParams())
    joined = [" ".join(post for post, topic in zip(posts, topics, strict=True) if topic == t) for t in range(3)]
    theirs = BERTopic(seed_topic_list=SEEDS, ctfidf_model=ClassTfidfTransformer(seed_words=seed_words,
                                                                              seed_multiplier=seed_multiplier))
    theirs._c_tf_idf(pd.DataFrame({"Document": joined, "Topic": range(3)}))

    base = np.where(np.isin(bags.vocabulary, seed_words), seed_multiplier, 1.0) if seed_words else None
    multiplier = seed_topic_multiplier(bags.vocabulary, SEEDS, base)
    idf = fit_idf(bags.topic_term_counts, bags.vocabulary, CtfidfParams()) * multiplier
    np.testing.assert_array_equal(idf, theirs.ctfidf_model._idf_diag.diagonal())
    by_term = dict(zip(bags.vocabulary.tolist(), multiplier.tolist(), strict=True))
    assert by_term["space"] == by_term["god"] == 1.2 and by_term["the"] == 1.0
    if seed_words:
        assert by_term["moon"] == seed_multiplier


def test_zeroshot_topics_names_and_probabilities_equal_bertopic(corpus, sentence_model, zeroshot_bertopic):
    _, embeddings = corpus
    original = embeddings.copy()
    model, their_topics, their_probabilities = zeroshot_bertopic

    match = zeroshot_match(embeddings, NAMES, _embed(sentence_model), MIN_SIMILARITY)
    reducer, _ = fit_reducer(embeddings, ReductionParams())
    rest = reduce_unassigned(reducer, embeddings, match)
    _, labels, _ = fit_clusterer(rest, CLUSTERING)
    topics, names = combine_zeroshot_topics(match, labels)

    assert np.bincount(match.topic_index[match.assigned]).tolist() == [22, 31, 10]
    np.testing.assert_array_equal(embeddings, original)
    np.testing.assert_array_equal(topics, their_topics)
    assert names == {0: "space and nasa", 1: "guns and law", 2: "religion and god"}
    assert {t: label for t, label in model.topic_labels_.items() if label in NAMES} == names
    assert model._topic_id_to_zeroshot_topic_idx == {t: NAMES.index(name) for t, name in names.items()}
    # no size sort after a zero-shot match: cluster ids are HDBSCAN's raw labels + 3
    np.testing.assert_array_equal(topics[~match.assigned], np.where(labels == -1, -1, labels + 3))
    # outliers, 3 zero-shot topics, then the clusters in HDBSCAN's order, not by size (their number and
    # sizes depend on the CPU's UMAP rounding: 400 outliers and 17 clusters on one machine, 378 and 16 on
    # another, so they are BERTopic's here)
    sizes = np.bincount(topics + 1).tolist()
    assert sizes == [model.topic_sizes_[t] for t in range(-1, len(sizes) - 1)]
    assert sizes[0] > 0 and sizes[1:4] == [22, 31, 10]
    clusters = sizes[4:]
    assert len(clusters) > 10 and clusters != sorted(clusters, reverse=True), "a size sort would go unnoticed"

    vectors = topic_embeddings(embeddings, topics)
    np.testing.assert_array_equal(vectors, model.topic_embeddings_)
    np.testing.assert_array_equal(zeroshot_probabilities(embeddings, vectors), their_probabilities)
    full = zeroshot_probabilities(embeddings, vectors, full=True)
    assert full.shape == (N_DOCUMENTS, len(vectors))


def _match(topic_index: list[int], n_names: int) -> ZeroShotMatch:
    index = np.asarray(topic_index, dtype=np.int64)
    return ZeroShotMatch(index, np.zeros(len(index)), tuple(f"name {i}" for i in range(n_names)))


@pytest.mark.parametrize(
    ("topic_index", "n_names", "clustered", "expected", "names", "why"),
    [
        ([-1, 1, -1, 0, -1, 1], 2, [0, -1, 1], [2, 1, -1, 0, 3, 1], {0: "name 0", 1: "name 1"},
         "partial: names first in list order, clusters + 2, -1 kept, no size sort"),
        ([15, -1, 9, 2, -1], 20, [-1, 0], [2, -1, 1, 0, 3], {0: "name 2", 1: "name 9", 2: "name 15"},
         "ascending name index even where BERTopic's set order would give 9, 2, 15"),
        ([1, 0, 1, 1, 0, 2], 3, [], [0, 1, 0, 0, 1, 2], {0: "name 1", 1: "name 0", 2: "name 2"},
         "all matched: sorted by size as BERTopic does, but the names are kept"),
        ([-1, -1, -1, -1], 2, [1, 0, 1, -1], [0, 1, 0, -1], {},
         "none matched: plain size-sorted clusters, no names"),
    ],
)
def test_combine_zeroshot_topics_cases(topic_index, n_names, clustered, expected, names, why):
    topics, found = combine_zeroshot_topics(_match(topic_index, n_names), np.asarray(clustered))
    assert topics.tolist() == expected
    assert found == names


@pytest.mark.parametrize("all_matched", [True, False], ids=["all matched", "none matched"])
def test_combine_zeroshot_topics_sorts_ties_as_bertopic(all_matched):
    """Without a partial match BERTopic sorts by size in _sort_mappings_by_frequency, with pandas' unstable
    quicksort: equal sizes get the ids it gives them, on some CPUs not those of a stable sort."""
    pytest.importorskip("bertopic")
    from bertopic import BERTopic
    from bertopic._bertopic import TopicMapper

    rng = np.random.default_rng(7)
    raw = rng.integers(0 if all_matched else -1, 30, size=400)  # about 13 documents per id: many equal sizes
    assert len(set(np.unique(raw, return_counts=True)[1].tolist())) < len(set(raw.tolist()))
    if all_matched:  # every document took a name: the name indices are sorted
        match, clustered = _match(raw.tolist(), 30), np.zeros(0, dtype=np.int64)
    else:  # no name matched: the clusters are
        match, clustered = _match([-1] * len(raw), 30), raw
    topics, names = combine_zeroshot_topics(match, clustered)

    theirs = BERTopic()
    theirs.topic_mapper_ = TopicMapper(raw.tolist())
    documents = theirs._sort_mappings_by_frequency(pd.DataFrame({"Document": [""] * len(raw), "Topic": raw}))
    assert topics.tolist() == documents.Topic.tolist()
    if all_matched:  # each id keeps the name its documents matched
        assert [names[t] for t in topics.tolist()] == [match.names[i] for i in raw.tolist()]
    else:
        assert names == {}


def test_guide_embeddings_known_values_and_read_only_input():
    """Two seed directions in 3-d: documents near one are pulled a quarter of the way; the rest stay."""
    seeds = {"a b": [1.0, 0.0, 0.0], "c": [0.0, 1.0, 0.0]}
    documents = np.array([[0.9, 0.1, 0.0], [0.1, 0.9, 0.1], [0.2, 0.2, 1.0], [0.3, 0.3, 0.9]], dtype=np.float32)
    documents.setflags(write=False)  # a read-only input (e.g. a memmap) must work: we never write into it
    y, guided = guide_embeddings(documents, [["a", "b"], ["c"]], lambda texts: np.array([seeds[t] for t in texts]))
    assert y.tolist() == [0, 1, -1, -1]  # the last two are closer to the corpus mean than to either seed
    np.testing.assert_allclose(guided[0], 0.75 * documents[0] + [0.25, 0, 0])
    np.testing.assert_allclose(guided[1], 0.75 * documents[1] + [0, 0.25, 0])
    np.testing.assert_array_equal(guided[2:], documents[2:])
    assert guided.dtype == np.float64  # float64 seed vectors promote, as in BERTopic's vstack


def _fake_embed(dim: int = 3):
    return lambda texts: np.ones((len(texts), dim), dtype=np.float32)


@pytest.mark.parametrize(
    ("call", "error", "match", "why"),
    [
        (lambda: guide_embeddings(np.ones((4, 3)), [], _fake_embed()), ParamsError, "non-empty list of word lists",
         "no seed topics"),
        (lambda: guide_embeddings(np.ones((4, 3)), ["space", "nasa"], _fake_embed()), ParamsError,
         r"seed_topic_list\[0\] must be a non-empty list of words", "flat list: BERTopic would embed 's p a c e'"),
        (lambda: guide_embeddings(np.ones((4, 3)), [["space"], []], _fake_embed()), ParamsError,
         r"seed_topic_list\[1\]", "an empty seed list"),
        (lambda: guide_embeddings(np.ones((4, 3)), [["space", ""]], _fake_embed()), ParamsError, "non-empty strings",
         "an empty seed word"),
        (lambda: guide_embeddings(np.ones(4), [["space"]], _fake_embed()), StageInputError, r"shape \(n_documents, dim\)",
         "1-d embeddings"),
        (lambda: guide_embeddings(np.ones((0, 3)), [["space"]], _fake_embed()), StageInputError, "non-empty",
         "no documents"),
        (lambda: guide_embeddings(np.ones((4, 3)), [["space"]], _fake_embed(5)), StageInputError,
         r"expected \(1, 3\); use the embedding model", "seed vectors from another model"),
        (lambda: seed_topic_multiplier(np.array(["a", "b"]), [["a"]], np.ones(3)), StageInputError,
         "one multiplier per vocabulary term", "base of the wrong length"),
        (lambda: zeroshot_match(np.ones((4, 3)), [], _fake_embed()), ParamsError, "non-empty list of topic names",
         "no zero-shot names"),
        (lambda: zeroshot_match(np.ones((4, 3)), "space and nasa", _fake_embed()), ParamsError,
         "non-empty list of topic names", "a bare string"),
        (lambda: zeroshot_match(np.ones((4, 3)), ["space", " "], _fake_embed()), ParamsError, "non-empty strings",
         "a blank name"),
        (lambda: zeroshot_match(np.ones((4, 3)), ["space"], _fake_embed(), min_similarity=70), ParamsError,
         r"in \[-1, 1\], got 70", "a percentage instead of a cosine"),
        (lambda: zeroshot_match(np.ones((4, 3, 1)), ["space"], _fake_embed()), StageInputError, "got shape",
         "3-d embeddings"),
        (lambda: reduce_unassigned(None, np.ones((2, 3)), _match([0, -1, -1], 1)), StageInputError,
         "covers 3 documents but 2 embeddings", "a match of other embeddings"),
        (lambda: combine_zeroshot_topics(_match([0, -1, -1], 1), np.array([0])), StageInputError,
         r"one cluster label per document without a zero-shot topic \(2\), got 1", "labels of the wrong rows"),
        (lambda: zeroshot_probabilities(np.ones((4, 3)), np.ones((2, 5))), StageInputError,
         r"shape \(n_topics, 3\)", "topic vectors of another dimension"),
    ],
)
def test_errors_say_what_was_expected(call, error, match, why):
    with pytest.raises(error, match=match):
        call()
