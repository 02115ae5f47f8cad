"""`TopicModel`: BERTopic's method names over the cached stages."""

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS

from benchmarks.parity import topic_id_mapping
from topic_pipeline import TopicModel
from topic_pipeline.errors import NotFittedError


@pytest.fixture(scope="module")
def fitted_model(fitted_slice, tmp_path_factory):
    texts, _, _ = fitted_slice
    model = TopicModel(min_topic_size=5, cache_dir=tmp_path_factory.mktemp("cache"))
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[: len(texts)].copy()
    topics, probabilities = model.fit_transform(texts, embeddings)
    return model, topics, probabilities, embeddings


def test_fit_transform_matches_bertopic(fitted_slice, fitted_model):
    texts, ours, theirs = fitted_slice
    model, topics, probabilities, _ = fitted_model
    assert topics == ours.topics.tolist()
    assert probabilities.shape == (len(texts),)
    info = model.get_topic_info()
    assert list(info.columns) == ["Topic", "Count", "Name", "Representation", "Representative_Docs"]
    assert info["Count"].sum() == len(texts) and info["Topic"].iloc[0] == -1
    to_theirs = topic_id_mapping(ours, theirs)
    assert [w for w, _ in model.get_topic(0)] == [w for w, _ in ours.words[0]]
    assert model.get_topic(0)[0][1] == pytest.approx(theirs.model.get_topic(to_theirs[0])[0][1], abs=1e-12)
    assert model.get_topic(10_000) is False


def test_refit_with_same_inputs_is_a_cache_hit(fitted_slice, fitted_model):
    texts, _, _ = fitted_slice
    model, topics, _, embeddings = fitted_model
    again = TopicModel(min_topic_size=5, cache_dir=model.cache_dir)
    assert again.fit_transform(texts, embeddings)[0] == topics
    runs = pd.concat(pd.read_json(p, typ="series").to_frame().T for p in sorted(again.store_.runs_dir.glob("*.json")))
    last = runs.tail(8)
    assert not last["computed"].astype(bool).any()


def test_hierarchy_tree_and_topics_over_time(fitted_slice, fitted_model):
    texts, ours, theirs = fitted_slice
    model = fitted_model[0]
    to_theirs = topic_id_mapping(ours, theirs)
    hier = model.hierarchical_topics(texts)
    reference = theirs.model.hierarchical_topics(texts)
    assert {frozenset(to_theirs[t] for t in row) for row in hier["Topics"]} == {frozenset(row) for row in reference["Topics"]}
    # get_topic_tree is BERTopic's text of a hierarchical_topics table (it used to be our own layout):
    # on BERTopic's table, with and without its arguments, the text is BERTopic's own, character for character
    distances = sorted(reference["Distance"])
    for arguments in ({}, {"tight_layout": True}, {"max_distance": distances[len(distances) // 2]}):
        assert model.get_topic_tree(reference, **arguments) == theirs.model.get_topic_tree(reference, **arguments)
    tree = model.get_topic_tree(hier)
    assert tree.startswith(".\n") and tree.count("── Topic:") == len(set(model.topics_) - {-1})
    assert model.get_topic_tree(hier, max_distance=0).count("── Topic:") == 0

    stamps = pd.read_parquet(NEWSGROUPS, columns=["timestamp"])["timestamp"].iloc[: len(texts)]
    dated = stamps.notna().to_numpy()
    docs = [t for t, d in zip(texts, dated) if d]
    with pytest.raises(ValueError, match="Expected the 2000 documents"):
        model.topics_over_time(docs, list(stamps[dated]), nr_bins=10)
    over_time = model.topics_over_time(texts, list(stamps), nr_bins=10, evolution_tuning=False)
    # on a copy: BERTopic's global tuning l1-normalises its c_tf_idf_ in place (normalize(copy=False)), which
    # would change the session's shared BERTopic fit for every later test
    reference = copy.deepcopy(theirs.model).topics_over_time(docs, list(stamps[dated]), topics=list(theirs.topics[dated]),
                                              nr_bins=10, evolution_tuning=False)
    assert list(over_time.columns) == ["Topic", "Words", "Frequency", "Timestamp"]
    assert sorted(over_time["Frequency"]) == sorted(reference["Frequency"])
    evolved = model.topics_over_time(texts, list(stamps), nr_bins=10, evolution_tuning=True)
    assert (evolved["Words"] != over_time["Words"]).any()  # evolution tuning changes later bins


def test_unfitted_model_and_params_contract():
    model = TopicModel(top_n_words=7)
    assert model.get_params()["top_n_words"] == 7 and not hasattr(model, "topics_")
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.get_topic_info()


def test_partial_fit_assigns_new_documents_with_stable_ids(tmp_path):
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:900].tolist()
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:900].copy()
    model = TopicModel(min_topic_size=5, params={"updates": {"refit_every": 500}}, cache_dir=tmp_path)
    model.partial_fit(texts[:700], embeddings[:700])
    first = list(model.topics_)
    model.partial_fit(texts[700:], embeddings[700:])
    assert len(model.topics_) == 900 and model.topics_[:700] == first
    assert set(model.topics_[700:]) - {-1}
    with pytest.raises(ValueError, match="needs embeddings exactly when"):
        model.partial_fit(texts[:5])
