"""Representation models are open: the ``RepresentationModel`` protocol, a user's own classes (as objects
given to ``TopicModel`` and by class path in ``params.yaml``), and BERTopic's own representation objects.

The models of tests/custom_representation.py return words that follow exactly from their input, the
c-TF-IDF candidates, so every expectation is computed from a plain fit. Fits use 300 posts of at least
30 words (empty posts make topics without words), PCA + KMeans (no numba compile, no outliers) and
English stop words (so the candidates are words worth re-ranking).
"""

from __future__ import annotations

import copy
import json
import threading

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import CountVectorizer

from tests.custom_representation import LongWords, ReverseRanking
from topic_pipeline import TopicModel
from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.model.settings import representation_section
from topic_pipeline.params import load_params, parse_params
from topic_pipeline.params.representation import (
    ClassPathRepresentation,
    InProcessRepresentation,
    KeyBERTInspired,
    registered_representation,
)
from topic_pipeline.pipeline.runner import materialize_stage
from topic_pipeline.pipeline.stage_outputs import CtfidfOutput, VectorizedBagsOutput
from topic_pipeline.pipeline.stages import STAGES
from topic_pipeline.pipeline.store import StageStore
from topic_pipeline.pipeline.warehouse import query
from topic_pipeline.representation.aspects import candidate_words
from topic_pipeline.representation.building import build_model

N_POSTS = 300
CUSTOM = "tests.custom_representation"


def long_posts() -> tuple[pd.DataFrame, np.ndarray]:
    posts = pd.read_parquet(NEWSGROUPS).iloc[:1000]
    rows = np.flatnonzero(posts["text"].str.split().str.len().to_numpy() >= 30)[:N_POSTS]
    return posts.iloc[rows].reset_index(drop=True), np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[rows].copy()


def submodels() -> dict:
    return {"umap_model": PCA(5, random_state=0), "hdbscan_model": KMeans(6, random_state=0, n_init=3),
            "vectorizer_model": CountVectorizer(stop_words="english")}


def longest(words, min_chars, n=10):
    return [(w, v) for w, v in words if len(w) >= min_chars][:n]


def last_run_computed(store: StageStore, stage: str) -> bool:
    records = [json.loads(p.read_text()) for p in sorted(store.runs_dir.glob(f"*-{stage}-*.json"))]
    return records[-1]["computed"]


@pytest.fixture(scope="module")
def corpus():
    posts, embeddings = long_posts()
    return posts["text"].tolist(), embeddings


@pytest.fixture(scope="module")
def plain_fit(corpus, tmp_path_factory):
    """A fit without representation models; top_n_words=30, so its words are every chain's candidates."""
    texts, embeddings = corpus
    cache = tmp_path_factory.mktemp("protocol")
    model = TopicModel(top_n_words=30, cache_dir=cache, **submodels()).fit(texts, embeddings)
    assert len(set(model.topics_)) == 6 and all(len(model.topic_representations_[t]) == 30 for t in range(6))
    return model, cache


# --- acceptance 3: a user's class, from Python ------------------------------------------------------------
@pytest.mark.parametrize(
    ("representation_model", "expected"),
    [
        # one model replaces the main words
        (LongWords(min_chars=7), lambda c: ({t: longest(w, 7) for t, w in c.items()}, {})),
        # a chain: each model gets the previous one's words
        ([LongWords(min_chars=5), ReverseRanking(3)],
         lambda c: ({t: longest(w, 5)[:3][::-1] for t, w in c.items()}, {})),
        # a dict of aspects beside the unchanged main words; None = the plain words
        ({"Long": LongWords(min_chars=7), "Reversed": [ReverseRanking(4)], "Plain": None},
         lambda c: (c, {"Long": {t: longest(w, 7) for t, w in c.items()}, "Reversed": {t: w[:4][::-1] for t, w in c.items()},
                        "Plain": c})),
    ],
)
def test_own_models_from_python(corpus, plain_fit, representation_model, expected):
    texts, embeddings = corpus
    reference, cache = plain_fit
    model = TopicModel(top_n_words=30, cache_dir=cache, representation_model=representation_model, **submodels())
    model.fit(texts, embeddings)
    words, aspects = expected(reference.topic_representations_)
    assert model.topic_representations_ == words
    assert model.topic_aspects_ == aspects


def test_own_models_are_keyed_by_class_path_and_settings(corpus, plain_fit):
    texts, embeddings = corpus
    _, cache = plain_fit
    section = representation_section({"Long": [LongWords(min_chars=7), ReverseRanking(2)]})
    assert section == {"Long": [{"class_path": f"{CUSTOM}.LongWords", "params": {"min_chars": 7, "top_n_words": 10}},
                                {"class_path": f"{CUSTOM}.ReverseRanking", "params": {"top_n_words": 2}}]}
    for min_chars, computed in ((9, True), (9, False), (8, True)):  # same settings: the stored output
        model = TopicModel(top_n_words=30, cache_dir=cache, representation_model=LongWords(min_chars), **submodels())
        model.fit(texts, embeddings)
        assert last_run_computed(model.store_, "topic_representations") is computed, min_chars
        assert last_run_computed(model.store_, "clusters") is False


def test_update_topics_with_own_model(corpus, plain_fit):
    texts, embeddings = corpus
    reference, cache = plain_fit
    model = TopicModel(top_n_words=30, cache_dir=cache, **submodels()).fit(texts, embeddings)
    model.update_topics(texts, top_n_words=30, vectorizer_model=CountVectorizer(stop_words="english"),
                        representation_model=ReverseRanking(4))
    assert model.topic_representations_ == {t: w[:4][::-1] for t, w in reference.topic_representations_.items()}


class NoSettings:
    def represent(self, inputs, words):
        return words


class ChangesItsArgument(ReverseRanking):
    def __init__(self, top_n_words: int = 3) -> None:
        super().__init__(top_n_words * 2)


@pytest.mark.parametrize(
    ("representation_model", "match"),
    [
        (NoSettings(), "NoSettings has no settings to key the cache and rebuild it with: make it a dataclass"),
        (LongWords(min_chars=object()),
         f"the setting {CUSTOM}.LongWords.min_chars is a builtins.object; settings must be numbers, strings"),
        (ChangesItsArgument(2), r"ChangesItsArgument\(\*\*\{'top_n_words': 4\}\) has other settings than the object"),
        (object(), "expected a representation model .* got builtins.object"),
        (LongWords, "expected a representation model .* got builtins.type"),  # the class, not an object
    ],
)
def test_objects_that_cannot_key_the_cache_are_refused(representation_model, match):
    with pytest.raises(ParamsError, match=match) as refused:
        TopicModel(representation_model=representation_model).fit(["a b c"] * 3)
    assert "\n" not in str(refused.value)


# --- acceptance 3: a user's class, by class path in params.yaml ---------------------------------------------
def pipeline_params(tmp_path, aspects: dict, trusted: list[str] | None) -> dict:
    posts, embeddings = long_posts()
    corpus, vectors = tmp_path / "posts.parquet", tmp_path / "posts.npy"
    posts.to_parquet(corpus)
    np.save(vectors, embeddings)
    params = {"corpus": {"source": str(corpus), "inbox": None}, "embedding": {"precomputed": str(vectors)},
              "reduction": {"method": "pca", "n_components": 5}, "clustering": {"method": "kmeans", "n_clusters": 6},
              "vectorizer": {"stop_words": "english"}, "representation": {"aspects": aspects}}
    return params | ({"trust": {"trusted_modules": trusted}} if trusted is not None else {})


def test_own_models_by_class_path_land_in_topic_terms(tmp_path):
    aspects = {"A": [{"class_path": f"{CUSTOM}.WithLetter", "params": {"letter": "a", "top_n_words": 8}}],
               "Reversed": [{"class_path": f"{CUSTOM}.WithLetter"},
                            {"class_path": f"{CUSTOM}.ReverseRanking", "params": {"top_n_words": 3}}]}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(pipeline_params(tmp_path, aspects, [CUSTOM])))
    params, store = load_params(path), StageStore(tmp_path / "store")
    for name in STAGES:
        materialize_stage(name, params, store, run_id="protocol")
    bags = VectorizedBagsOutput(store.current_dir("vectorized_bags"))
    candidates = candidate_words(CtfidfOutput(store.current_dir("ctfidf")).weights(), bags.vocabulary(),
                                 bags.topic_ids())
    terms = query(store, "SELECT aspect, topic_id, rank, term, weight FROM topic_terms WHERE aspect <> 'Main' "
                         "ORDER BY aspect, topic_id, rank")
    found = {(a, int(t)): list(zip(g["term"], g["weight"], strict=True)) for (a, t), g in terms.groupby(["aspect", "topic_id"])}
    expected = {**{("A", t): [(w, v) for w, v in words if "a" in w][:8] for t, words in candidates.items()},
                **{("Reversed", t): [(w, v) for w, v in words if "e" in w][:3][::-1] for t, words in candidates.items()}}
    assert found == expected and len(found) == 12
    assert registered_representation(f"{CUSTOM}.WithLetter") is None  # imported by its path, not registered


@pytest.mark.parametrize(
    ("aspects", "trusted", "match"),
    [
        ({"Mine": [{"class_path": f"{CUSTOM}.WithLetter"}]}, None,
         rf"representation.aspects\['Mine'\]\[0\].class_path: '{CUSTOM}.WithLetter' is not an allowed estimator class"),
        ({"Mine": [{"class_path": "os.system"}]}, [CUSTOM], "'os.system' is not an allowed estimator class"),
        ({"Mine": {"class_path": f"{CUSTOM}._Hidden"}}, [CUSTOM], "names a private attribute"),
        ({"Mine": {"class_path": "LongWords"}}, [CUSTOM], "'LongWords' is not a dotted import path"),
        ({"Mine": {"class_path": f"{CUSTOM}.WithLetter", "param": {}}}, [CUSTOM], "param: Extra inputs are not permitted"),
    ],
)
def test_class_paths_outside_the_allow_list_are_refused(tmp_path, aspects, trusted, match):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(pipeline_params(tmp_path, aspects, trusted)))
    with pytest.raises(ParamsError, match=match) as refused:
        load_params(path)
    assert "\n" not in str(refused.value)


def test_run_config_cannot_name_an_untrusted_class():
    params = parse_params({"trust": {"trusted_modules": [CUSTOM]}})
    allowed = params.with_overrides("representation", {"aspects": {"L": {"class_path": f"{CUSTOM}.WithLetter"}}},
                                    origin="run config")
    assert allowed.representation.aspects == {"L": {"class_path": f"{CUSTOM}.WithLetter"}}
    with pytest.raises(ParamsError, match="run config: representation.aspects\\['L'\\]\\[0\\].class_path: 'os.system'"):
        params.with_overrides("representation", {"aspects": {"L": {"class_path": "os.system"}}}, origin="run config")


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        (ClassPathRepresentation(class_path=f"{CUSTOM}.dataclass"), ParamsError, "names a function, not a class"),
        (ClassPathRepresentation(class_path=f"{CUSTOM}.Missing"), ParamsError, "cannot be imported"),
        (ClassPathRepresentation(class_path=f"{CUSTOM}.ReverseRanking", params={"n_words": 3}), ParamsError,
         "refused its params"),
        (ClassPathRepresentation(class_path="collections.OrderedDict"), ParamsError, "not an allowed estimator class"),
        (InProcessRepresentation(in_process="somewhere.Else", settings={"n": 1}), StageInputError,
         "given to TopicModel as an object in another process"),
    ],
)
def test_models_are_built_only_from_allowed_classes_or_held_objects(spec, error, match):
    with pytest.raises(error, match=match):
        build_model(spec, [CUSTOM])


# --- acceptance 4: BERTopic's representation objects --------------------------------------------------------
bertopic = pytest.importorskip("bertopic")
from bertopic.representation import BaseRepresentation  # noqa: E402
from bertopic.representation import KeyBERTInspired as TheirKeyBERT  # noqa: E402
from bertopic.representation import MaximalMarginalRelevance as TheirMMR  # noqa: E402


class RepresentativeWords(BaseRepresentation):
    """The first ``n_words`` incoming words, reversed, weighted by how many of the topic's 3 representative
    documents contain them; reads what BERTopic's own models read from ``topic_model``."""

    def __init__(self, n_words: int = 5) -> None:
        self.n_words = n_words

    def extract_topics(self, topic_model, documents, c_tf_idf, topics):
        assert c_tf_idf.shape[0] == len(topics) == topic_model.c_tf_idf_.shape[0] and topic_model.top_n_words
        docs = topic_model._extract_representative_docs(c_tf_idf, documents, topics, 500, 3)[0]
        vocabulary = set(topic_model.vectorizer_model.get_feature_names_out())
        return {t: [(w, float(sum(w in d.lower() for d in docs[t]))) for w, _ in words[: self.n_words][::-1]
                    if w in vocabulary] for t, words in topics.items()}


class HoldsALock(RepresentativeWords):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        (TheirKeyBERT(), {"Main": [KeyBERTInspired().model_dump(mode="json")]}),
        ([TheirKeyBERT(top_n_words=7, nr_repr_docs=3), TheirMMR(diversity=0.3)],
         {"Main": [KeyBERTInspired(top_n_words=7, nr_repr_docs=3).model_dump(mode="json"),
                   {"type": "MaximalMarginalRelevance", "diversity": 0.3, "top_n_words": 10}]}),
        ({"MMR": TheirMMR(diversity=0.3, top_n_words=5), "Words": RepresentativeWords(4)},
         {"MMR": [{"type": "MaximalMarginalRelevance", "diversity": 0.3, "top_n_words": 5}],
          "Words": [{"in_process": f"{__name__}.RepresentativeWords", "settings": {"n_words": 4}}]}),
    ],
)
def test_bertopic_objects_become_settings(theirs, ours):
    assert representation_section(theirs) == ours


def test_bertopic_objects_that_cannot_key_the_cache_are_refused():
    with pytest.raises(ParamsError, match=r"HoldsALock.lock is a _thread.lock, which cannot key the cache"):
        representation_section(HoldsALock())
    with pytest.raises(ParamsError, match=r"diversity: Input should be less than or equal to 1"):
        representation_section(TheirMMR(diversity=2))


def bertopic_aspects() -> dict:
    return {"KeyBERT": TheirKeyBERT(), "MMR": TheirMMR(diversity=0.3), "Words": RepresentativeWords()}


@pytest.fixture(scope="module")
def both_fits(corpus, tmp_path_factory):
    """BERTopic and TopicModel fitted alike, with the same representation objects and embedding model."""
    from topic_pipeline.pipeline.embedding import load_sentence_model

    texts, embeddings = corpus
    encoder = load_sentence_model("all-MiniLM-L6-v2")
    theirs = bertopic.BERTopic(embedding_model=encoder, representation_model=bertopic_aspects(), **submodels())
    theirs.fit(texts, embeddings)
    ours = TopicModel(embedding_model=encoder, representation_model=bertopic_aspects(),
                      cache_dir=tmp_path_factory.mktemp("bertopic_objects"), **submodels()).fit(texts, embeddings)
    assert list(ours.topics_) == list(theirs.topics_)
    vocabulary = ours.vectorizer_model.get_feature_names_out()
    assert list(vocabulary) == list(theirs.vectorizer_model.get_feature_names_out())
    return texts, theirs, ours, candidate_words(ours.c_tf_idf_, vocabulary, np.arange(6))


def their_candidates(theirs, texts: list[str], n_words: int) -> dict[int, list]:
    """The c-TF-IDF words BERTopic's fit started its chains from (top n, its order of equal weights)."""
    documents = pd.DataFrame({"Document": texts, "Topic": theirs.topics_, "ID": range(len(texts))})
    top, theirs.top_n_words = theirs.top_n_words, n_words
    try:
        return theirs._extract_words_per_topic(theirs.vectorizer_model.get_feature_names_out(), documents,
                                               fine_tune_representation=False, calculate_aspects=False)
    finally:
        theirs.top_n_words = top


def assert_same_words(ours, theirs, abs_tol):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert [v for _, v in ours] == pytest.approx([float(v) for _, v in theirs], abs=abs_tol)


def test_bertopic_objects_give_bertopics_words_on_the_same_fit(both_fits):
    """BERTopic's objects give BERTopic's words on every topic of the same fit.

    Equal c-TF-IDF weights at and above the candidate cut (30 words, KeyBERT's 100) come in whatever order
    numpy's argpartition and argsort give; we make the same calls on the same layout, so the candidates,
    their order included, are BERTopic's (checked first). KeyBERT only needs the same set of candidates.
    """
    texts, theirs, ours, _ = both_fits
    vocabulary = ours.vectorizer_model.get_feature_names_out()
    theirs_ours = {n: (their_candidates(theirs, texts, n), candidate_words(ours.c_tf_idf_, vocabulary, np.arange(6), n))
                   for n in (30, 100)}
    in_order = {t for t, w in theirs_ours[30][0].items() if [x for x, _ in w] == [x for x, _ in theirs_ours[30][1][t]]}
    as_set = {t for t, w in theirs_ours[100][0].items() if {x for x, _ in w} == {x for x, _ in theirs_ours[100][1][t]}}
    compared = {"KeyBERT": as_set, "MMR": in_order, "Words": in_order}
    # our candidates come from the same numpy calls on the same c-TF-IDF layout (core.topic_words.top_words),
    # so they are BERTopic's on every topic, equal weights included
    assert all(topics == set(range(6)) for topics in compared.values()), compared
    for aspect, topics in compared.items():
        for topic in topics:  # KeyBERT: cosines of float32 vectors embedded in other batches
            assert_same_words(ours.topic_aspects_[aspect][topic], theirs.topic_aspects_[aspect][topic], abs_tol=1e-6)


def test_bertopic_objects_on_our_candidates_give_our_words(both_fits):
    texts, theirs, ours, candidates = both_fits

    class OurCandidates(TheirKeyBERT):  # BERTopic's KeyBERTInspired from our 100 c-TF-IDF candidates
        def _extract_candidate_words(self, topic_model, c_tf_idf, topics):
            ranked = candidate_words(ours.c_tf_idf_, ours.vectorizer_model.get_feature_names_out(), np.arange(6), 100)
            return {t: tuple(w for w, _ in ranked[t]) for t in topics}

    documents = pd.DataFrame({"Document": texts, "Topic": theirs.topics_, "ID": range(len(texts))})
    for aspect, model in {"KeyBERT": OurCandidates(), "MMR": TheirMMR(diversity=0.3), "Words": RepresentativeWords()
                          }.items():
        reference = model.extract_topics(theirs, documents, theirs.c_tf_idf_, candidates)
        for topic in range(6):
            assert_same_words(ours.topic_aspects_[aspect][topic], reference[topic], abs_tol=1e-6)
    assert ours.params_.representation.aspects["Words"] == [
        {"in_process": f"{__name__}.RepresentativeWords", "settings": {"n_words": 5}}]


def test_update_topics_with_a_bertopic_object(both_fits):
    texts, _, fitted, candidates = both_fits
    ours = copy.deepcopy(fitted)
    ours.update_topics(texts, vectorizer_model=CountVectorizer(stop_words="english"),
                       representation_model=RepresentativeWords(3))
    for topic, words in ours.topic_representations_.items():
        assert [w for w, _ in words] == [w for w, _ in candidates[topic][:3][::-1]]
        assert all(weight in (0.0, 1.0, 2.0, 3.0) for _, weight in words)
