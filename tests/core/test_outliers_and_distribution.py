"""Topic distributions, soft clustering and outlier reduction against BERTopic 0.17.4.

Our side reads everything from our own store (vocabulary, idf, c-TF-IDF, topic
ids); BERTopic's side is a deep copy of the fitted reference model. Both were
fitted on the same 2,000 posts with the same embeddings, so the numbers must agree.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS_EMBEDDINGS

from topic_pipeline.core.distribution import approximate_distribution, token_windows
from topic_pipeline.core.outliers import (
    OUTLIER_STRATEGIES,
    outlier_ctfidf,
    outlier_distributions,
    reduce_outliers,
)
from topic_pipeline.core.soft_clustering import map_memberships, membership_matrix, membership_of_new
from topic_pipeline.core.topic_ids import topic_embeddings
from topic_pipeline.core.vectorize import make_vectorizer
from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.params import CtfidfParams, VectorizerParams
from topic_pipeline.pipeline.stage_outputs import AssignmentsOutput, CtfidfOutput, VectorizedBagsOutput


@pytest.fixture(scope="module")
def fit(fitted_slice):
    """Our fitted pieces as plain data, BERTopic's model copied (its methods may mutate it)."""
    import hdbscan

    from benchmarks.parity import topic_id_mapping

    texts, ours, theirs = fitted_slice
    # equal-sized topics may be numbered in another order than BERTopic's
    ours_to_theirs = topic_id_mapping(ours, theirs)
    store = ours.model
    bags, weights = VectorizedBagsOutput(store.current_dir("vectorized_bags")), CtfidfOutput(store.current_dir("ctfidf"))
    vocabulary = bags.vocabulary()
    topic_ids = bags.topic_ids()
    assignments = AssignmentsOutput(store.current_dir("topic_assignments")).read()
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:2000].copy()
    model = copy.deepcopy(theirs.model)
    return SimpleNamespace(
        texts=texts,
        topics=ours.topics,
        their_topics=[int(t) for t in theirs.topics],
        vectorizer=make_vectorizer(VectorizerParams()).set_params(vocabulary=vocabulary),
        idf=weights.idf(),
        topic_ctfidf=weights.weights()[topic_ids != -1],
        n_topics=int((topic_ids != -1).sum()),
        columns=np.array([ours_to_theirs[t] for t in topic_ids if t != -1]),  # BERTopic's column of each of ours
        as_theirs=np.vectorize(ours_to_theirs.__getitem__, otypes=[np.int64]),
        reduce_frequent_words=CtfidfParams().reduce_frequent_words,
        cluster_to_topic=dict(zip(assignments["cluster"], assignments["topic_id"], strict=True)),
        embeddings=embeddings,
        topic_embeddings=topic_embeddings(embeddings, ours.topics)[1:],  # row 0 is the outlier topic
        theirs=model,
        their_memberships=model._map_probabilities(
            hdbscan.all_points_membership_vectors(model.hdbscan_model), original_topics=True
        ),
    )


def ours_distribution(fit, documents, **settings):
    return approximate_distribution(
        documents, fit.vectorizer, idf=fit.idf, topic_ctfidf=fit.topic_ctfidf,
        reduce_frequent_words=fit.reduce_frequent_words, **settings,
    )


# --- approximate_distribution ---------------------------------------------------------------


def test_distribution_of_200_documents_equals_bertopic(fit):
    documents = fit.texts[:200]
    expected, _ = fit.theirs.approximate_distribution(documents)
    # a small batch size on our side: batching must not change anything
    ours, tokens = ours_distribution(fit, documents, batch_size=64)
    assert tokens is None
    assert ours.shape == expected.shape == (200, fit.n_topics)
    np.testing.assert_allclose(ours, expected[:, fit.columns], rtol=0, atol=1e-9)
    # most documents spread over several topics; rows are distributions
    assert np.allclose(ours.sum(axis=1)[ours.sum(axis=1) > 0], 1)
    assert (np.count_nonzero(ours, axis=1) > 1).mean() > 0.5


@pytest.mark.parametrize("settings", [
    pytest.param({"window": 6, "stride": 2, "min_similarity": 0.05}, id="wider-windows-lower-floor"),
    pytest.param({"window": 3, "stride": 3, "min_similarity": 0.2, "padding": True}, id="padded-disjoint-windows"),
])
def test_distribution_with_other_settings_equals_bertopic(fit, settings):
    documents = fit.texts[200:260]
    expected, _ = fit.theirs.approximate_distribution(documents, **settings)
    ours, _ = ours_distribution(fit, documents, **settings)
    np.testing.assert_allclose(ours, expected[:, fit.columns], rtol=0, atol=1e-9)


@pytest.mark.parametrize("settings", [
    pytest.param({}, id="defaults"),
    pytest.param({"window": 5, "stride": 2, "padding": True, "min_similarity": 0.05}, id="padded"),
])
def test_token_distributions_equal_bertopic(fit, settings):
    # the third document is empty: BERTopic gives it one row of zeros
    documents = [fit.texts[3], fit.texts[11], ""]
    expected, expected_tokens = fit.theirs.approximate_distribution(documents, calculate_tokens=True, **settings)
    ours, tokens = ours_distribution(fit, documents, calculate_tokens=True, **settings)
    np.testing.assert_allclose(ours, expected[:, fit.columns], rtol=0, atol=1e-9)
    tokenize = fit.vectorizer.build_tokenizer()
    for document, frame, their_array in zip(documents, tokens, expected_tokens, strict=True):
        assert isinstance(frame, pd.DataFrame)
        np.testing.assert_allclose(frame.to_numpy(), their_array[:, fit.columns], rtol=0, atol=1e-9)
        assert list(frame.index) == (tokenize(document) or [""])
        assert list(frame.columns) == list(range(fit.n_topics))
    assert tokens[0].to_numpy().any() and not tokens[2].to_numpy().any()


def test_tokens_no_window_covers_get_zeros_where_bertopic_fails(fit):
    # 7 tokens, windows of 4 every 2 tokens: windows [0-3], [2-5]; token 6 is in none
    document = "hockey goalie scored playoff game season team"
    with pytest.raises(ValueError, match="inhomogeneous"):
        fit.theirs.approximate_distribution([document], window=4, stride=2, calculate_tokens=True)
    ours, (frame,) = ours_distribution(fit, [document], window=4, stride=2, calculate_tokens=True)
    assert not frame.iloc[6].any() and frame.iloc[:6].to_numpy().any()
    np.testing.assert_allclose(ours[0], frame.sum().to_numpy() / frame.to_numpy().sum())


def test_distribution_with_embedding_model_equals_bertopic(fit):
    from bertopic.backend._utils import select_backend

    from topic_pipeline.pipeline.embedding import load_sentence_model

    sentence_model = load_sentence_model("all-MiniLM-L6-v2")
    documents = ["The goalie stopped every shot in the playoff game", "my hard drive will not boot after the upgrade"]
    theirs = copy.copy(fit.theirs)  # shallow: only embedding_model is replaced
    theirs.embedding_model = select_backend(sentence_model)
    expected, _ = theirs.approximate_distribution(documents, use_embedding_model=True)
    ours, _ = approximate_distribution(
        documents, fit.vectorizer, use_embedding_model=True, topic_embeddings=fit.topic_embeddings,
        embed=lambda sentences: sentence_model.encode(sentences, show_progress_bar=False),
    )
    np.testing.assert_allclose(ours, expected[:, fit.columns], rtol=0, atol=1e-6)  # float32 embeddings
    assert ours[0].argmax() != ours[1].argmax()  # hockey and hardware land in different topics


def test_token_windows():
    assert token_windows(3, 4, 1, False) == [range(3)]
    assert token_windows(0, 4, 1, False) == [range(0)]
    assert token_windows(6, 4, 1, False) == [range(4), range(1, 5), range(2, 6)]
    assert token_windows(5, 4, 2, True) == [range(2), range(4), range(2, 5), range(4, 5)]


# --- soft clustering ---------------------------------------------------------------------


def test_membership_matrix_equals_bertopic_probabilities(fit):
    ours = membership_matrix(fit.theirs.hdbscan_model, fit.cluster_to_topic)
    assert ours.shape == (2000, fit.n_topics) and fit.n_topics == len(set(fit.topics)) - 1
    np.testing.assert_array_equal(ours, fit.their_memberships[:, fit.columns])
    assigned = fit.topics != -1
    # an assigned document's strongest membership is mostly its own topic
    assert (ours[assigned].argmax(axis=1) == fit.topics[assigned]).mean() > 0.9
    assert (ours.sum(axis=1) <= 1 + 1e-9).all()


def test_membership_of_new_points_equals_bertopic_transform(fit):
    import hdbscan

    points = np.asarray(fit.theirs.umap_model.embedding_[:25], dtype=np.float64)
    memberships = hdbscan.membership_vector(fit.theirs.hdbscan_model, points)
    expected = fit.theirs._map_probabilities(memberships, original_topics=True)
    ours = membership_of_new(fit.theirs.hdbscan_model, points, fit.cluster_to_topic)
    np.testing.assert_array_equal(ours, expected[:, fit.columns])
    assert membership_of_new(fit.theirs.hdbscan_model, points[:0], fit.cluster_to_topic).shape == (0, fit.n_topics)


def test_map_memberships_adds_merged_clusters():
    memberships = np.array([[0.1, 0.2, 0.3], [0.5, 0.0, 0.25]])
    # clusters 0 and 2 merged into topic 0, cluster 1 is topic 1
    mapped = map_memberships(memberships, {-1: -1, 0: 0, 1: 1, 2: 0})
    np.testing.assert_allclose(mapped, [[0.4, 0.2], [0.75, 0.0]])
    assert map_memberships(np.zeros(4), {-1: -1}).shape == (4, 0)  # HDBSCAN found no cluster


# --- reduce_outliers ---------------------------------------------------------------------


def check_only_outliers_changed(before, after):
    before, after = np.asarray(before), np.asarray(after)
    assert (after[before != -1] == before[before != -1]).all()
    assert (after[before == -1] != -1).any()


@pytest.mark.parametrize("threshold", [0, "median"])
def test_probabilities_strategy_equals_bertopic(fit, threshold):
    memberships = membership_matrix(fit.theirs.hdbscan_model, fit.cluster_to_topic)
    if threshold == "median":
        # Half of the outliers reach it, half do not. How strongly HDBSCAN ties outliers to clusters depends
        # on the CPU's UMAP rounding (0.4 moved some where the suite was written, none on another machine),
        # so the threshold is taken between two of the outliers' own best memberships.
        best = np.unique(memberships[fit.topics == -1].max(axis=1))
        threshold = float((best[len(best) // 2 - 1] + best[len(best) // 2]) / 2)
        assert 0 < threshold < 1
    expected = fit.theirs.reduce_outliers(fit.texts, fit.their_topics, strategy="probabilities",
                                          probabilities=fit.their_memberships, threshold=threshold)
    ours = reduce_outliers(fit.topics, "probabilities", threshold, probabilities=memberships)
    np.testing.assert_array_equal(fit.as_theirs(ours), expected)
    check_only_outliers_changed(fit.topics, ours)
    if threshold:
        assert (ours == -1).sum() > 0  # the threshold keeps some outliers out
    # only the outliers' rows: same result
    outliers = fit.topics == -1
    np.testing.assert_array_equal(reduce_outliers(fit.topics, "probabilities", threshold,
                                                  probabilities=memberships[outliers]), ours)


@pytest.mark.parametrize("threshold", [0, 0.15])
def test_ctfidf_strategy_equals_bertopic(fit, threshold):
    expected = fit.theirs.reduce_outliers(fit.texts, fit.their_topics, strategy="c-tf-idf", threshold=threshold)
    rows = outlier_ctfidf(fit.texts, fit.topics, fit.vectorizer, fit.idf,
                          reduce_frequent_words=fit.reduce_frequent_words)
    ours = reduce_outliers(fit.topics, "c-tf-idf", threshold, document_ctfidf=rows, topic_ctfidf=fit.topic_ctfidf)
    np.testing.assert_array_equal(fit.as_theirs(ours), expected)
    check_only_outliers_changed(fit.topics, ours)
    if threshold:
        assert (ours == -1).sum() > 0  # the threshold keeps some outliers out


@pytest.mark.parametrize("threshold", [0, 0.5])
def test_embeddings_strategy_equals_bertopic(fit, threshold):
    expected = fit.theirs.reduce_outliers(fit.texts, fit.their_topics, strategy="embeddings",
                                          embeddings=fit.embeddings, threshold=threshold)
    ours = reduce_outliers(fit.topics, "embeddings", threshold, document_embeddings=fit.embeddings,
                           topic_embeddings=fit.topic_embeddings)
    np.testing.assert_array_equal(fit.as_theirs(ours), expected)
    check_only_outliers_changed(fit.topics, ours)


@pytest.mark.parametrize("threshold", [0, 0.2])
def test_distributions_strategy_equals_bertopic(fit, threshold):
    # any slice of documents with their topics works; 300 keep the windows cheap
    documents, topics = fit.texts[:300], fit.topics[:300]
    expected = fit.theirs.reduce_outliers(documents, fit.their_topics[:300], threshold=threshold)
    distributions = outlier_distributions(
        documents, topics, fit.vectorizer, threshold=threshold, idf=fit.idf, topic_ctfidf=fit.topic_ctfidf,
        reduce_frequent_words=fit.reduce_frequent_words,
    )
    assert distributions.shape == ((topics == -1).sum(), fit.n_topics)
    ours = reduce_outliers(topics, "distributions", threshold, distributions=distributions)
    np.testing.assert_array_equal(fit.as_theirs(ours), expected)
    check_only_outliers_changed(topics, ours)


def test_strategy_names_are_bertopics():
    assert OUTLIER_STRATEGIES == ("probabilities", "distributions", "c-tf-idf", "embeddings")


# --- errors ---------------------------------------------------------------------------------


TOPICS = np.array([0, -1, 1, -1])


@pytest.mark.parametrize(("call", "error", "match"), [
    pytest.param(lambda: reduce_outliers(TOPICS, "nearest"), ParamsError,
                 "Unknown outlier strategy 'nearest'; expected one of 'probabilities', 'distributions'",
                 id="unknown-strategy"),
    pytest.param(lambda: reduce_outliers(TOPICS, "c-tf-idf", document_ctfidf=np.ones((2, 3))), StageInputError,
                 "needs topic_ctfidf", id="missing-topic-ctfidf"),
    pytest.param(lambda: reduce_outliers(TOPICS), StageInputError, "'distributions' needs distributions",
                 id="default-strategy-needs-distributions"),
    pytest.param(lambda: reduce_outliers(TOPICS, "embeddings", document_embeddings=np.ones((3, 2)),
                                         topic_embeddings=np.ones((2, 2))), StageInputError,
                 r"3 rows; expected one per document \(4\) or one per outlier \(2\)", id="rows-match-nothing"),
    pytest.param(lambda: reduce_outliers(TOPICS, "embeddings", document_embeddings=np.ones((4, 2)),
                                         topic_embeddings=np.ones((2, 5))), StageInputError,
                 "2 columns but topic_embeddings has 5", id="dimensions-differ"),
    pytest.param(lambda: reduce_outliers(TOPICS, "embeddings", document_embeddings=np.ones((4, 2)),
                                         topic_embeddings=np.ones((1, 2))), StageInputError,
                 "covers 1 topics but topic 1 exists", id="too-few-topic-rows"),
    pytest.param(lambda: reduce_outliers(TOPICS, "probabilities", probabilities=np.ones(4)), StageInputError,
                 "not one strength per document", id="one-strength-per-document"),
    pytest.param(lambda: reduce_outliers(np.array([0.5, -1.0]), "probabilities", probabilities=np.ones((2, 2))),
                 StageInputError, "integer topic ids", id="float-topics"),
    pytest.param(lambda: map_memberships(np.ones((2, 3)), {0: 0, 1: 2}), StageInputError,
                 "topic ids 0..n_topics-1", id="topic-ids-with-gap"),
    pytest.param(lambda: map_memberships(np.ones((2, 1)), {0: 0, 3: 1}), StageInputError,
                 r"names clusters \[3\] but the memberships have 1 columns", id="unknown-cluster"),
    pytest.param(lambda: approximate_distribution(["a b"], make_vectorizer(VectorizerParams()), idf=np.ones(2)),
                 StageInputError, "needs topic_ctfidf", id="distribution-without-topics"),
    pytest.param(lambda: approximate_distribution(["a b"], make_vectorizer(VectorizerParams()),
                                                  use_embedding_model=True, topic_embeddings=np.ones((2, 3))),
                 StageInputError, "use_embedding_model=True needs embed", id="embedding-mode-without-embed"),
    pytest.param(lambda: approximate_distribution(["a b"], make_vectorizer(VectorizerParams()), window=0), ParamsError,
                 "window must be an integer >= 1, got 0", id="window-zero"),
])
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_distribution_vocabulary_must_match_idf(fit):
    with pytest.raises(StageInputError, match="idf has shape"):
        approximate_distribution(["a b"], fit.vectorizer, idf=fit.idf[:10], topic_ctfidf=fit.topic_ctfidf)
    with pytest.raises(StageInputError, match="neither fitted nor given a vocabulary"):
        approximate_distribution(["a b"], make_vectorizer(VectorizerParams()), idf=fit.idf,
                                 topic_ctfidf=fit.topic_ctfidf)


def test_soft_clustering_needs_prediction_data():
    from hdbscan import HDBSCAN

    points = np.random.default_rng(0).normal(size=(60, 2))
    model = HDBSCAN(min_cluster_size=5).fit(points)
    with pytest.raises(StageInputError, match="prediction_data=True"):
        membership_matrix(model, {0: 0})
    with pytest.raises(StageInputError, match="fitted hdbscan.HDBSCAN"):
        membership_of_new(object(), points, {0: 0})
    model.generate_prediction_data()
    with pytest.raises(StageInputError, match=r"shape \(n_documents, 2\)"):
        membership_of_new(model, np.ones((3, 5)), {0: 0})
