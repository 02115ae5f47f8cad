"""The representation-model protocol: what a model reads, what it returns.

A representation model re-ranks (or replaces) the words of every topic. Models run in chains
(``representation.aspects``: aspect name -> list of models): the first model of a chain gets the top
max(top_n_words, 30) c-TF-IDF words per topic, each next model what the previous one returned, and the
last model's output is the aspect (``Main`` replaces the main representation).

Write one by implementing ``represent``; no base class is needed::

    @dataclass(frozen=True)
    class LongWords:
        min_chars: int = 6

        def represent(self, inputs: AspectInputs, words: dict[int, Words]) -> dict[int, Words]:
            return {t: [(w, v) for w, v in ws if len(w) >= self.min_chars] for t, ws in words.items()}

and use it as ``TopicModel(representation_model=LongWords(8))`` or, in ``params.yaml``, as
``{class_path: my_package.LongWords, params: {min_chars: 8}}`` with ``my_package`` listed in
``trust.trusted_modules``. The model is rebuilt as ``Class(**params)`` where it runs (a stage, maybe in
another process), so its settings must be its constructor arguments and JSON-like: ``TopicModel`` reads
them from a pydantic model's fields, a dataclass's init fields, or ``get_params()`` (scikit-learn style),
and refuses an object that has none of these. The settings and the class path are the cache key, so a
model must be deterministic given them (a change of its code is not seen: change a setting, e.g. a
``version`` field, to recompute).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from topic_pipeline.errors import RepresentationError
from topic_pipeline.params import VectorizerParams

Words = list[tuple[str, float]]
Embed = Callable[[list[str]], np.ndarray]


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
    embed : texts -> ndarray of shape (n_texts, dim); needed by KeyBERTInspired and MMR. Inside a chain
        it is cached: each distinct text is embedded once per fit, whichever model asks.
    document_embeddings : ndarray of shape (n_documents, dim) of ``embed``'s model, or None (embed them)
    vectorizer : the bag-of-words settings that made ``vocabulary`` (for BERTopic models, which call
        ``topic_model.vectorizer_model``); None means the defaults
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
    vectorizer: VectorizerParams | None = None


@runtime_checkable
class RepresentationModel(Protocol):
    """A representation model: one method, called once per fit for all topics of a chain step."""

    def represent(self, inputs: AspectInputs, words: dict[int, Words]) -> dict[int, Words]:
        """New words per topic.

        Parameters
        ----------
        inputs : AspectInputs
            The fitted topics: documents, assignments, c-TF-IDF rows, vocabulary, an embedding function.
            Read only: never change its arrays.
        words : dict of int to list of (str, float)
            Topic id -> words with weights, best first, for every id in ``inputs.topic_ids``: the
            c-TF-IDF candidates (top max(top_n_words, 30), padded with ("", 1e-05)) for the first model
            of a chain, else the previous model's output.

        Returns
        -------
        dict of int to list of (str, float)
            Topic id -> words with weights, best first, for every id in ``inputs.topic_ids`` (the
            same ids as ``words``). Lists may be of any length; words are stored as ``str``, weights as
            ``float``, in the ``topic_terms`` table under the aspect's name.

        Raises
        ------
        TopicPipelineError
            Ours pass through as they are; anything else a model raises is reported as a
            ``StageInputError`` naming the model.
        """
        ...


def require_embed(inputs: AspectInputs, model_name: str) -> Embed:
    """``inputs.embed``, or a StageInputError saying that ``model_name`` needs an embedding model."""
    if inputs.embed is None:
        raise RepresentationError(f"{model_name} compares word and document embeddings and needs an embedding model; "
                              "got none. Pass embed= (e.g. a sentence-transformers encode) or drop this model.")
    return inputs.embed


def pad(words: Words, n: int, missing: tuple[str, float]) -> Words:
    """``words`` filled up to ``n`` entries with ``missing`` (BERTopic's fixed-length word lists)."""
    return words + [missing] * (n - len(words))


def checked_output(output: Any, inputs: AspectInputs, name: str) -> dict[int, Words]:
    """A model's output as topic id -> [(str, float)], or a StageInputError naming the model."""
    if not hasattr(output, "items"):
        raise RepresentationError(f"Representation model {name} returned a {type(output).__name__}; expected a dict "
                              "of topic id -> list of (word, weight).")
    result: dict[int, Words] = {}
    try:
        for topic, words in output.items():
            result[int(topic)] = [(str(word), float(weight)) for word, weight in words]
    except (TypeError, ValueError) as exc:
        raise RepresentationError(f"Representation model {name} returned words that are not (word, weight) pairs "
                              f"({type(exc).__name__}: {exc}).") from exc
    missing = sorted(set(int(t) for t in inputs.topic_ids) - set(result))
    if missing:
        raise RepresentationError(f"Representation model {name} returned no words for topics {missing[:10]}; it must "
                              "return every topic it was given.")
    return {int(t): result[int(t)] for t in inputs.topic_ids}
