"""Run chains of representation models ("aspects"), as BERTopic 0.17.4 does.

A chain starts from the top max(top_n_words, 30) c-TF-IDF words per topic and each model re-ranks the
previous output (``RepresentationModel.represent``, ``topic_pipeline.representation.base``); the built-in
models are ``keybert``, ``mmr`` and ``pos``, each with its own deliberate differences from BERTopic.
The settings classes and parsers are re-exported here for callers of the earlier single module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.topic_words import CANDIDATE_WORDS, top_words
from topic_pipeline.errors import RepresentationError, TopicPipelineError
from topic_pipeline.params.representation import (
    KeyBERTInspired,
    MaximalMarginalRelevance,
    PartOfSpeech,
    RepresentationSpec,
    parse_chain,
    parse_representation,
)
from topic_pipeline.representation.base import AspectInputs, Embed, RepresentationModel, Words, checked_output
from topic_pipeline.representation.building import build_model, spec_name

__all__ = ["AspectInputs", "Embed", "KeyBERTInspired", "MaximalMarginalRelevance", "PartOfSpeech", "Words", "apply_chain",
           "candidate_words", "compute_aspects", "parse_chain", "parse_representation", "run_model"]


def candidate_words(ctfidf: sp.csr_matrix, vocabulary: np.ndarray, topic_ids: np.ndarray,
                    top_n_words: int = 10) -> dict[int, Words]:
    """The words every chain starts from: the top max(top_n_words, 30) c-TF-IDF terms per topic."""
    rows = top_words(ctfidf, vocabulary, max(top_n_words, CANDIDATE_WORDS))
    return {int(t): row for t, row in zip(topic_ids, rows, strict=True)}


def apply_chain(chain: Any, inputs: AspectInputs, *, trusted_modules: Sequence[str] = ()) -> dict[int, Words]:
    """Run representation models in order, each re-ranking the previous words.

    Parameters
    ----------
    chain : list of RepresentationSpec (or one, or dicts with a ``type`` or ``class_path``)
    inputs : AspectInputs
    trusted_modules : modules whose classes a ``class_path`` may name (``trust.trusted_modules``)

    Returns
    -------
    dict of int to list of (str, float)
        Topic id -> words with weights, for every topic in ``inputs.topic_ids``.

    Raises
    ------
    ParamsError
        A model setting is invalid, or a class path is refused.
    StageInputError
        Inputs disagree in shape, a model needs ``embed`` and has none, spaCy or its model is missing,
        or a model failed.
    """
    _check_inputs(inputs)
    models = _built(parse_chain(chain, "representation"), trusted_modules)
    return _run_chain(models, _with_cached_embed(inputs))


def compute_aspects(aspects: Any, inputs: AspectInputs, *, trusted_modules: Sequence[str] = ()
                    ) -> dict[str, dict[int, Words]]:
    """Every named chain (BERTopic's ``topic_aspects_``, plus ``Main`` when configured).

    Every model is built before any runs; word and document embeddings are computed once and shared.

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
    chains = {name: _built(chain, trusted_modules) for name, chain in parse_representation(aspects).items()}
    inputs = _with_cached_embed(inputs)
    return {name: _run_chain(models, inputs) for name, models in chains.items()}


def _built(chain: list[RepresentationSpec], trusted_modules: Sequence[str]
           ) -> list[tuple[str, RepresentationModel]]:
    return [(spec_name(spec), build_model(spec, trusted_modules)) for spec in chain]


def _run_chain(models: list[tuple[str, RepresentationModel]], inputs: AspectInputs) -> dict[int, Words]:
    words = {int(t): list(inputs.candidates[int(t)]) for t in inputs.topic_ids}
    if not models:
        return {t: w[: inputs.top_n_words] for t, w in words.items()}
    for name, model in models:
        words = run_model(model, name, inputs, words)
    return words


def run_model(model: RepresentationModel, name: str, inputs: AspectInputs, words: dict[int, Words]
              ) -> dict[int, Words]:
    """One chain step: ``model.represent``, its output checked; a foreign exception becomes ours, named."""
    try:
        output = model.represent(inputs, words)
    except TopicPipelineError:
        raise
    except Exception as exc:
        message = " ".join(str(exc).split())[:300]
        raise RepresentationError(f"Representation model {name} failed: {type(exc).__name__}: {message}") from exc
    return checked_output(output, inputs, name)


def _with_cached_embed(inputs: AspectInputs) -> AspectInputs:
    """``inputs`` whose ``embed`` embeds each distinct text once (for all chains of one call)."""
    embed = inputs.embed
    if embed is None:
        return inputs
    cache: dict[str, np.ndarray] = {}

    def cached(texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            vectors = np.asarray(embed(missing))
            if vectors.ndim != 2 or len(vectors) != len(missing):
                raise RepresentationError(f"embed() must return one row per text: asked for {len(missing)} texts, got "
                                      f"an array of shape {vectors.shape}. Check the embedding function.")
            cache.update(zip(missing, vectors, strict=True))
        return np.vstack([cache[t] for t in texts])

    return dataclasses.replace(inputs, embed=cached)


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
        raise RepresentationError("Representation models got inconsistent inputs: " + "; ".join(problems) + ". Build "
                              "AspectInputs from one fitted model (ctfidf rows = topic_ids, one row per text).")

