"""Bags of words summed from per-document counts equal the ones counted from joined texts, as BERTopic counts them."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS

from topic_pipeline.core.document_terms import count_document_terms, extend_document_terms
from topic_pipeline.core.term_sums import fit_topic_bags, group_term_counts
from topic_pipeline.core.vectorize import clean_for_bag_of_words, make_vectorizer, vectorize_topics
from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.params import VectorizerParams

# the awkward cases: texts that clean to "", one that is the word itself, one-token and punctuation-only texts
EDGE_TEXTS = ["", "   ", "emptydoc", "!!!", "a", "", "x y z w", "don't stop", "e-mail me\nnow"]
SETTINGS = [{}, {"ngram_range": (1, 2)}, {"ngram_range": (2, 3), "stop_words": "english"},
            {"min_df": 2, "max_features": 500}, {"language": "none", "ngram_range": (1, 3)},
            {"max_df": 0.5, "min_df": 0.05}, {"lowercase": False, "ngram_range": (1, 2)}]


@pytest.fixture(scope="module")
def texts_and_topics():
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].tolist()[:600] + EDGE_TEXTS
    topics = np.random.default_rng(0).integers(-1, 25, len(texts))
    topics[-9] = 99  # a topic of one empty document: BERTopic counts the word "emptydoc" for it
    topics[-6:-4] = 98  # two empty documents in one topic: no "emptydoc"
    return texts, topics


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
def test_topic_bags_equal_counting_joined_texts(texts_and_topics, settings):
    texts, topics = texts_and_topics
    params = VectorizerParams(**settings)
    expected = vectorize_topics(texts, topics, params)
    bags = fit_topic_bags(count_document_terms(texts, params), topics, params).bags
    assert bags.vocabulary.tolist() == expected.vocabulary.tolist()
    assert (bags.topic_term_counts != expected.topic_term_counts).nnz == 0
    assert np.array_equal(bags.topic_term_counts.indices, expected.topic_term_counts.indices)  # same layout
    assert (bags.doc_term_counts != expected.doc_term_counts).nnz == 0
    assert bags.topic_ids.tolist() == expected.topic_ids.tolist()
    if settings.get("ngram_range", (1, 1))[1] > 1:  # the case the sum alone gets wrong: n-grams across documents
        assert count_document_terms(texts, params).cleaned.sum() < expected.topic_term_counts.sum()


@pytest.mark.parametrize("settings", SETTINGS[:3], ids=str)
def test_group_counts_equal_transform_of_joined_texts(texts_and_topics, settings):
    texts, topics = texts_and_topics
    params = VectorizerParams(**settings)
    terms = count_document_terms(texts, params)
    fitted = fit_topic_bags(terms, topics, params)
    vocabulary = fitted.bags.vocabulary
    assert vocabulary.tolist() == vectorize_topics(texts, topics, params).vocabulary.tolist()
    groups = np.random.default_rng(1).integers(0, 12, len(texts))
    groups[-9] = 50  # alone in its group: "emptydoc" counted through the fitted vocabulary
    grouped = np.ones(len(texts), dtype=bool)
    grouped[::7] = False  # documents without a group are left out
    pairs = sorted(set(zip(groups[grouped].tolist(), topics[grouped].tolist(), strict=True)))
    code_of = {pair: code for code, pair in enumerate(pairs)}
    codes = np.array([code_of.get(pair, -1) for pair in zip(groups.tolist(), topics.tolist(), strict=True)])
    codes[~grouped] = -1
    joined = [" ".join(texts[i] for i in np.flatnonzero(codes == code)) for code in range(len(pairs))]
    vectorizer = make_vectorizer(params).set_params(vocabulary=vocabulary.tolist())
    expected = vectorizer.transform(clean_for_bag_of_words(joined, params.language))
    counts = group_term_counts(terms, codes, len(pairs), vocabulary, fitted.source_columns, params)
    assert (counts != expected).nnz == 0
    assert counts.sum() > 0


@pytest.mark.parametrize("settings", SETTINGS[:3], ids=str)
def test_counting_only_new_documents_equals_counting_all(texts_and_topics, settings):
    """Documents leave (their terms with them), arrive and change: the extension equals a fresh count."""
    texts, _ = texts_and_topics
    params = VectorizerParams(**settings)
    before = texts[:400]
    previous = count_document_terms(before, params)
    after = texts[150:] + ["a changed text", before[10]]
    row_of = {text: row for row, text in enumerate(before)}
    reused = np.array([row_of.get(text, -1) for text in after])
    assert (reused >= 0).sum() >= 251 and (reused < 0).sum() > 100
    extended, fresh = extend_document_terms(previous, reused, after, params), count_document_terms(after, params)
    assert extended.vocabulary.tolist() == fresh.vocabulary.tolist()
    for name in ("cleaned", "raw"):
        ours, expected = getattr(extended, name), getattr(fresh, name)
        assert (ours != expected).nnz == 0 and np.array_equal(ours.indices, expected.indices)
    assert np.array_equal(extended.empty, fresh.empty)
    assert (extended.heads, extended.tails) == (fresh.heads, fresh.tails)


def test_errors_are_countvectorizers(texts_and_topics):
    texts, topics = texts_and_topics
    terms = count_document_terms(texts, VectorizerParams())
    with pytest.raises(StageInputError, match="max_df corresponds to < documents than min_df"):
        fit_topic_bags(terms, topics, VectorizerParams(min_df=10_000))
    refused = VectorizerParams.model_construct(**{**VectorizerParams().model_dump(), "min_df": -3})  # past pydantic
    with pytest.raises(ParamsError, match="Invalid vectorizer settings"):
        fit_topic_bags(terms, topics, refused)
    only_stop_words = count_document_terms(["the and of", "is it"], VectorizerParams(stop_words="english"))
    with pytest.raises(StageInputError, match="empty vocabulary"):
        fit_topic_bags(only_stop_words, np.array([0, 1]), VectorizerParams(stop_words="english"))


_COMPILED_CACHE_PROBE = """
import json, sys, numpy as np
from topic_pipeline.core.compiled_cache import enable_compiled_cache
from topic_pipeline.core.reduction import fit_reducer
from topic_pipeline.params import ReductionParams
vectors = np.random.default_rng(0).normal(size=(4200, 8)).astype(np.float32)  # > 4096 rows: nn-descent, not exact
_, reduced = fit_reducer(vectors, ReductionParams())
import pynndescent.pynndescent_ as nnd
hits = sum(nnd.nn_descent.stats.cache_hits.values())
np.save(sys.argv[1], reduced)
print(json.dumps({"on": enable_compiled_cache(), "hits": hits}))
"""


def test_umap_loads_its_compiled_code_from_disk_and_gives_the_same_vectors(tmp_path):
    """The second process finds nn_descent in numba's cache (the first compiled and wrote it): identical vectors."""
    import json

    def probe(name, **env):
        import os

        out = subprocess.run([sys.executable, "-c", _COMPILED_CACHE_PROBE, str(tmp_path / name)], check=True,
                             capture_output=True, text=True, env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "nb"),
                                                                 **env})
        return json.loads(out.stdout.strip().splitlines()[-1]), np.load(tmp_path / f"{name}.npy")

    first, compiled = probe("first")
    assert first == {"on": True, "hits": 0}
    second, loaded = probe("second")
    assert second == {"on": True, "hits": 1}
    assert np.array_equal(loaded, compiled)
