"""Representation models that re-rank topic words ("aspects"), as in BERTopic 0.17.4.

Each model is a frozen pydantic class with BERTopic's name and defaults, so one object is a user-facing
constructor, a validated ``params.yaml`` entry (``{type: MaximalMarginalRelevance, diversity: 0.3}``) and a
cache key. Pure functions over an ``AspectInputs`` record do the work. As in BERTopic, a chain starts from the
top max(top_n_words, 30) c-TF-IDF words per topic and each model re-ranks the previous output, except
KeyBERTInspired, which always takes its ``nr_candidate_words`` candidates from the c-TF-IDF rows.
Where we differ on purpose:

- KeyBERTInspired with precomputed document embeddings averages the rows of the representative documents;
  BERTopic indexes the matrix with positions in its flat list of them (0, 1, 2, ...), i.e. the first
  documents of the corpus. ``random_state`` is used (BERTopic always samples with 42).
- Padding slots ("", weight) are not ranked as words but padded with ("", 1e-05) (BERTopic can return
  several "" or, in MMR, fail on short candidate lists).
- Without an embedding model KeyBERTInspired and MMR raise (BERTopic's MMR warns and changes nothing).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sklearn.metrics.pairwise import cosine_similarity

from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.representation import CANDIDATE_WORDS, MISSING_WORD, representative_documents, top_words

Words = list[tuple[str, float]]
Embed = Callable[[list[str]], np.ndarray]

MAIN_ASPECT = "Main"
POS_MISSING_WORD = ("", 0.0)  # BERTopic's PartOfSpeech pads with weight 0, not 1e-05
DEFAULT_POS_PATTERNS = [[{"POS": "ADJ"}, {"POS": "NOUN"}], [{"POS": "NOUN"}], [{"POS": "ADJ"}]]


class _Representation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyBERTInspired(_Representation):
    """Re-rank c-TF-IDF words by cosine to the mean embedding of representative documents.

    Representative documents: per topic, ``nr_samples`` documents drawn with replacement, ranked by
    c-TF-IDF cosine to the topic; the best ``nr_repr_docs`` are averaged. Weights become the cosines.
    """

    type: Literal["KeyBERTInspired"] = "KeyBERTInspired"
    top_n_words: int = Field(default=10, ge=1)
    nr_repr_docs: int = Field(default=5, ge=1)
    nr_samples: int = Field(default=500, ge=1)
    nr_candidate_words: int = Field(default=100, ge=1)
    random_state: int = 42


class MaximalMarginalRelevance(_Representation):
    """Keep ``top_n_words`` words that are relevant to the topic but not to each other.

    ``diversity`` 0 keeps the words closest to the embedding of all words joined; 1 favours words unlike
    those already chosen. The kept words keep their incoming order and weights (BERTopic's behaviour).
    """

    type: Literal["MaximalMarginalRelevance"] = "MaximalMarginalRelevance"
    diversity: float = Field(default=0.1, ge=0.0, le=1.0)
    top_n_words: int = Field(default=10, ge=1)


class PartOfSpeech(_Representation):
    """Keep words and phrases that match spaCy part-of-speech patterns, ranked by c-TF-IDF.

    ``model`` is a spaCy pipeline name or folder, positional as in BERTopic (which also takes a loaded
    ``Language``; a setting must be serialisable, so we take the name).
    """

    type: Literal["PartOfSpeech"] = "PartOfSpeech"
    model: str = "en_core_web_sm"
    top_n_words: int = Field(default=10, ge=1)
    pos_patterns: list[list[dict[str, Any]]] = Field(default_factory=lambda: deepcopy(DEFAULT_POS_PATTERNS),
                                                     min_length=1)

    def __init__(self, model: str = "en_core_web_sm", **data: Any) -> None:
        super().__init__(model=model, **data)


_MODEL_CLASSES = (KeyBERTInspired, MaximalMarginalRelevance, PartOfSpeech)
REPRESENTATION_TYPES: tuple[str, ...] = tuple(get_args(c.model_fields["type"].annotation)[0] for c in _MODEL_CLASSES)
RepresentationSpec = Annotated[KeyBERTInspired | MaximalMarginalRelevance | PartOfSpeech, Field(discriminator="type")]
_SPEC_ADAPTER: TypeAdapter[Any] = TypeAdapter(RepresentationSpec)


def parse_representation(value: Any) -> dict[str, list[RepresentationSpec]]:
    """Normalise what BERTopic accepts as ``representation_model`` to named chains.

    Parameters
    ----------
    value : None, a model, a list of models, or a dict name -> model | list | None
        Models: our classes, dicts with a ``type`` key (as YAML gives them) or bare type names.
        One model or a list is the ``Main`` chain.

    Returns
    -------
    dict of str to list of RepresentationSpec
        Aspect name -> chain, applied in order. An empty chain means the plain
        c-TF-IDF words; a ``Main`` entry replaces the main representation.

    Raises
    ------
    ParamsError
        An unknown ``type``, an unknown or invalid setting, or a value of the wrong kind.
    """
    if value is None:
        return {}
    if isinstance(value, Mapping) and not isinstance(value.get("type"), str):
        return {str(name): _parse_chain(chain, f"representation[{name!r}]") for name, chain in value.items()}
    return {MAIN_ASPECT: _parse_chain(value, "representation")}


def _parse_chain(value: Any, where: str) -> list[RepresentationSpec]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        return [_parse_one(value, where)]
    return [_parse_one(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _parse_one(item: Any, where: str) -> RepresentationSpec:
    if isinstance(item, _MODEL_CLASSES):
        return item
    item = {"type": item} if isinstance(item, str) else item  # a bare name in YAML: the defaults
    if not isinstance(item, Mapping):
        raise ParamsError(f"{where}: expected a representation model ({', '.join(REPRESENTATION_TYPES)}) from "
                          f"topic_pipeline.aspects, a dict with a 'type' key, or a list of them; got "
                          f"{type(item).__module__}.{type(item).__qualname__} (BERTopic's own objects: use ours).")
    kind = item.get("type")
    if kind not in REPRESENTATION_TYPES:
        got = "no 'type' key" if kind is None else f"unknown representation type {kind!r}"
        raise ParamsError(f"{where}: {got}; expected one of {', '.join(REPRESENTATION_TYPES)}. "
                          "Write e.g. {type: MaximalMarginalRelevance, diversity: 0.3}.")
    try:
        return _SPEC_ADAPTER.validate_python(dict(item))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'value'}: {e['msg']}" for e in exc.errors())
        raise ParamsError(f"{where} ({kind}): {problems}. Fix or remove these settings.") from exc


@dataclass(frozen=True)
class AspectInputs:
    """What the representation models read, for the topics in ``topic_ids``.

    texts : list of str, length n_documents, the raw documents
    topics : ndarray of shape (n_documents,), all take part in sampling (as in BERTopic)
    topic_ids : ndarray of shape (n_topics,), ascending, -1 first when present
    ctfidf : csr_matrix of shape (n_topics, n_terms), rows = topic_ids
    vocabulary : ndarray of shape (n_terms,)
    doc_term_counts : csr_matrix of shape (n_documents, n_terms), raw-text counts
    idf : ndarray of shape (n_terms,), the fitted idf
    candidates : topic id -> top max(top_n_words, 30) c-TF-IDF words, padded with ("", 1e-05)
    reduce_frequent_words : the c-TF-IDF setting (to weight documents like topics)
    top_n_words : words kept by an aspect that has no model
    embed : texts -> ndarray of shape (n_texts, dim); needed by KeyBERTInspired and MMR
    document_embeddings : ndarray of shape (n_documents, dim) of ``embed``'s model, or None (embed them)
    """

    texts: list[str]
    topics: np.ndarray
    topic_ids: np.ndarray
    ctfidf: sp.csr_matrix
    vocabulary: np.ndarray
    doc_term_counts: sp.csr_matrix
    idf: np.ndarray
    candidates: dict[int, Words]
    reduce_frequent_words: bool = False
    top_n_words: int = 10
    embed: Embed | None = None
    document_embeddings: np.ndarray | None = None


def candidate_words(ctfidf: sp.csr_matrix, vocabulary: np.ndarray, topic_ids: np.ndarray,
                    top_n_words: int = 10) -> dict[int, Words]:
    """The words every chain starts from: the top max(top_n_words, 30) c-TF-IDF terms per topic."""
    rows = top_words(ctfidf, vocabulary, max(top_n_words, CANDIDATE_WORDS))
    return {int(t): row for t, row in zip(topic_ids, rows, strict=True)}


def apply_chain(chain: list[RepresentationSpec], inputs: AspectInputs) -> dict[int, Words]:
    """Run representation models in order, each re-ranking the previous words.

    Parameters
    ----------
    chain : list of RepresentationSpec (or one model, or dicts with a ``type``)
    inputs : AspectInputs

    Returns
    -------
    dict of int to list of (str, float)
        Topic id -> words with weights, for every topic in ``inputs.topic_ids``.

    Raises
    ------
    ParamsError
        A model setting is invalid.
    StageInputError
        Inputs disagree in shape, a model needs ``embed`` and has none, or spaCy or its model is missing.
    """
    _check_inputs(inputs)
    return _run_chain(_parse_chain(chain, "representation"), inputs, _memoize(inputs.embed))


def compute_aspects(aspects: dict[str, list[RepresentationSpec]],
                    inputs: AspectInputs) -> dict[str, dict[int, Words]]:
    """Every named chain (BERTopic's ``topic_aspects_``, plus ``Main`` when configured).

    Word and document embeddings are computed once and shared by the chains.

    Returns
    -------
    dict of str to dict of int to list of (str, float)
        Aspect name -> topic id -> words with weights.

    Raises
    ------
    ParamsError, StageInputError
        As ``apply_chain``.
    """
    _check_inputs(inputs)
    embed = _memoize(inputs.embed)
    return {name: _run_chain(chain, inputs, embed) for name, chain in parse_representation(aspects).items()}


def _run_chain(chain: list[RepresentationSpec], inputs: AspectInputs, embed: Embed | None) -> dict[int, Words]:
    words = {int(t): list(inputs.candidates[int(t)]) for t in inputs.topic_ids}
    if not chain:
        return {t: w[: inputs.top_n_words] for t, w in words.items()}
    for spec in chain:
        if embed is None and not isinstance(spec, PartOfSpeech):
            raise StageInputError(f"{spec.type} compares word and document embeddings and needs an embedding model; "
                                  "got none. Pass embed= (e.g. a sentence-transformers encode) or drop this model.")
        if isinstance(spec, KeyBERTInspired):
            words = _keybert(spec, inputs, embed)
        elif isinstance(spec, MaximalMarginalRelevance):
            words = _maximal_marginal_relevance(spec, words, embed)
        else:
            words = _part_of_speech(spec, inputs, words)
    return words


def _keybert(spec: KeyBERTInspired, inputs: AspectInputs, embed: Embed) -> dict[int, Words]:
    ids = [int(t) for t in inputs.topic_ids]
    rows = representative_documents(
        inputs.topics, inputs.topic_ids, inputs.doc_term_counts, inputs.ctfidf, inputs.idf,
        reduce_frequent_words=inputs.reduce_frequent_words, n_samples=spec.nr_samples, n_docs=spec.nr_repr_docs,
        random_state=spec.random_state,
    )
    flat = [row for t in ids for row in rows[t]]
    if inputs.document_embeddings is None:  # one call for all topics, as BERTopic embeds its flat list
        vectors = embed([inputs.texts[r] for r in flat])
    else:
        vectors = np.asarray(inputs.document_embeddings[flat])
    bounds = np.cumsum([0] + [len(rows[t]) for t in ids])
    topic_vectors = np.vstack([vectors[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])
    top = top_words(inputs.ctfidf, inputs.vocabulary, spec.nr_candidate_words)
    candidates = [[w for w, _ in row if w] for row in top]
    vocab = sorted({w for row in candidates for w in row})
    word_vectors = embed(vocab) if vocab else np.zeros((0, topic_vectors.shape[1]))
    if word_vectors.shape[1] != topic_vectors.shape[1]:
        raise StageInputError(f"KeyBERTInspired: document embeddings have {topic_vectors.shape[1]} dimensions, "
                              f"embed() gives {word_vectors.shape[1]}. Pass vectors of embed's model, or None.")
    if not vocab:  # no topic has a candidate word (every document empty after cleaning)
        return {topic: _pad([], spec.top_n_words, MISSING_WORD) for topic in ids}
    similarity = cosine_similarity(topic_vectors, word_vectors)
    position = {w: i for i, w in enumerate(vocab)}
    result = {}
    for i, (topic, words) in enumerate(zip(ids, candidates, strict=True)):
        values = similarity[i, [position[w] for w in words]]
        best = np.argsort(-values, kind="stable")[: spec.top_n_words]
        result[topic] = _pad([(words[j], float(values[j])) for j in best], spec.top_n_words, MISSING_WORD)
    return result


def _maximal_marginal_relevance(spec: MaximalMarginalRelevance, words: dict[int, Words],
                                embed: Embed) -> dict[int, Words]:
    real = {t: list(dict.fromkeys(w for w, _ in ws if w)) for t, ws in words.items()}
    topics = [t for t in real if real[t]]
    result: dict[int, Words] = {t: [] for t in words}
    if topics:
        vocab = sorted({w for t in topics for w in real[t]})
        position = {w: i for i, w in enumerate(vocab)}
        word_vectors, topic_vectors = embed(vocab), embed([" ".join(real[t]) for t in topics])
        for i, topic in enumerate(topics):
            vectors = word_vectors[[position[w] for w in real[topic]]]
            keep = {real[topic][j] for j in _mmr_select(topic_vectors[i], vectors, spec.diversity, spec.top_n_words)}
            result[topic] = [(w, float(v)) for w, v in words[topic] if w in keep]
    return {t: _pad(ws, spec.top_n_words, MISSING_WORD) for t, ws in result.items()}


def _mmr_select(topic_vector: np.ndarray, word_vectors: np.ndarray, diversity: float, top_n: int) -> list[int]:
    """Indices of the chosen words, in the order MMR picks them."""
    relevance = cosine_similarity(word_vectors, topic_vector.reshape(1, -1)).ravel()
    similarity = cosine_similarity(word_vectors)
    chosen = [int(np.argmax(relevance))]
    remaining = [i for i in range(len(relevance)) if i != chosen[0]]
    for _ in range(min(top_n, len(relevance)) - 1):
        redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1)
        scores = (1 - diversity) * relevance[remaining] - diversity * redundancy
        chosen.append(remaining.pop(int(np.argmax(scores))))
    return chosen


def _part_of_speech(spec: PartOfSpeech, inputs: AspectInputs, words: dict[int, Words]) -> dict[int, Words]:
    nlp = _load_spacy(spec.model)
    from spacy.matcher import Matcher

    matcher = Matcher(nlp.vocab)
    try:
        matcher.add("Pattern", [list(pattern) for pattern in spec.pos_patterns])
    except ValueError as exc:
        raise ParamsError(f"PartOfSpeech.pos_patterns are not valid spaCy Matcher patterns: {str(exc)[:300]}") from exc
    column = {str(term): i for i, term in enumerate(inputs.vocabulary)}
    row_of = {int(t): i for i, t in enumerate(inputs.topic_ids)}
    result = {}
    for topic, topic_words in words.items():
        members = [inputs.texts[i] for i in np.flatnonzero(np.asarray(inputs.topics) == topic)]
        documents: list[str] = []
        for keyword, _ in topic_words:
            if keyword:  # BERTopic also searches for "" (a padding slot), which matches every document
                documents.extend([text for text in members if keyword in text][:2])
        found = set()
        for doc in nlp.pipe(list(dict.fromkeys(documents))):
            found.update(doc[start:end].text for _, start, end in matcher(doc))
        columns = sorted(column[w] for w in found if w in column)
        weights = inputs.ctfidf[row_of[topic]].toarray().ravel()[columns]
        # Highest c-TF-IDF first; ties in vocabulary order (BERTopic leaves them to numpy's sort).
        order = np.argsort(-weights, kind="stable")[: spec.top_n_words]
        ranked = [(str(inputs.vocabulary[columns[j]]), float(weights[j])) for j in order]
        result[topic] = _pad(ranked, spec.top_n_words, POS_MISSING_WORD)
    return result


@functools.lru_cache(maxsize=4)
def _load_spacy(name: str) -> Any:
    """Load a spaCy pipeline once per process (seconds each time otherwise)."""
    install = f"Install with: pip install spacy && python -m spacy download {name} (or give a model folder)."
    try:
        import spacy

        return spacy.load(name)
    except ImportError as exc:
        raise StageInputError(f"PartOfSpeech(model={name!r}) needs spaCy, which is not installed. {install}") from exc
    except OSError as exc:  # spaCy's "Can't find model ..."
        raise StageInputError(f"PartOfSpeech: the spaCy model {name!r} is not installed. {install}") from exc


def _pad(words: Words, n: int, missing: tuple[str, float]) -> Words:
    return words + [missing] * (n - len(words))


def _memoize(embed: Embed | None) -> Embed | None:
    """Embed each distinct text once per ``apply_chain``/``compute_aspects`` call."""
    if embed is None:
        return None
    cache: dict[str, np.ndarray] = {}

    def cached(texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            vectors = np.asarray(embed(missing))
            if vectors.ndim != 2 or len(vectors) != len(missing):
                raise StageInputError(f"embed() must return one row per text: asked for {len(missing)} texts, got "
                                      f"an array of shape {vectors.shape}. Check the embedding function.")
            cache.update(zip(missing, vectors, strict=True))
        return np.vstack([cache[t] for t in texts])

    return cached


def _check_inputs(inputs: AspectInputs) -> None:
    n_docs, n_terms, ids = len(inputs.texts), len(inputs.vocabulary), np.asarray(inputs.topic_ids)
    n_vectors = None if inputs.document_embeddings is None else len(inputs.document_embeddings)
    missing = [int(t) for t in ids if int(t) not in inputs.candidates]
    empty = sorted(set(ids.tolist()) - set(np.asarray(inputs.topics).tolist()))
    checks = [
        (len(inputs.topics) == n_docs, f"topics has {len(inputs.topics)} entries for {n_docs} texts"),
        (inputs.doc_term_counts.shape == (n_docs, n_terms),
         f"doc_term_counts has shape {inputs.doc_term_counts.shape}, expected ({n_docs}, {n_terms})"),
        (inputs.ctfidf.shape == (len(ids), n_terms),
         f"ctfidf has shape {inputs.ctfidf.shape}, expected (len(topic_ids)={len(ids)}, n_terms={n_terms})"),
        (len(inputs.idf) == n_terms, f"idf has {len(inputs.idf)} entries for {n_terms} terms"),
        (bool(np.all(np.diff(ids) > 0)), f"topic_ids must be strictly ascending, got {ids.tolist()[:10]}"),
        (n_vectors in (None, n_docs), f"document_embeddings has {n_vectors} rows for {n_docs} texts"),
        (not missing, f"candidates has no words for topics {missing[:10]}"),
        (not empty, f"topics {empty[:10]} have no documents"),
    ]
    if problems := [message for ok, message in checks if not ok]:
        raise StageInputError("Representation models got inconsistent inputs: " + "; ".join(problems) + ". Build "
                              "AspectInputs from one fitted model (ctfidf rows = topic_ids, one row per text).")
