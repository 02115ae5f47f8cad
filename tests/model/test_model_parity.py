"""``TopicModel`` against ``bertopic.BERTopic`` 0.17.4 called the same way, on slices of 20 Newsgroups.

Both sides get the same texts, the same precomputed all-MiniLM-L6-v2 embeddings and the same UMAP seed
(our default UMAP is BERTopic's plus ``random_state=42``, which ``benchmarks/parity.py`` gives BERTopic), so
topic ids, sizes, words, distributions and predictions must agree. Two things may differ on purpose and
are compared accordingly:

- the order of words with *equal* weights: we break ties by vocabulary column
  (``representation.top_words``), BERTopic by whatever ``argpartition``/``argsort`` make of them;
- the order of representative documents: we sort them by similarity, BERTopic keeps ``argpartition`` order.

Other deliberate differences are stated in the test that meets them. The 2,000-post BERTopic model is
the session's ``fitted_slice``; it is deep-copied before anything that changes it (``topics_per_class``
even L1-normalises its ``c_tf_idf_`` in place). The smaller fits (1,000 posts) are module-scoped pairs.

UMAP's floating point differs between CPUs, so the same seed gives different clusters on different
machines (the 2,000-post fit has 76 topics on some, 71 on others). Expected counts and topic ids are
therefore taken from BERTopic's fit or derived from the fitted model, never written down as numbers.
"""

from __future__ import annotations

import copy
import os
import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.pairwise import cosine_similarity

from topic_pipeline import KeyBERTInspired, MaximalMarginalRelevance, TopicModel
from topic_pipeline.errors import NotFittedError, ParamsError, StageInputError

pytest.importorskip("bertopic")

N_SMALL = 1000  # the slice of the guided / zero-shot / representation / probability fits (tests/core/test_guided.py)
SEEDS = [["space", "nasa", "orbit"], ["gun", "weapons", "law"], ["god", "jesus", "church"]]
NAMES = ["space and nasa", "guns and law", "religion and god"]
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


# --- helpers ----------------------------------------------------------------------------------------
def load_texts(start: int, stop: int) -> list[str]:
    return pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[start:stop].tolist()


def load_embeddings(start: int, stop: int) -> np.ndarray:
    return np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[start:stop].copy()


def umap_model():
    from umap import UMAP

    return UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False, random_state=42)


def leaf_hdbscan():
    """HDBSCAN selecting leaf clusters: with "eom" the 1,000-post slice collapses to 3 topics, no outliers."""
    from hdbscan import HDBSCAN

    return HDBSCAN(min_cluster_size=10, metric="euclidean", cluster_selection_method="leaf", prediction_data=True)


def words_of(model, topic: int) -> list[tuple[str, float]]:
    return [(str(w), float(s)) for w, s in model.get_topic(topic)]


def assert_same_words(ours, theirs, atol: float = 1e-9) -> None:
    """Equal (word, weight) lists up to the order of words of equal weight.

    Weights must agree position by position; every run of tied weights must hold the same words, except a
    run that reaches the end of the list, where the two sides may have cut the tie at different words.
    """
    assert len(ours) == len(theirs), (ours, theirs)
    weights = np.array([s for _, s in theirs], dtype=float)
    np.testing.assert_allclose([s for _, s in ours], weights, rtol=0, atol=atol, err_msg=f"{ours} vs {theirs}")
    start = 0
    for end in range(1, len(theirs) + 1):
        if end == len(theirs) or abs(weights[end] - weights[start]) > atol:
            if end < len(theirs):
                assert {w for w, _ in ours[start:end]} == {w for w, _ in theirs[start:end]}, (ours, theirs)
            start = end


def default_label(topic: int, words) -> str:
    return f"{topic}_" + "_".join(w for w, _ in words[:4])


def assert_same_topic_info(ours, theirs, atol: float = 1e-9) -> int:
    """get_topic_info's Topic, Count, Name and Representation agree (words up to ties); returns how many
    topics differ only in the order of tied words."""
    mine, reference = ours.get_topic_info(), theirs.get_topic_info()
    assert mine["Topic"].tolist() == reference["Topic"].tolist()
    assert mine["Count"].tolist() == reference["Count"].tolist()
    tied = 0
    for row, topic in enumerate(mine["Topic"]):
        if theirs.get_topic(topic) is False:  # counted without words: -1 of a model merged onto one without
            assert ours.get_topic(topic) is False and mine.loc[row, ["Name", "Representation"]].isna().all()
            continue
        our_words, their_words = words_of(ours, topic), words_of(theirs, topic)
        assert_same_words(our_words, their_words, atol)
        assert mine["Representation"][row] == [w for w, _ in our_words]
        assert reference["Representation"][row] == [w for w, _ in their_words]
        if mine["Name"][row] != reference["Name"][row]:  # only a label made of tied words may differ
            assert mine["Name"][row] == default_label(topic, our_words)
            assert reference["Name"][row] == default_label(topic, their_words)
        tied += our_words != their_words
    return tied


def topics_with_tied_weights(model, top_n: int = 10) -> set[int]:
    """Topics whose top_n + 1 largest c-TF-IDF weights hold a tie (a tie at the cut changes the words too)."""
    tied = set()
    for row, topic in enumerate(sorted(model.topic_sizes_)):
        weights = np.sort(model.c_tf_idf_[row].data)[::-1][: top_n + 1]
        if len(np.unique(weights)) < len(weights):
            tied.add(topic)
    return tied


def assert_same_mappings(ours, theirs) -> None:
    """Both topic mappers send each cluster as found to the same topic now."""
    assert ours.topic_mapper_.get_mappings() == {int(c): int(t) for c, t in theirs.topic_mapper_.get_mappings().items()}


# --- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def offline_hub():
    """BERTopic.load asks the Hub about the saved embedding model name; offline, it fails at once."""
    constants = pytest.importorskip("huggingface_hub.constants")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "HF_HUB_OFFLINE", True)
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def sentence_model():
    from topic_pipeline.pipeline.embedding import load_sentence_model

    return load_sentence_model("all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def model(fitted_slice):
    """Ours on the fixture's 2,000 posts: ``umap_model=None`` is benchmarks/parity.py's UMAP."""
    texts, _, _ = fitted_slice
    fitted = TopicModel(min_topic_size=5)
    fitted.fit(texts, load_embeddings(0, len(texts)))
    return fitted


@pytest.fixture(scope="module")
def theirs(fitted_slice):
    return fitted_slice[2].model


@pytest.fixture(scope="module")
def probability_pair(sentence_model):
    """1,000 posts, leaf clusters (some two dozen topics, some hundreds of outliers), probabilities and an MMR
    main representation.

    Ours is given the same UMAP and HDBSCAN objects, which exercises the estimator path of the facade.
    """
    from bertopic import BERTopic
    from bertopic.representation import MaximalMarginalRelevance as TheirMMR

    texts, embeddings = load_texts(0, N_SMALL), load_embeddings(0, N_SMALL)
    theirs = BERTopic(embedding_model=sentence_model, umap_model=umap_model(), hdbscan_model=leaf_hdbscan(),
                      calculate_probabilities=True, representation_model=TheirMMR(diversity=0.3))
    theirs.fit(texts, embeddings.copy())
    ours = TopicModel(embedding_model=sentence_model, umap_model=umap_model(), hdbscan_model=leaf_hdbscan(),
                      calculate_probabilities=True, representation_model=MaximalMarginalRelevance(diversity=0.3))
    ours.fit(texts, embeddings)
    return texts, ours, theirs


# --- reading the fitted model -----------------------------------------------------------------------
def test_topic_info_topic_and_document_info_equal_bertopic(fitted_slice, model, theirs):
    texts = fitted_slice[0]
    assert model.topics_ == [int(t) for t in theirs.topics_]  # the ids themselves, ties in the size sort too
    assert list(model.get_topic_info().columns) == list(theirs.get_topic_info().columns)
    # some topics list tied words in another order (BERTopic's order depends on numpy's sort): only topics
    # whose c-TF-IDF row has tied weights among its top words (or at the cut after them), and a minority
    assert assert_same_topic_info(model, theirs) < len(model.topic_sizes_) / 2  # which ones: see below
    assert words_of(model, 0) == words_of(theirs, 0)
    assert model.get_topic_freq().equals(theirs.get_topic_freq())  # index and order of equal counts too
    assert_same_mappings(model, theirs)
    assert np.asarray(model.topic_mapper_.mappings_).tolist() == np.asarray(theirs.topic_mapper_.mappings_).tolist()

    ours, reference = model.get_document_info(texts), theirs.get_document_info(texts)
    assert list(ours.columns) == list(reference.columns)
    for column in ("Document", "Topic", "Probability", "Representative_document"):
        pd.testing.assert_series_equal(ours[column], reference[column])
    same_words = ours["Top_n_words"] == reference["Top_n_words"]
    tied = {t for t in model.topic_sizes_ if words_of(model, t) != words_of(theirs, t)}
    assert tied <= topics_with_tied_weights(model)  # only topics with tied weights list words in another order
    assert set(ours.loc[~same_words, "Topic"]) <= tied
    # the same representative documents; we list them most similar first, BERTopic in argpartition order
    assert [set(docs) for docs in ours["Representative_Docs"]] == [set(docs) for docs in reference["Representative_Docs"]]


def test_generate_and_set_topic_labels_equal_bertopic(model, theirs):
    theirs, ours = copy.deepcopy(theirs), copy.deepcopy(model)
    for settings in ({}, {"nr_words": 2, "topic_prefix": False, "separator": ", "}, {"word_length": 3}):
        mine, reference = ours.generate_topic_labels(**settings), theirs.generate_topic_labels(**settings)
        differ = [t for t, a, b in zip(sorted(ours.topic_sizes_), mine, reference, strict=True) if a != b]
        assert set(differ) <= {t for t in ours.topic_sizes_ if words_of(ours, t) != words_of(theirs, t)}
    for labels in ({1: "one", 2: "two"}, [f"label {t}" for t in sorted(ours.topic_sizes_)]):
        ours.set_topic_labels(labels)
        theirs.set_topic_labels(labels)
        mine, reference = ours.get_topic_info(), theirs.get_topic_info()
        assert list(mine.columns) == list(reference.columns)
        # a dict keeps the other topics' default labels, which may list tied words in another order
        assert ((mine["CustomName"] != reference["CustomName"]) <= (mine["Name"] != reference["Name"])).all()
        assert mine.loc[mine["Topic"].isin([1, 2]), "CustomName"].tolist() == reference.loc[
            reference["Topic"].isin([1, 2]), "CustomName"].tolist()


# --- changing the topics ----------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "n_topics"), [  # n_topics: the count after, given the count before (-1 included)
    ({"nr_topics": 30}, lambda before: 30),
    ({"nr_topics": "auto"}, None),  # as many as HDBSCAN finds among the topic embeddings: only fewer than before
    ({"nr_topics": 20, "use_ctfidf": True}, lambda before: 20),  # topics compared by c-TF-IDF rows, not embeddings
    ({"topics_to_merge": [[1, 2], [3, 4]]}, lambda before: before - 2),
    ({"topics_to_merge": [5, 6, 7]}, lambda before: before - 2),
], ids=["nr_topics=30", "nr_topics=auto", "nr_topics=20 by c-TF-IDF", "merge two pairs", "merge three"])
def test_reduce_and_merge_topics_equal_bertopic(fitted_slice, model, theirs, change, n_topics):
    texts = fitted_slice[0]
    before = len(theirs.topic_sizes_)
    ours, theirs = copy.deepcopy(model), copy.deepcopy(theirs)
    for side in (ours, theirs):
        if "topics_to_merge" in change:
            side.merge_topics(texts, **change)
        else:
            side.reduce_topics(texts, **change)
    assert ours.topics_ == [int(t) for t in theirs.topics_]
    assert ours.topic_sizes_ == dict(theirs.topic_sizes_)
    assert 2 < len(ours.topic_sizes_) < before
    if n_topics is not None:
        assert len(ours.topic_sizes_) == n_topics(before)
    assert_same_topic_info(ours, theirs)
    assert_same_mappings(ours, theirs)
    np.testing.assert_allclose(ours.topic_embeddings_, theirs.topic_embeddings_, rtol=0, atol=1e-6)  # float32 sums
    assert abs(ours.c_tf_idf_ - theirs.c_tf_idf_).max() <= 1e-12


def outliers_without_a_close_topic(theirs, texts, topics, strategy: str, threshold: float) -> int:
    """How many outliers no topic reaches ``threshold`` for, by BERTopic's own similarities: the
    cosine of their c-TF-IDF to the topics' rows, or their approximate topic distribution (which drops
    similarities below ``min_similarity``)."""
    outliers = [text for text, topic in zip(texts, topics, strict=True) if topic == -1]
    if strategy == "c-tf-idf":
        rows = theirs.ctfidf_model.transform(theirs.vectorizer_model.transform(outliers))
        best = cosine_similarity(rows, theirs.c_tf_idf_[1:]).max(axis=1)  # row 0 is -1's
        return int((best < threshold).sum())
    distributions, _ = theirs.approximate_distribution(outliers, min_similarity=threshold)
    return int((distributions.sum(axis=1) == 0).sum())


@pytest.mark.parametrize(
    ("strategy", "settings"),
    [
        ("distributions", {}),
        ("c-tf-idf", {}),
        ("embeddings", {"embeddings": True}),
        ("c-tf-idf", {"threshold": 0.1}),  # below the threshold a document stays an outlier
        ("distributions", {"threshold": 0.05}),
    ],
)
def test_reduce_outliers_equals_bertopic(fitted_slice, model, theirs, strategy, settings):
    texts = fitted_slice[0]
    if settings.get("embeddings"):
        settings = {"embeddings": load_embeddings(0, len(texts))}
    topics = list(model.topics_)
    ours = model.reduce_outliers(texts, topics, strategy=strategy, **settings)
    assert ours == [int(t) for t in theirs.reduce_outliers(texts, topics, strategy=strategy, **settings)]
    if "threshold" in settings:  # some outliers stay, as many as have no topic that close
        left = outliers_without_a_close_topic(theirs, texts, topics, strategy, settings["threshold"])
        assert 0 < ours.count(-1) == left < topics.count(-1)
    else:
        assert ours.count(-1) == 0
    assert model.topics_ == topics  # reduce_outliers only proposes; update_topics applies


def test_update_topics_after_reduce_outliers_equals_bertopic(fitted_slice, model, theirs):
    """Same topics, sizes, words and names. Deliberate differences, both BERTopic bugs:

    - BERTopic's update_topics compares the new topics with ``topics_`` *after* overwriting it, so it never
      updates ``topic_embeddings_``: the row of the now empty -1 stays (one row more than topics) and every
      lookup by position is off by one. Ours are the means of the new assignment.
    - BERTopic keeps the old representative documents (-1's included); ours are picked again.
    """
    texts = fitted_slice[0]
    rows = len(theirs.topic_sizes_)  # -1 included
    new_topics = model.reduce_outliers(texts, model.topics_, strategy="c-tf-idf")
    ours, theirs = copy.deepcopy(model), copy.deepcopy(theirs)
    ours.update_topics(texts, topics=new_topics)
    theirs.update_topics(texts, topics=new_topics)
    assert ours.topics_ == [int(t) for t in theirs.topics_] == new_topics
    assert_same_topic_info(ours, theirs)
    assert len(ours.topic_sizes_) == rows - 1 and -1 not in ours.topic_sizes_
    assert theirs.topic_embeddings_.shape == (rows, 384) and ours.topic_embeddings_.shape == (rows - 1, 384)
    embeddings = load_embeddings(0, len(texts))
    np.testing.assert_allclose(ours.topic_embeddings_[3], embeddings[np.asarray(new_topics) == 3].mean(axis=0), atol=1e-6)
    assert -1 in theirs.representative_docs_ and -1 not in ours.representative_docs_


def test_probabilities_transform_and_outliers_equal_bertopic(probability_pair):
    texts, ours, theirs = probability_pair
    assert ours.topics_ == [int(t) for t in theirs.topics_]
    sizes = np.bincount(np.asarray(ours.topics_) + 1)  # -1 first, then topics numbered by size
    assert sizes[0] > 0 and (np.diff(sizes[1:]) <= 0).all() and len(sizes) > 10
    assert ours.probabilities_.shape == (len(texts), len(sizes) - 1)  # membership vectors, no -1 column
    np.testing.assert_array_equal(ours.probabilities_, theirs.probabilities_)
    pd.testing.assert_series_equal(ours.get_document_info(texts)["Probability"],
                                   theirs.get_document_info(texts)["Probability"], rtol=0, atol=1e-12)

    new_texts, new_embeddings = load_texts(2000, 2100), load_embeddings(2000, 2100)
    topics, probabilities = ours.transform(new_texts, new_embeddings)
    their_topics, their_probabilities = theirs.transform(new_texts, new_embeddings)
    assert topics == [int(t) for t in their_topics]
    np.testing.assert_allclose(probabilities, their_probabilities, rtol=0, atol=1e-12)

    outliers = np.asarray(theirs.topics_) == -1
    for threshold in (0, 0.05):  # outliers stay where no topic's probability reaches the threshold
        left = int((theirs.probabilities_[outliers].max(axis=1) < threshold).sum())
        new = ours.reduce_outliers(texts, ours.topics_, strategy="probabilities", probabilities=ours.probabilities_,
                                   threshold=threshold)
        assert new == [int(t) for t in theirs.reduce_outliers(texts, theirs.topics_, strategy="probabilities",
                                                             probabilities=theirs.probabilities_, threshold=threshold)]
        assert new.count(-1) == left
    assert 0 < left < outliers.sum()  # at 0.05 some outliers stay, not all
    ours, theirs = copy.deepcopy(ours), copy.deepcopy(theirs)
    ours.update_topics(texts, topics=new)
    theirs.update_topics(texts, topics=new)
    assert_same_topic_info(ours, theirs)  # update_topics without a representation model: plain c-TF-IDF words
    assert ours.transform(new_texts, new_embeddings)[0] == [int(t) for t in theirs.transform(new_texts, new_embeddings)[0]]


def test_approximate_distribution_equals_bertopic(fitted_slice, model, theirs):
    texts = fitted_slice[0]
    ours, tokens = model.approximate_distribution(texts[:100])
    reference, their_tokens = theirs.approximate_distribution(texts[:100])
    assert tokens is None and their_tokens is None
    assert ours.shape == (100, len(theirs.topic_sizes_) - 1)  # topics without -1
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-9)

    ours, tokens = model.approximate_distribution(texts[:2], calculate_tokens=True)
    reference, their_tokens = theirs.approximate_distribution(texts[:2], calculate_tokens=True)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-9)
    assert [type(t) for t in tokens] == [np.ndarray, np.ndarray]  # BERTopic's type: rows = tokens, columns = topics
    for mine, theirs_ in zip(tokens, their_tokens, strict=True):
        assert mine.shape == theirs_.shape
        np.testing.assert_allclose(mine, theirs_, rtol=0, atol=1e-9)


def test_topics_per_class_equals_bertopic(fitted_slice, model, theirs):
    """Same rows; BERTopic lists classes in ``set`` order (random for strings), so rows are sorted first.
    Words are compared by BERTopic's own per-class c-TF-IDF weights, captured as it computes them, so
    that a different choice among tied words is recognised as a tie."""
    texts = fitted_slice[0]
    classes = pd.read_parquet(NEWSGROUPS, columns=["label"])["label"].iloc[: len(texts)].tolist()
    theirs = copy.deepcopy(theirs)  # topics_per_class normalises c_tf_idf_ in place
    rows, column = {}, {}
    extract = theirs._extract_words_per_topic

    def capture(words, documents, c_tf_idf=None, calculate_aspects=True, **kwargs):
        if not column:  # the fitted vocabulary (the same in every call)
            column.update((w, i) for i, w in enumerate(words))
        for row, topic in enumerate(sorted(documents["Topic"].unique())):  # rows of this class's c-TF-IDF
            rows[documents["Class"].iloc[0], int(topic)] = c_tf_idf[row].toarray().ravel()
        return extract(words, documents, c_tf_idf, calculate_aspects=calculate_aspects, **kwargs)

    theirs._extract_words_per_topic = capture
    reference = theirs.topics_per_class(texts, classes).sort_values(["Class", "Topic"]).reset_index(drop=True)
    ours = model.topics_per_class(texts, classes).sort_values(["Class", "Topic"]).reset_index(drop=True)
    assert list(ours.columns) == ["Topic", "Words", "Frequency", "Class"]
    pd.testing.assert_frame_equal(ours[["Topic", "Frequency", "Class"]], reference[["Topic", "Frequency", "Class"]])
    assert len(ours) == len(set(zip(classes, model.topics_)))  # one row per class and topic it holds
    for topic, words, their_words, label in zip(ours["Topic"], ours["Words"], reference["Words"], ours["Class"]):
        row = rows[label, topic]
        mine, reference_words = words.split(", "), their_words.split(", ")
        assert len(set(mine)) == len(mine) == len(reference_words)
        np.testing.assert_allclose([row[column[w]] if w else 0.0 for w in mine],  # "" pads a short list
                                   [row[column[w]] if w else 0.0 for w in reference_words],
                                   rtol=0, atol=1e-12, err_msg=f"{label} topic {topic}: {words} vs {their_words}")


def test_find_topics_equals_bertopic(model, theirs, sentence_model):
    """BERTopic finds topics only with an embedding model; given one after fitting, it uses the same topic
    embeddings as the fitted model, like ours (which embeds with the model it was configured with)."""
    from bertopic.backend._utils import select_backend

    theirs = copy.deepcopy(theirs)
    theirs.embedding_model = select_backend(sentence_model)
    topics, similarities = model.find_topics("space nasa")
    their_topics, their_similarities = theirs.find_topics("space nasa")
    # the 5 topic embeddings (BERTopic's, -1's row included) closest to the term's, most similar first
    closeness = cosine_similarity(theirs.embedding_model.embed(["space nasa"]), theirs.topic_embeddings_)[0]
    expected = [sorted(theirs.topic_sizes_)[row] for row in np.argsort(-closeness)[:5]]
    assert topics == their_topics == expected
    assert {w for w, _ in words_of(model, topics[0])} & {"space", "nasa", "orbit", "shuttle", "launch"}  # on topic
    np.testing.assert_allclose(similarities, their_similarities, rtol=0, atol=1e-6)  # float32 embeddings
    np.testing.assert_allclose(similarities, np.sort(closeness)[::-1][:5], rtol=0, atol=1e-6)


def test_transform_unseen_documents_equals_bertopic(model, theirs):
    texts, embeddings = load_texts(2000, 2100), load_embeddings(2000, 2100)
    topics, probabilities = model.transform(texts, embeddings)
    their_topics, their_probabilities = theirs.transform(texts, embeddings)
    assert topics == [int(t) for t in their_topics]
    assert len(set(topics)) > 20 and topics.count(-1) > 10
    np.testing.assert_allclose(probabilities, their_probabilities, rtol=0, atol=1e-12)


# --- constructor settings ---------------------------------------------------------------------------
@pytest.mark.parametrize("nr_topics", [10, "auto"])
def test_nr_topics_in_the_constructor_equals_bertopic(nr_topics):
    from bertopic import BERTopic

    texts, embeddings = load_texts(0, N_SMALL), load_embeddings(0, N_SMALL)
    theirs = BERTopic(umap_model=umap_model(), hdbscan_model=leaf_hdbscan(), nr_topics=nr_topics)
    their_topics, _ = theirs.fit_transform(texts, embeddings.copy())
    ours = TopicModel(nr_topics=nr_topics, params={"clustering": {"min_cluster_size": 10,
                                                                  "cluster_selection_method": "leaf"}})
    topics, probabilities = ours.fit_transform(texts, embeddings)
    assert topics == [int(t) for t in their_topics]
    found = len(set(theirs.hdbscan_model.labels_))  # clusters before the reduction, -1 included
    if nr_topics == "auto":
        assert 2 < len(set(topics)) < found
    else:
        assert len(set(topics)) == nr_topics < found
    np.testing.assert_allclose(probabilities, theirs.probabilities_, rtol=0, atol=1e-12)
    assert_same_topic_info(ours, theirs)
    assert_same_mappings(ours, theirs)


@pytest.mark.parametrize("case", ["vectorizer and c-TF-IDF models", "supervised"])
def test_vectorizer_ctfidf_and_labels_through_the_constructor_equal_bertopic(probability_pair, case):
    """A CountVectorizer with stop words, min_df and bigrams plus BM25 / reduce_frequent_words c-TF-IDF
    (ours: our ClassTfidfTransformer, theirs: BERTopic's); or labels ``y`` given to UMAP. Both are checked
    against ``probability_pair``, the same UMAP and HDBSCAN without either: the vectorizer changes the
    words, not the clusters; the labels change the clusters, towards the newsgroups."""
    from bertopic import BERTopic
    from bertopic.vectorizers import ClassTfidfTransformer as TheirClassTfidf
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    from topic_pipeline import ClassTfidfTransformer

    texts, embeddings = load_texts(0, N_SMALL), load_embeddings(0, N_SMALL)
    settings, y = {"top_n_words": 5}, None
    ours_only, theirs_only = {}, {}
    if case == "supervised":
        y = pd.factorize(pd.read_parquet(NEWSGROUPS, columns=["label"])["label"].iloc[:N_SMALL])[0]
    else:
        settings["vectorizer_model"] = CountVectorizer(stop_words="english", min_df=2, ngram_range=(1, 2))
        ours_only["ctfidf_model"] = ClassTfidfTransformer(bm25_weighting=True, reduce_frequent_words=True)
        theirs_only["ctfidf_model"] = TheirClassTfidf(bm25_weighting=True, reduce_frequent_words=True)
    theirs = BERTopic(umap_model=umap_model(), hdbscan_model=leaf_hdbscan(), **settings, **theirs_only)
    their_topics, _ = theirs.fit_transform(texts, embeddings.copy(), y=y)
    ours = TopicModel(hdbscan_model=leaf_hdbscan(), **settings, **ours_only)
    topics, _ = ours.fit_transform(texts, embeddings, y=y)
    assert topics == [int(t) for t in their_topics]
    unsupervised = probability_pair[1].topics_
    assert_same_topic_info(ours, theirs)
    if case == "supervised":
        groups = pd.factorize(pd.read_parquet(NEWSGROUPS, columns=["label"])["label"].iloc[:N_SMALL])[0]
        assert topics != unsupervised
        assert adjusted_rand_score(groups, topics) > 2 * adjusted_rand_score(groups, unsupervised)
    else:
        assert topics == unsupervised
        words = ours.get_topic_info()["Representation"].sum()
        assert any(" " in w for w in words) and not set(words) & ENGLISH_STOP_WORDS  # bigrams, stop words gone


def test_mmr_representation_through_the_constructor_equals_bertopic(probability_pair):
    """MMR re-ranks the 30 c-TF-IDF candidates and keeps their weights. It compares the words with the
    embedding of the candidates joined in c-TF-IDF order, so where candidates tie, the two sides' orders of
    tied words give slightly different topic vectors and may pick different words: such topics are only
    checked to be among those with ties, and to be few. Deliberate difference: one topic (the "testing",
    "deletion", "hello" posts) has only 4 words; BERTopic's MMR fails on it and keeps all 30 candidate
    slots, we keep 10 (4 + padding)."""
    _, ours, theirs = probability_pair
    with_ties = topics_with_tied_weights(ours, top_n=30)  # a tie at the cut changes the candidates too
    short = [t for row, t in enumerate(sorted(ours.topic_sizes_)) if ours.c_tf_idf_[row].nnz < 10]
    assert len(short) == 1
    differ = set()
    for topic in sorted(ours.topic_sizes_):
        our_words, their_words = words_of(ours, topic), words_of(theirs, topic)
        if topic == short[0]:
            assert len(their_words) == 30 and [w for w, _ in their_words[4:]] == [""] * 26
            their_words = their_words[:10]
        assert len(their_words) == 10
        try:
            assert_same_words(our_words, their_words)
        except AssertionError:
            differ.add(topic)
    assert differ <= with_ties and len(differ) <= len(ours.topic_sizes_) / 4


@pytest.fixture(scope="module")
def aspects_pair(sentence_model):
    """1,000 posts, BERTopic's default clusters (3 topics), a KeyBERT and an MMR aspect."""
    from bertopic import BERTopic
    from bertopic.representation import KeyBERTInspired as TheirKeyBERT
    from bertopic.representation import MaximalMarginalRelevance as TheirMMR

    texts, embeddings = load_texts(0, N_SMALL), load_embeddings(0, N_SMALL)
    theirs = BERTopic(embedding_model=sentence_model, umap_model=umap_model(),
                      representation_model={"KeyBERT": TheirKeyBERT(), "MMR": TheirMMR(diversity=0.3)})
    theirs.fit(texts, embeddings.copy())
    ours = TopicModel(embedding_model=sentence_model,
                      representation_model={"KeyBERT": KeyBERTInspired(), "MMR": MaximalMarginalRelevance(diversity=0.3)})
    ours.fit(texts, embeddings)
    return ours, theirs


def test_representation_aspects_through_the_constructor_equal_bertopic(aspects_pair):
    """Main words, a KeyBERT and an MMR column as in BERTopic. Deliberate differences on topic 2, which has
    only 4 words: BERTopic's KeyBERTInspired ranks the empty padding slots and returns 10 "" (their
    embedding is closer to the topic than the words'), and its MMR keeps all 30 candidate slots; we rank
    the 4 real words and pad to 10. KeyBERT cosines are to the mean of the representative documents'
    embeddings: ours averages the given float32 rows, BERTopic re-embeds those documents (1e-5 apart)."""
    ours, theirs = aspects_pair
    assert ours.topics_ == [int(t) for t in theirs.topics_] and len(ours.topic_sizes_) == 3
    mine, reference = ours.get_topic_info(), theirs.get_topic_info()
    assert list(mine.columns) == list(reference.columns) == ["Topic", "Count", "Name", "Representation", "KeyBERT",
                                                             "MMR", "Representative_Docs"]
    assert_same_topic_info(ours, theirs)
    our_aspects, their_aspects = ours.get_topics(full=True), theirs.get_topics(full=True)
    assert list(our_aspects) == list(their_aspects) == ["Main", "KeyBERT", "MMR"]
    for topic in (0, 1):
        assert_same_words(our_aspects["KeyBERT"][topic], [(w, float(s)) for w, s in their_aspects["KeyBERT"][topic]],
                          atol=1e-5)
        assert_same_words(our_aspects["MMR"][topic], [(w, float(s)) for w, s in their_aspects["MMR"][topic]])
    assert [w for w, _ in their_aspects["KeyBERT"][2]] == [""] * 10
    assert [w for w, _ in our_aspects["KeyBERT"][2]] == ["was", "hello", "deletion", "testing"] + [""] * 6
    assert our_aspects["MMR"][2] == [(w, float(s)) for w, s in their_aspects["MMR"][2]][:10]


def test_guided_topics_through_the_constructor_equal_bertopic(sentence_model):
    from bertopic import BERTopic

    texts, embeddings = load_texts(0, N_SMALL), load_embeddings(0, N_SMALL)
    theirs = BERTopic(embedding_model=sentence_model, umap_model=umap_model(), hdbscan_model=leaf_hdbscan(),
                      seed_topic_list=SEEDS)
    their_topics, _ = theirs.fit_transform(texts, embeddings.copy())  # BERTopic writes into the array it gets
    ours = TopicModel(embedding_model=sentence_model, seed_topic_list=SEEDS,
                      params={"clustering": {"min_cluster_size": 10, "cluster_selection_method": "leaf"}})
    topics, _ = ours.fit_transform(texts, embeddings)
    assert topics == [int(t) for t in their_topics]
    sizes = np.bincount(np.asarray(topics) + 1)
    assert sizes.tolist() == [theirs.topic_sizes_.get(t, 0) for t in range(-1, len(sizes) - 1)]
    assert sizes[0] > 0 and (np.diff(sizes[1:]) <= 0).all()  # outliers, then topics by size
    np.testing.assert_array_equal(embeddings, load_embeddings(0, N_SMALL))  # ours leaves the input alone
    assert_same_topic_info(ours, theirs)  # seed words weigh 1.2x in the c-TF-IDF on both sides
    assert_same_mappings(ours, theirs)


@pytest.fixture(scope="module")
def zeroshot_pair(sentence_model):
    from bertopic import BERTopic

    texts, embeddings = load_texts(0, N_SMALL), load_embeddings(0, N_SMALL)
    settings = {"zeroshot_topic_list": NAMES, "zeroshot_min_similarity": 0.25}  # 0.7 assigns no long post
    theirs = BERTopic(embedding_model=sentence_model, umap_model=umap_model(), hdbscan_model=leaf_hdbscan(), **settings)
    theirs.fit(texts, embeddings.copy())
    ours = TopicModel(embedding_model=sentence_model, hdbscan_model=leaf_hdbscan(), **settings)
    ours.fit(texts, embeddings)
    return texts, ours, theirs


def test_zeroshot_topics_through_the_constructor_equal_bertopic(zeroshot_pair):
    _, ours, theirs = zeroshot_pair
    assert ours.topics_ == [int(t) for t in theirs.topics_]
    sizes = np.bincount(np.asarray(ours.topics_) + 1)
    assert sizes[1:4].tolist() == [22, 31, 10]  # zero-shot topics first (their matches do not depend on UMAP)
    assert sizes.tolist() == [theirs.topic_sizes_.get(t, 0) for t in range(-1, len(sizes) - 1)]
    np.testing.assert_array_equal(ours.probabilities_, theirs.probabilities_)
    assert ours.get_topic_info()["Name"][1:4].tolist() == theirs.get_topic_info()["Name"][1:4].tolist() == NAMES
    assert_same_topic_info(ours, theirs)
    new_texts, new_embeddings = load_texts(2000, 2100), load_embeddings(2000, 2100)
    assert ours.transform(new_texts, new_embeddings)[0] == [int(t) for t in theirs.transform(new_texts, new_embeddings)[0]]


def test_zeroshot_names_survive_merging_other_topics(zeroshot_pair):
    """Deliberate difference: after a merge BERTopic keeps a zero-shot name only if the name's embedding is
    close enough to the topic's, but it reads the *old* topic embeddings at the new id (row 0 is -1's), so
    here it drops every name and then renumbers the topics by size. We compare with the merged topic's own
    embedding: merging topics 3 and 4 keeps the three names and (as BERTopic does for zero-shot models)
    the ids."""
    texts, ours, theirs = zeroshot_pair
    ours, theirs = copy.deepcopy(ours), copy.deepcopy(theirs)
    before = np.asarray(ours.topics_)
    ours.merge_topics(texts, [3, 4])
    theirs.merge_topics(texts, [3, 4])
    assert theirs._topic_id_to_zeroshot_topic_idx == {}
    assert ours.zeroshot_topics_ == {0: NAMES[0], 1: NAMES[1], 2: NAMES[2]}
    assert [ours.topic_labels_[t] for t in range(3)] == NAMES
    np.testing.assert_array_equal(np.asarray(ours.topics_), np.where(before == 4, 3, before))


# --- saving and merging -----------------------------------------------------------------------------
def test_bertopic_loads_our_safetensors_save(model, sentence_model, tmp_path):
    from bertopic import BERTopic

    model.save(tmp_path / "ours", serialization="safetensors", save_ctfidf=True)
    loaded = BERTopic.load(tmp_path / "ours", embedding_model=sentence_model)
    columns = ["Topic", "Count", "Name", "Representation"]
    pd.testing.assert_frame_equal(loaded.get_topic_info()[columns], model.get_topic_info()[columns])
    np.testing.assert_array_equal(loaded.topic_embeddings_, model.topic_embeddings_.astype(np.float32))


def test_we_load_a_bertopic_safetensors_save(theirs, sentence_model, tmp_path):
    """A loaded model has no UMAP/HDBSCAN (not saved in this format): both sides assign new documents to
    the most similar topic embedding, with given embeddings or embedding the texts themselves."""
    from bertopic import BERTopic

    path = tmp_path / "theirs"
    theirs.save(path, serialization="safetensors", save_ctfidf=True, save_embedding_model=MINILM)
    ours, reference = TopicModel.load(path), BERTopic.load(path, embedding_model=sentence_model)
    pd.testing.assert_frame_equal(ours.get_topic_info(), reference.get_topic_info(), check_dtype=False)
    texts, embeddings = load_texts(2000, 2100), load_embeddings(2000, 2100)
    topics, similarity = ours.transform(texts, embeddings)
    their_topics, their_similarity = reference.transform(texts, embeddings)
    assert topics == [int(t) for t in their_topics]
    np.testing.assert_allclose(similarity, their_similarity, rtol=0, atol=1e-6)
    assert ours.transform(texts[:5])[0] == [int(t) for t in reference.transform(texts[:5])[0]]
    np.testing.assert_allclose(ours.approximate_distribution(texts[:20])[0],
                               reference.approximate_distribution(texts[:20])[0], rtol=0, atol=1e-9)


def topics_to_append(first, later, min_similarity: float) -> int:
    """BERTopic's rule for merging ``later`` onto ``first``: a topic of ``later`` is appended unless its
    embedding is at least ``min_similarity``-close to one of ``first``'s rows (-1's row included)."""
    rows = np.asarray(later.topic_embeddings_)[int(-1 in later.topic_sizes_):]
    return int((cosine_similarity(rows, np.asarray(first.topic_embeddings_)).max(axis=1) < min_similarity).sum())


@pytest.mark.parametrize(("order", "min_similarity", "appended"), [
    ("2,000 posts first", 0.7, "none"),  # each of the 3 small topics is close to one of the big model's rows
    ("2,000 posts first", 0.995, "some"),  # some of them are not that close and are appended
    ("3 topics first", 0.7, "most"),  # a base model without outliers: most topics appended, -1 counted
])
def test_merge_models_equals_bertopic(model, theirs, aspects_pair, sentence_model, order, min_similarity, appended):
    """Deliberate difference when the first model has no outliers: the merged model counts the later
    model's -1 documents but has no -1 embedding row, and BERTopic's transform still subtracts 1 from
    the best row (so it predicts topic t - 1); we predict the topic of the best row."""
    from bertopic import BERTopic

    small, their_small = aspects_pair
    pairs = [(model, theirs), (small, their_small)]
    if order == "3 topics first":
        pairs.reverse()
    merged = TopicModel.merge_models([o for o, _ in pairs], min_similarity=min_similarity)
    reference = BERTopic.merge_models([t for _, t in pairs], min_similarity=min_similarity,
                                      embedding_model=sentence_model)
    assert merged.topics_ == [int(t) for t in reference.topics_]
    first, later = (t for _, t in pairs)
    added, later_topics = topics_to_append(first, later, min_similarity), len(set(later.topic_sizes_) - {-1})
    assert {"none": added == 0, "some": 0 < added < later_topics, "most": later_topics / 2 < added < later_topics}[appended]
    # the later model's -1 documents stay -1: a topic of their own where the first model had none
    outliers_added = -1 in later.topic_sizes_ and -1 not in first.topic_sizes_
    assert len(merged.topic_sizes_) == len(reference.topic_sizes_) == len(first.topic_sizes_) + added + outliers_added
    np.testing.assert_array_equal(merged.topic_embeddings_, np.asarray(reference.topic_embeddings_, dtype=np.float32))
    np.testing.assert_array_equal(np.asarray(merged.topic_mapper_.mappings_, dtype=float),
                                  np.asarray(reference.topic_mapper_.mappings_, dtype=float))  # None rows: NaN
    assert_same_topic_info(merged, reference)
    texts, embeddings = load_texts(2000, 2100), load_embeddings(2000, 2100)
    topics, their_topics = merged.transform(texts, embeddings)[0], reference.transform(texts, embeddings)[0]
    offset = 1 if order == "3 topics first" else 0
    assert topics == [int(t) + offset for t in their_topics]


# --- bad input --------------------------------------------------------------------------------------
class _Tripwire:
    """Unpickling it creates a folder: proof that a pickle was (not) opened."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


BAD_CALLS = [
    # (what, call(model, texts, embeddings, tmp_path), error, message); a message that names the topic count
    # is message(BERTopic's fitted model), as the count depends on the machine
    ("transform before fit", lambda m, t, e, p: TopicModel().transform(t[:3], e[:3]), NotFittedError,
     "not fitted yet; call fit"),
    ("empty documents", lambda m, t, e, p: TopicModel().fit([]), StageInputError, "documents is empty"),
    ("one string, not a list", lambda m, t, e, p: TopicModel().fit("a post"), StageInputError,
     "must be a list of strings, got str"),
    ("a non-string document names its row", lambda m, t, e, p: TopicModel().fit(t[:3] + [None] + t[3:5]),
     StageInputError, r"documents\[3\] is NoneType"),
    ("fit: one embedding row short", lambda m, t, e, p: TopicModel().fit(t[:10], e[:9]), StageInputError,
     r"one row per document: expected shape \(10, dim\), got \(9, 384\)"),
    ("fit: a single vector is not a matrix", lambda m, t, e, p: TopicModel().fit(t[:10], e[0]), StageInputError,
     r"expected shape \(10, dim\), got \(384,\)"),
    ("transform: one embedding row short", lambda m, t, e, p: m.transform(t[:10], e[:9]), StageInputError,
     r"expected shape \(10, dim\), got \(9, 384\)"),
    ("transform: wrong dimension", lambda m, t, e, p: m.transform(t[:10], e[:10, :100]), StageInputError,
     "dimension 100 but the model was fitted on 384"),
    ("reduce_outliers: wrong dimension", lambda m, t, e, p: m.reduce_outliers(t, m.topics_, strategy="embeddings",
                                                                              embeddings=e[:, :100]),
     StageInputError, "dimension 100 but the model was fitted on 384"),
    # BERTopic silently keeps all topics when nr_topics is not below their number (intended difference)
    ("more topics than there are", lambda m, t, e, p: copy.deepcopy(m).reduce_topics(t, nr_topics=100),
     StageInputError, lambda m: f"nr_topics must be between 2 and {len(m.topic_sizes_) - 1}: there are "
                                f"{len(m.topic_sizes_)} topics including the outlier"),
    ("nr_topics neither int nor auto", lambda m, t, e, p: copy.deepcopy(m).reduce_topics(t, nr_topics="many"),
     ParamsError, "nr_topics must be an int .* or 'auto', got 'many'"),
    ("reduce_topics with other documents", lambda m, t, e, p: copy.deepcopy(m).reduce_topics(t[:10], nr_topics=5),
     StageInputError, "Expected the 2000 documents the model was fitted on, got 10"),
    ("unknown outlier strategy", lambda m, t, e, p: m.reduce_outliers(t, m.topics_, strategy="nearest"), ParamsError,
     "Unknown outlier strategy 'nearest'; valid strategies: probabilities, distributions, c-tf-idf, embeddings"),
    ("probabilities strategy without them", lambda m, t, e, p: m.reduce_outliers(t, m.topics_, strategy="probabilities"),
     StageInputError, "needs probabilities"),
    # BERTopic fails deep in scikit-learn ("Found array with 0 sample(s)") when there is nothing to do
    ("no outliers to reduce", lambda m, t, e, p: m.reduce_outliers(t, [0] * len(t)), StageInputError,
     "No outliers to reduce"),
    ("topics of the wrong length", lambda m, t, e, p: copy.deepcopy(m).update_topics(t, topics=[0] * 10),
     StageInputError, r"one integer topic id per document \(2000\), got shape \(10,\)"),
    ("save to an existing path", lambda m, t, e, p: m.save(p, serialization="safetensors"), StageInputError,
     "already exists. Pick a new path or remove"),
    ("save as a pickle", lambda m, t, e, p: m.save(p / "model", serialization="pickle"), ParamsError,
     "only 'safetensors'"),
    ("unknown aspect", lambda m, t, e, p: m.generate_topic_labels(aspect="KeyBERT"), StageInputError,
     "Unknown aspect 'KeyBERT'; the model has: none"),
    ("labels of the wrong length", lambda m, t, e, p: m.set_topic_labels(["a", "b"]), StageInputError,
     lambda m: rf"one label per topic \({len(m.topic_sizes_)}, -1 included\), got 2"),
    ("labels for unknown topics", lambda m, t, e, p: m.set_topic_labels({500: "x"}), StageInputError,
     r"topics \[500\] do not exist"),
    ("empty search term", lambda m, t, e, p: m.find_topics("  "), StageInputError, "non-empty search term"),
]


@pytest.mark.parametrize(("what", "call", "error", "message"), BAD_CALLS, ids=[case[0] for case in BAD_CALLS])
def test_bad_input_is_a_clear_error(fitted_slice, model, theirs, tmp_path, what, call, error, message):
    texts, embeddings = fitted_slice[0], load_embeddings(0, 2000)
    before = (list(model.topics_), dict(model.topic_labels_), model.custom_labels_)
    if callable(message):
        message = message(theirs)
    with pytest.raises(error, match=message):
        call(model, texts, embeddings, tmp_path)
    assert issubclass(error, ValueError)
    assert (model.topics_, model.topic_labels_, model.custom_labels_) == before  # nothing half-changed


def test_load_refuses_a_folder_with_a_pickle_without_opening_it(model, tmp_path):
    path = tmp_path / "saved"
    model.save(path, serialization="safetensors")
    marker = tmp_path / "unpickled"
    (path / "model.pkl").write_bytes(pickle.dumps(_Tripwire(marker)))
    with pytest.raises(StageInputError, match=r"pickle-like files \['model.pkl'\].*refused"):
        TopicModel.load(path)
    assert not marker.exists()
