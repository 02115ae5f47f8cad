"""`TopicModel.topic_quality`: the pipeline's quality figures for a fitted model, equal to gensim's NPMI."""

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS
from sklearn.feature_extraction.text import CountVectorizer

from topic_pipeline import TopicModel
from topic_pipeline.core.quality import corpus_tokens
from topic_pipeline.errors import ModelArgumentError, NotFittedError

LIMIT = 400

Model = TopicModel


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:LIMIT].tolist()
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:LIMIT].copy()
    model = Model(min_topic_size=5, cache_dir=tmp_path_factory.mktemp("cache"))
    model.fit(texts, embeddings)
    return model, texts


def gensim_npmi(tokens, topics):
    """gensim's c_npmi per topic; NaN for a topic none of whose words are in the corpus (gensim refuses it)."""
    gensim = pytest.importorskip("gensim")
    from gensim.models.coherencemodel import CoherenceModel

    dictionary = gensim.corpora.Dictionary(tokens)
    kept = [i for i, words in enumerate(topics) if any(word in dictionary.token2id for word in words)]
    values = np.full(len(topics), np.nan)
    with warnings.catch_warnings():  # "mean of empty slice" for a topic with one word in the corpus
        warnings.simplefilter("ignore", RuntimeWarning)
        values[kept] = CoherenceModel(topics=[topics[i] for i in kept], texts=tokens, dictionary=dictionary,
                                      coherence="c_npmi", topn=10, processes=1).get_coherence_per_topic()
    return values


def topic_words(model):
    return {topic: [word for word, _ in words if word] for topic, words in model.get_topics().items() if topic != -1}


def test_quality_of_a_fit_matches_its_topics_and_gensim(fitted):
    model, texts = fitted
    table = model.topic_quality(texts)
    words = topic_words(model)
    per_topic = table[table["topic_id"].notna()]
    assert per_topic["metric"].eq("npmi").all() and per_topic["topic_id"].tolist() == sorted(words)
    # BERTopic's evaluation: its cleaning, then the vectorizer's analyzer (BERTopic's default CountVectorizer)
    tokens = list(corpus_tokens(texts, CountVectorizer(), "english"))
    theirs = gensim_npmi(tokens, [words[topic] for topic in sorted(words)])
    np.testing.assert_allclose(per_topic["value"].to_numpy(), theirs, rtol=0, atol=1e-6)
    corpus = table[table["topic_id"].isna()].set_index("metric")["value"]
    # gensim's mean is NaN when a topic has fewer than two words (a 400-post fit has one: "was" and padding);
    # ours is the mean of the topics that have a value
    assert corpus["npmi"] == pytest.approx(np.nanmean(theirs), abs=1e-6)
    assert corpus["topics"] == len(words) == len(set(model.topics_) - {-1})
    assert corpus["outlier_share"] == pytest.approx(np.mean(np.array(model.topics_) == -1))
    distinct = {word for topic in words.values() for word in topic[:10]}
    assert corpus["diversity"] == pytest.approx(len(distinct) / (10 * len(words)))


def test_quality_follows_the_vectorizer_of_update_topics(fitted):
    model, texts = fitted
    model.update_topics(texts, vectorizer_model=CountVectorizer(stop_words="english"))
    try:
        words = topic_words(model)
        assert not {"the", "of", "and"} & {word for topic in words.values() for word in topic}
        # the words now come from stop-word-free tokens, and so do the windows NPMI counts
        tokens = list(corpus_tokens(texts, CountVectorizer(stop_words="english"), "english"))
        table = model.topic_quality(texts)
        per_topic = table[table["topic_id"].notna()]["value"].to_numpy()
        np.testing.assert_allclose(per_topic, gensim_npmi(tokens, [words[t] for t in sorted(words)]), rtol=0,
                                   atol=1e-6)
    finally:
        model.update_topics(texts, vectorizer_model=CountVectorizer())


def test_quality_needs_a_fit_and_the_fitted_documents(fitted):
    model, texts = fitted
    with pytest.raises(ModelArgumentError, match=f"{LIMIT} documents"):
        model.topic_quality(texts[:10])
    with pytest.raises(NotFittedError):
        Model().topic_quality(texts)
