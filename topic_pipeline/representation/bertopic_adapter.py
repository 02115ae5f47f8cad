"""Run a BERTopic ``BaseRepresentation`` (any object with ``extract_topics``) as a ``RepresentationModel``.

BERTopic calls ``model.extract_topics(topic_model, documents, c_tf_idf, topics)`` with itself as
``topic_model``. We pass a ``TopicModelView`` instead: a small object with what BERTopic 0.17.4's own
representation classes read from ``topic_model`` (listed there), computed from the ``AspectInputs``.
A model that reads anything else fails with an ``AttributeError``, reported with the model's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topic_pipeline.core.ctfidf import ctfidf_transform
from topic_pipeline.core.topic_words import representative_documents
from topic_pipeline.core.vectorize import make_vectorizer
from topic_pipeline.params import VectorizerParams
from topic_pipeline.representation.base import AspectInputs, Embed, Words, require_embed
from topic_pipeline.representation.mmr import mmr_select


@dataclass(frozen=True)
class BERTopicAdapter:
    """``RepresentationModel`` around an object with BERTopic's ``extract_topics``.

    ``documents`` is BERTopic's frame (``Document``, ``Topic``, ``ID``: one row per text, in order),
    ``c_tf_idf`` the rows of ``inputs.topic_ids`` (ascending, -1 first, as BERTopic's ``c_tf_idf_``)
    and ``topics`` the incoming words, keyed by topic id.
    """

    model: Any
    name: str

    def represent(self, inputs: AspectInputs, words: dict[int, Words]) -> dict[int, Words]:
        documents = pd.DataFrame({"Document": inputs.texts, "Topic": np.asarray(inputs.topics),
                                  "ID": range(len(inputs.texts))})
        topics = {int(t): list(words[int(t)]) for t in inputs.topic_ids}
        return self.model.extract_topics(TopicModelView(inputs, topics), documents, inputs.ctfidf, topics)


class TopicModelView:
    """What a ``BaseRepresentation`` may call on ``topic_model``.

    Attributes: ``top_n_words``, ``verbose`` (False), ``c_tf_idf_`` (rows = topic ids ascending, -1
    first), ``_outliers`` (1 when -1 is a topic), ``topic_representations_`` (the incoming words: what
    ``BaseRepresentation.extract_topics`` itself returns), ``vectorizer_model`` (a ``CountVectorizer`` on the
    fitted vocabulary), ``ctfidf_model`` (``transform`` weighs document counts with the fitted idf),
    ``embedding_model`` (``embed``, ``embed_documents``, ``embed_words``; None without an embedding model).
    Methods: ``_extract_embeddings``, ``_extract_representative_docs``, ``_top_n_idx_sparse``,
    ``_top_n_values_sparse``, with BERTopic's signatures.
    """

    def __init__(self, inputs: AspectInputs, words: dict[int, Words]) -> None:
        self._inputs = inputs
        self.topic_representations_ = words
        self.top_n_words = inputs.top_n_words
        self.verbose = False
        self.c_tf_idf_ = inputs.ctfidf
        self._outliers = int(-1 in set(np.asarray(inputs.topic_ids).tolist()))

    @property
    def vectorizer_model(self) -> Any:
        settings = self._inputs.vectorizer or VectorizerParams()
        return make_vectorizer(settings).set_params(vocabulary=[str(t) for t in self._inputs.vocabulary])

    @property
    def ctfidf_model(self) -> _DocumentWeights:
        return _DocumentWeights(self._inputs.idf, self._inputs.reduce_frequent_words)

    @property
    def embedding_model(self) -> _Embedder | None:
        return None if self._inputs.embed is None else _Embedder(self._inputs.embed)

    def _extract_embeddings(self, documents: list[str] | str, images: Any = None, method: str = "document",
                            verbose: bool | None = None) -> np.ndarray:
        texts = [documents] if isinstance(documents, str) else list(documents)
        return np.asarray(require_embed(self._inputs, "This representation model")(texts))

    def _extract_representative_docs(self, c_tf_idf: sp.csr_matrix, documents: pd.DataFrame, topics: dict,
                                     nr_samples: int = 500, nr_repr_docs: int = 5, diversity: float | None = None
                                     ) -> tuple[dict[int, list[str]], list[str], list[list[int]], list[list[int]]]:
        """BERTopic's four values: topic -> texts, all texts flat, their positions per topic, their rows.

        ``c_tf_idf`` rows follow the sorted keys of ``topics``; documents are those of the fit (the frame
        passed in must be the one ``extract_topics`` got). Most representative first (BERTopic keeps
        ``argpartition`` order); with ``diversity``, in the order MMR picks them.
        """
        inputs, labels = self._inputs, sorted(int(t) for t in topics)
        n_docs = nr_samples if diversity else nr_repr_docs
        chosen = representative_documents(inputs.topics, np.array(labels), inputs.doc_term_counts, c_tf_idf,
                                          inputs.idf, reduce_frequent_words=inputs.reduce_frequent_words,
                                          n_samples=nr_samples, n_docs=n_docs)
        if diversity:
            chosen = {t: self._diverse(rows, c_tf_idf[[i]], diversity, nr_repr_docs)
                      for i, (t, rows) in enumerate(chosen.items())}
        texts = [str(t) for t in documents["Document"]]
        mapping = {t: [texts[r] for r in chosen[t]] for t in labels}
        flat = [text for t in labels for text in mapping[t]]
        bounds = np.cumsum([0] + [len(chosen[t]) for t in labels])
        positions = [list(range(a, b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return mapping, flat, positions, [list(chosen[t]) for t in labels]

    def _diverse(self, rows: list[int], topic_row: sp.csr_matrix, diversity: float, n: int) -> list[int]:
        if not rows:
            return []
        inputs = self._inputs
        weights = ctfidf_transform(inputs.doc_term_counts[rows], inputs.idf,
                                   reduce_frequent_words=inputs.reduce_frequent_words)
        return [rows[i] for i in mmr_select(topic_row, weights, diversity, n)]

    @staticmethod
    def _top_n_idx_sparse(matrix: sp.csr_matrix, n: int) -> np.ndarray:
        """Per row, the columns of its ``n`` largest stored values (ascending by value), then None."""
        matrix = sp.csr_matrix(matrix)
        rows = []
        for start, end in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True):
            order = np.argsort(matrix.data[start:end], kind="stable")[-n:] if end > start else []
            columns: list[Any] = [int(matrix.indices[start + i]) for i in order]
            rows.append(columns + [None] * (n - len(columns)))
        return np.array(rows, dtype=object)

    @staticmethod
    def _top_n_values_sparse(matrix: sp.csr_matrix, indices: np.ndarray) -> np.ndarray:
        """The values at ``indices`` (from ``_top_n_idx_sparse``), 0 where the index is None."""
        matrix = sp.csr_matrix(matrix)
        return np.array([[matrix[row, column] if column is not None else 0 for column in columns]
                         for row, columns in enumerate(indices)])


@dataclass(frozen=True)
class _DocumentWeights:
    """BERTopic's ``ctfidf_model.transform``: document term counts weighted like topics."""

    idf: np.ndarray
    reduce_frequent_words: bool

    def transform(self, counts: sp.spmatrix) -> sp.csr_matrix:
        return ctfidf_transform(sp.csr_matrix(counts), self.idf, reduce_frequent_words=self.reduce_frequent_words)


@dataclass(frozen=True)
class _Embedder:
    """BERTopic's ``BaseEmbedder`` methods over the chain's embedding function."""

    embed_function: Embed

    def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
        return np.asarray(self.embed_function(list(documents)))

    def embed_documents(self, document: list[str], verbose: bool = False) -> np.ndarray:
        return self.embed(document)

    def embed_words(self, words: list[str], verbose: bool = False) -> np.ndarray:
        return self.embed(words)

