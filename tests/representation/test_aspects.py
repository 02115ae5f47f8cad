"""Representation models (KeyBERTInspired, MMR, PartOfSpeech) against BERTopic 0.17.4.

Parity runs on 8 topics of the shared 2,000-post fit, so that only a few hundred
words are embedded. BERTopic's models are called through ``extract_topics`` with
the c-TF-IDF rows of those topics and all documents (its sampling of
representative documents draws from every topic). Both sides embed through one
cache, so they see identical vectors.
"""

from __future__ import annotations

import copy
import os
from dataclasses import replace
from pathlib import Path
from zlib import crc32

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import NEWSGROUPS_EMBEDDINGS

from benchmarks.parity import topic_id_mapping
from topic_pipeline.core.topic_words import MISSING_WORD, representative_documents, top_words
from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.pipeline.stage_outputs import CtfidfOutput, VectorizedBagsOutput
from topic_pipeline.representation.aspects import (
    AspectInputs,
    KeyBERTInspired,
    MaximalMarginalRelevance,
    PartOfSpeech,
    apply_chain,
    candidate_words,
    compute_aspects,
    parse_representation,
)


def subset_of(n_topics: int) -> list[int]:
    """Outliers, large, middle and the smallest topics of a fit with ``n_topics`` topics besides -1.

    The count depends on the CPU's UMAP rounding (75 where the suite was written, which gives
    -1, 0, 3, 9, 21, 40, 62, 74; 71 on another machine), so the small ones count from the end.
    """
    return [-1, 0, 3, 9, 21, 40, n_topics - 13, n_topics - 1]


class CachedEncoder:
    """all-MiniLM-L6-v2, each distinct text encoded once for the whole module."""

    def __init__(self, model) -> None:
        self.model, self.cache = model, {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.model.encode(missing, show_progress_bar=False), strict=True))
        return np.vstack([self.cache[t] for t in texts])


@pytest.fixture(scope="module")
def setup(fitted_slice):
    """Our inputs for ``subset_of`` the fit (``inputs.topic_ids``), and a BERTopic copy with the same encoder,
    its documents and candidates."""
    from bertopic.backend import BaseEmbedder

    from topic_pipeline.pipeline.embedding import load_sentence_model

    texts, ours, theirs = fitted_slice
    to_theirs = topic_id_mapping(ours, theirs)  # equal-sized topics may be numbered differently
    encoder = CachedEncoder(load_sentence_model("all-MiniLM-L6-v2"))
    bags = VectorizedBagsOutput(ours.model.current_dir("vectorized_bags"))
    weights = CtfidfOutput(ours.model.current_dir("ctfidf"))
    topic_ids = bags.topic_ids().tolist()
    subset = subset_of(len(topic_ids) - (-1 in topic_ids))
    vocabulary = bags.vocabulary()
    ctfidf = weights.weights()[[topic_ids.index(t) for t in subset]]
    inputs = AspectInputs(
        texts=texts, topics=ours.topics, topic_ids=np.array(subset), ctfidf=ctfidf, vocabulary=vocabulary,
        doc_term_counts=bags.doc_term_counts(),
        idf=weights.idf(),
        candidates=candidate_words(ctfidf, vocabulary, np.array(subset)), embed=encoder,
    )

    class Backend(BaseEmbedder):
        def embed(self, documents, verbose=False):
            return encoder(list(documents))

    model = copy.deepcopy(theirs.model)
    model.embedding_model = Backend()
    documents = pd.DataFrame({"Document": texts, "Topic": model.topics_, "ID": range(len(texts))})
    model.top_n_words = 30  # BERTopic's candidate words: its default representation, uncut
    candidates = model._extract_words_per_topic(model.vectorizer_model.get_feature_names_out(), documents)
    their_rows, their_subset = sorted(set(model.topics_)), sorted(to_theirs[t] for t in subset)
    reference = {
        "model": model, "documents": documents,
        "c_tf_idf": model.c_tf_idf_[[their_rows.index(t) for t in their_subset]],
        "their_candidates": {t: candidates[t] for t in their_subset}, "to_ours": {to_theirs[t]: t for t in subset},
        # BERTopic breaks ties in c-TF-IDF weight as numpy's argpartition happens to: both sides get our candidates
        "candidates": {to_theirs[t]: words for t, words in inputs.candidates.items()},
        "top10": {t: theirs.model.get_topic(to_theirs[t]) for t in subset},
    }
    return inputs, reference, encoder


def their_keybert(inputs, reference, **settings):
    """BERTopic's KeyBERTInspired, given our top c-TF-IDF words as its candidates (equal up to tied weights)."""
    from bertopic.representation import KeyBERTInspired as TheirKeyBERT

    rows = top_words(inputs.ctfidf, inputs.vocabulary, settings.get("nr_candidate_words", 100))
    to_theirs = {ours: theirs for theirs, ours in reference["to_ours"].items()}
    words = {to_theirs[int(t)]: tuple(w for w, _ in row) for t, row in zip(inputs.topic_ids, rows, strict=True)}

    class SameCandidates(TheirKeyBERT):
        def _extract_candidate_words(self, topic_model, c_tf_idf, topics):
            return words

    return SameCandidates(**settings)


def bertopic_chain(reference, chain, embeddings=None, candidates="candidates"):
    """Run BERTopic's models in order on the subset's candidates, as its list chains do; keys are our topic ids."""
    words = reference[candidates]
    for tuner in chain:
        extra = () if embeddings is None else (embeddings,)
        words = tuner.extract_topics(reference["model"], reference["documents"], reference["c_tf_idf"], words, *extra)
    return {reference["to_ours"][t]: w for t, w in words.items()}


def assert_same_words(ours, theirs, abs_tol=1e-6):
    assert sorted(ours) == sorted(theirs)
    for topic in theirs:
        assert [w for w, _ in ours[topic]] == [w for w, _ in theirs[topic]], topic
        assert [v for _, v in ours[topic]] == pytest.approx([float(v) for _, v in theirs[topic]], abs=abs_tol), topic


def assert_same_up_to_ties(ours, theirs):
    """Same weights position by position; the same words above the last weight (ties there are arbitrary)."""
    for topic in theirs:
        assert [v for _, v in ours[topic]] == pytest.approx([float(v) for _, v in theirs[topic]], abs=1e-12), topic
        cut = float(theirs[topic][-1][1]) + 1e-12
        assert {w for w, v in ours[topic] if v > cut} == {w for w, v in theirs[topic] if v > cut}, topic


def test_candidates_are_bertopics_top_words_up_to_ties(setup):
    from bertopic.representation import KeyBERTInspired as TheirKeyBERT

    inputs, reference, _ = setup
    assert_same_up_to_ties(inputs.candidates, bertopic_chain(reference, [], candidates="their_candidates"))
    # KeyBERTInspired's own 100 candidates (BERTopic returns words only: compare through our weights)
    theirs = TheirKeyBERT()._extract_candidate_words(reference["model"], reference["c_tf_idf"],
                                                     reference["their_candidates"])
    ours = dict(zip(inputs.topic_ids.tolist(), top_words(inputs.ctfidf, inputs.vocabulary, 100), strict=True))
    column = {w: i for i, w in enumerate(inputs.vocabulary)}
    weight = {t: inputs.ctfidf[i].toarray().ravel() for i, t in enumerate(inputs.topic_ids.tolist())}
    theirs = {reference["to_ours"][t]: words for t, words in theirs.items()}
    theirs = {t: [(w, weight[t][column[w]] if w else 1e-05) for w in words] for t, words in theirs.items()}
    assert_same_up_to_ties(ours, theirs)


def test_mmr_matches_bertopic(setup):
    from bertopic.representation import MaximalMarginalRelevance as TheirMMR

    inputs, reference, _ = setup
    ours = apply_chain([MaximalMarginalRelevance(diversity=0.3)], inputs)
    assert_same_words(ours, bertopic_chain(reference, [TheirMMR(diversity=0.3)]), abs_tol=0)
    # MMR keeps c-TF-IDF order and weights, but drops some of the plain top 10
    assert any([w for w, _ in ours[t]] != [w for w, _ in reference["top10"][t]] for t in inputs.topic_ids.tolist())
    assert all(all(v == inputs.candidates[t][[w for w, _ in inputs.candidates[t]].index(w)][1] for w, v in ours[t])
               for t in inputs.topic_ids.tolist())


def test_keybert_matches_bertopic_when_documents_are_embedded(setup):
    """BERTopic embeds the representative documents in update_topics and in chains: so do we without vectors."""

    inputs, reference, _ = setup
    theirs = bertopic_chain(reference, [their_keybert(inputs, reference)])
    ours = apply_chain([KeyBERTInspired()], inputs)
    # weights are cosines to a mean of 5 float32 vectors; BERTopic sums them in argpartition order
    assert_same_words(ours, theirs)
    assert all(len(ours[t]) == 10 and ours[t][0][1] > ours[t][-1][1] for t in inputs.topic_ids.tolist())


def test_keybert_with_precomputed_embeddings_averages_the_representative_documents(setup):
    """Deliberate difference: BERTopic averages the wrong rows of precomputed embeddings.

    ``KeyBERTInspired.extract_topics(..., embeddings)`` (used by ``fit`` when KeyBERTInspired is the
    only model) indexes the embeddings with positions in its flat list of representative documents,
    so topic i gets the mean of corpus rows i*5 .. i*5+4. We average the representative documents'
    own rows, which gives what BERTopic gets when it re-embeds them (update_topics, chains).
    """

    inputs, reference, _ = setup
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[: len(inputs.texts)].copy()
    with_vectors = replace(inputs, document_embeddings=embeddings)
    reembedded = bertopic_chain(reference, [their_keybert(inputs, reference)])
    assert_same_words(apply_chain([KeyBERTInspired()], with_vectors), reembedded, abs_tol=1e-5)

    theirs = bertopic_chain(reference, [their_keybert(inputs, reference)], embeddings=embeddings)
    rows = representative_documents(inputs.topics, inputs.topic_ids, inputs.doc_term_counts, inputs.ctfidf, inputs.idf,
                                    reduce_frequent_words=False, n_samples=500, n_docs=5)
    misindexed = np.zeros_like(embeddings)
    start = 0
    for topic in [reference["to_ours"][t] for t in sorted(reference["to_ours"])]:  # BERTopic's topic order
        # give the representative documents the rows BERTopic reads
        misindexed[rows[topic]] = embeddings[start : start + len(rows[topic])]
        start += len(rows[topic])
    assert_same_words(apply_chain([KeyBERTInspired()], replace(inputs, document_embeddings=misindexed)), theirs)
    ours = apply_chain([KeyBERTInspired()], with_vectors)
    assert any([w for w, _ in ours[t]] != [w for w, _ in theirs[t]] for t in inputs.topic_ids.tolist())


def test_chain_keybert_then_mmr_matches_bertopic(setup):
    from bertopic.representation import MaximalMarginalRelevance as TheirMMR

    inputs, reference, _ = setup
    theirs = bertopic_chain(reference, [their_keybert(inputs, reference), TheirMMR(diversity=0.3, top_n_words=5)])
    ours = apply_chain([KeyBERTInspired(), MaximalMarginalRelevance(diversity=0.3, top_n_words=5)], inputs)
    assert_same_words(ours, theirs)
    assert all(len(ours[t]) == 5 for t in inputs.topic_ids.tolist())  # MMR keeps 5 of KeyBERT's 10, with KeyBERT's cosines


def test_aspects_dict_gives_each_named_chain(setup):
    inputs, reference, _ = setup
    aspects = compute_aspects(
        {"Main": {"type": "MaximalMarginalRelevance", "diversity": 0.3}, "KeyBERT": KeyBERTInspired(), "Plain": None},
        inputs,
    )
    assert list(aspects) == ["Main", "KeyBERT", "Plain"]
    assert aspects["Main"] == apply_chain([MaximalMarginalRelevance(diversity=0.3)], inputs)
    assert aspects["KeyBERT"] == apply_chain([KeyBERTInspired()], inputs)
    assert_same_up_to_ties(aspects["Plain"], reference["top10"])  # no model: the c-TF-IDF top 10


def tiny_inputs(embed=None) -> AspectInputs:
    """Two topics of three documents over the words a, b, c (topic 0) and x, y (topic 1)."""
    vocabulary = np.array(["a", "b", "c", "x", "y"])
    counts = sp.csr_matrix(np.array([[3, 0, 0, 0, 0], [0, 2, 1, 0, 0], [1, 0, 1, 0, 0],
                                     [0, 0, 0, 1, 1], [0, 0, 0, 2, 0], [0, 0, 0, 0, 1]]))
    ctfidf = sp.csr_matrix(np.array([[0.5, 0.3, 0.2, 0.0, 0.0], [0.0, 0.0, 0.0, 0.6, 0.4]]))
    return AspectInputs(
        texts=["a a a", "b b c", "a c", "x y", "x x", "y"], topics=np.array([0, 0, 0, 1, 1, 1]),
        topic_ids=np.array([0, 1]), ctfidf=ctfidf, vocabulary=vocabulary, doc_term_counts=counts, idf=np.ones(5),
        candidates=candidate_words(ctfidf, vocabulary, np.array([0, 1])), top_n_words=2, embed=embed,
    )


def planted_embed(texts: list[str]) -> np.ndarray:
    """a and b point the same way, c elsewhere; any other text gets a fixed pseudo-random vector."""
    planted = {"a": [1.0, 0.0, 0.0], "b": [0.95, -0.05, 0.0], "c": [0.0, 1.0, 0.0], "a b c": [1.0, 0.3, 0.0]}
    return np.array([planted.get(t) or np.random.default_rng(crc32(t.encode())).normal(size=3) for t in texts])


@pytest.mark.parametrize(
    ("diversity", "expected"),
    [
        (0.0, ["a", "b"]),  # no diversity: the two words closest to "a b c"
        (0.9, ["a", "c"]),  # b repeats a, so c is taken instead
    ],
)
def test_mmr_diversity_on_planted_vectors(diversity, expected):
    words = apply_chain([MaximalMarginalRelevance(diversity=diversity, top_n_words=2)], tiny_inputs(planted_embed))
    assert words[0] == [(w, v) for w, v in tiny_inputs().candidates[0] if w in expected]  # c-TF-IDF order and weights


def test_short_candidate_lists_are_padded_not_ranked():
    """Deliberate difference: BERTopic's MMR fails with fewer words than top_n_words, and ranks "" slots."""
    inputs = tiny_inputs(planted_embed)
    mmr = apply_chain([MaximalMarginalRelevance(top_n_words=4)], inputs)
    assert mmr[1] == [("x", 0.6), ("y", 0.4), MISSING_WORD, MISSING_WORD]
    keybert = apply_chain([KeyBERTInspired(top_n_words=4)], inputs)
    assert sorted(w for w, _ in keybert[0][:3]) == ["a", "b", "c"] and keybert[0][3] == MISSING_WORD
    assert apply_chain([], inputs) == {0: [("a", 0.5), ("b", 0.3)], 1: [("x", 0.6), ("y", 0.4)]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {}),  # no representation model: only the default words
        (MaximalMarginalRelevance(diversity=0.3), {"Main": [MaximalMarginalRelevance(diversity=0.3)]}),
        ({"type": "PartOfSpeech", "model": "xx"}, {"Main": [PartOfSpeech("xx")]}),  # one spec from YAML
        ({"A": "KeyBERTInspired"}, {"A": [KeyBERTInspired()]}),  # a bare name: the defaults
        ([{"type": "KeyBERTInspired"}, {"type": "MaximalMarginalRelevance"}],
         {"Main": [KeyBERTInspired(), MaximalMarginalRelevance()]}),  # a chain
        ({"KeyBERT": KeyBERTInspired(top_n_words=5), "MMR": [{"type": "MaximalMarginalRelevance"}], "Plain": None},
         {"KeyBERT": [KeyBERTInspired(top_n_words=5)], "MMR": [MaximalMarginalRelevance()], "Plain": []}),  # aspects
    ],
)
def test_parse_representation_accepts_what_bertopic_accepts(value, expected):
    assert parse_representation(value) == expected
    assert parse_representation(parse_representation(value)) == expected  # idempotent


def test_bertopic_objects_are_refused_with_the_class_to_use():
    from bertopic.representation import MaximalMarginalRelevance as TheirMMR

    with pytest.raises(ParamsError, match=r"got bertopic\.representation\._mmr\.MaximalMarginalRelevance"):
        parse_representation({"A": [TheirMMR(diversity=0.5)]})


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"type": "TextGeneration"},
         ("unknown representation type 'TextGeneration'; expected one of KeyBERTInspired, MaximalMarginalRelevance, "
         "PartOfSpeech")),
        ({"KeyBERT": {"nr_repr_docs": 3}}, r"representation\['KeyBERT'\]: no 'type' key"),
        ({"type": "MaximalMarginalRelevance", "diversity": 2}, "diversity: Input should be less than or equal to 1"),
        ([{"type": "KeyBERTInspired", "top_n": 5}], r"representation\[0\] \(KeyBERTInspired\): top_n: Extra inputs"),
        (5, "expected a representation model .* got builtins.int"),
        ("KeyBERT", "unknown representation type 'KeyBERT'"),
    ],
)
def test_bad_representation_settings_raise_params_error(value, match):
    with pytest.raises(ParamsError, match=match):
        parse_representation(value)


def test_models_are_frozen_settings():
    with pytest.raises(Exception, match="frozen"):
        KeyBERTInspired().top_n_words = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("chain", "change", "match"),
    [
        ([MaximalMarginalRelevance()], {}, "MaximalMarginalRelevance .* needs an embedding model; got none"),
        ([KeyBERTInspired()], {}, "KeyBERTInspired .* needs an embedding model"),
        ([], {"topic_ids": np.array([0, 1, 2])}, r"ctfidf has shape \(2, 5\), expected \(len\(topic_ids\)=3"),
        ([], {"topics": np.array([0, 0, 0, 1, 1])}, "topics has 5 entries for 6 texts"),
        ([], {"document_embeddings": np.zeros((4, 3))}, "document_embeddings has 4 rows for 6 texts"),
        ([], {"topic_ids": np.array([1, 0])}, "topic_ids must be strictly ascending"),
        ([], {"candidates": {0: []}}, r"candidates has no words for topics \[1\]"),
        ([], {"topics": np.zeros(6, dtype=int)}, r"topics \[1\] have no documents"),
        ([KeyBERTInspired()], {"document_embeddings": np.zeros((6, 4)), "embed": planted_embed},
         r"document embeddings have 4 dimensions, embed\(\) gives 3"),
    ],
)
def test_bad_inputs_raise_stage_input_error(chain, change, match):
    with pytest.raises(StageInputError, match=match):
        apply_chain(chain, replace(tiny_inputs(), **change))


def test_embed_returning_the_wrong_rows_is_reported():
    with pytest.raises(StageInputError, match="embed\\(\\) must return one row per text"):
        apply_chain([MaximalMarginalRelevance()], tiny_inputs(lambda texts: np.zeros((1, 3))))


def test_part_of_speech_names_the_missing_model_and_the_install_command():
    with pytest.raises(StageInputError, match="xx_not_installed.*python -m spacy download xx_not_installed"):
        apply_chain([PartOfSpeech("xx_not_installed")], tiny_inputs())


def test_part_of_speech_matches_bertopic(setup):
    """Runs only with spaCy and a pipeline (en_core_web_sm, or a folder in $TOPIC_PIPELINE_SPACY_MODEL).

    Neither is a dependency. Equal c-TF-IDF weights are ordered by numpy's sort in BERTopic, by vocabulary here.
    """
    spacy = pytest.importorskip("spacy")
    model = os.environ.get("TOPIC_PIPELINE_SPACY_MODEL", "en_core_web_sm")
    if not (spacy.util.is_package(model) or Path(model).is_dir()):
        pytest.skip(f"spaCy model {model} is not installed")
    from bertopic.representation import PartOfSpeech as TheirPartOfSpeech

    inputs, reference, _ = setup
    theirs = bertopic_chain(reference, [TheirPartOfSpeech(model)])
    ours = apply_chain([PartOfSpeech(model)], inputs)
    for topic in inputs.topic_ids.tolist():  # same words up to the order of equal c-TF-IDF weights
        assert sorted(v for _, v in ours[topic]) == pytest.approx(sorted(float(v) for _, v in theirs[topic]), abs=1e-12)
        above = min(v for _, v in theirs[topic])
        assert {w for w, v in ours[topic] if v > above} == {w for w, v in theirs[topic] if v > above}
