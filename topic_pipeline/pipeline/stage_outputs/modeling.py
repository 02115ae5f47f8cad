"""The outputs of the topic model's steps: reduction, clusters, topic ids, bags of words, c-TF-IDF."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from topic_pipeline.core.document_terms import DocumentTerms
from topic_pipeline.core.term_sums import FittedBags
from topic_pipeline.core.vectorize import TopicBags
from topic_pipeline.pipeline import outputs
from topic_pipeline.pipeline.stage_outputs.base import (
    FittedModelOutput,
    StageOutput,
    read_optional_array,
    read_optional_table,
)


@dataclass(frozen=True)
class ReducedEmbeddingsOutput(FittedModelOutput):
    """``reduced_embeddings.parquet`` (doc_id, fitted, vector) and optionally the fitted reducer."""

    stage: ClassVar[str] = "reduced_embeddings"

    def write(self, doc_ids: pd.Series, reduced: np.ndarray, fitted: np.ndarray) -> None:
        """``fitted``: bool per document, whether it was part of the reducer's fit."""
        outputs.write_vectors(self.folder, "reduced_embeddings", doc_ids, reduced, fitted=pd.Series(fitted))

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        return outputs.read_table(self.folder, "reduced_embeddings", columns)

    def vectors(self) -> np.ndarray:
        """ndarray of shape (n_documents, n_components), float32."""
        return outputs.read_vectors(self.folder, "reduced_embeddings")


@dataclass(frozen=True)
class ClustersOutput(FittedModelOutput):
    """``clusters.parquet`` (doc_id, cluster, probability, fitted); optional membership, zero-shot topics, model."""

    stage: ClassVar[str] = "clusters"

    def write(self, table: pd.DataFrame, *, membership: np.ndarray | None = None,
              zeroshot: pd.DataFrame | None = None) -> None:
        """``membership``: ndarray of shape (n_documents, n_clusters); ``zeroshot``: topic_id, name, documents."""
        if membership is not None:
            outputs.write_array(self.folder, "membership", membership)
        outputs.write_table(self.folder, "clusters", table)
        if zeroshot is not None:
            outputs.write_table(self.folder, "zeroshot_topics", zeroshot)

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        return outputs.read_table(self.folder, "clusters", columns)

    def membership(self) -> np.ndarray | None:
        """HDBSCAN's soft memberships (memory-mapped), if ``calculate_probabilities`` kept them."""
        return read_optional_array(self, "membership")

    def zeroshot_topics(self) -> pd.DataFrame | None:
        """The zero-shot topics (topic_id, name, documents), if ``zeroshot_topic_list`` was given."""
        return read_optional_table(self, "zeroshot_topics")


@dataclass(frozen=True)
class AssignmentsOutput(StageOutput):
    """``topic_assignments.parquet`` and ``cluster_topics.parquet``; optional membership and zero-shot topics."""

    stage: ClassVar[str] = "topic_assignments"

    @property
    def table_file(self) -> Path:
        return outputs.table_path(self.folder, "topic_assignments")

    def write(self, table: pd.DataFrame, cluster_topics: Mapping[int, int], *, membership: np.ndarray | None = None,
              zeroshot: pd.DataFrame | None = None) -> None:
        """``table``: doc_id, topic_id, probability, cluster; ``cluster_topics``: raw cluster -> topic id."""
        if membership is not None:
            outputs.write_array(self.folder, "membership", membership)
        outputs.write_table(self.folder, "topic_assignments", table)
        outputs.write_table(self.folder, "cluster_topics", pd.DataFrame(
            {"cluster": list(cluster_topics), "topic_id": list(cluster_topics.values())}))
        if zeroshot is not None:
            outputs.write_table(self.folder, "zeroshot_topics", zeroshot)

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        return outputs.read_table(self.folder, "topic_assignments", columns)

    def cluster_topics(self) -> pd.DataFrame:
        """cluster -> topic_id, one row per raw cluster."""
        return outputs.read_table(self.folder, "cluster_topics")

    def membership(self) -> np.ndarray | None:
        """The soft memberships with columns in topic order (memory-mapped), if the clusters had them."""
        return read_optional_array(self, "membership")

    def zeroshot_topics(self) -> pd.DataFrame | None:
        """The zero-shot topics (topic_id, name, documents), if ``zeroshot_topic_list`` was given."""
        return read_optional_table(self, "zeroshot_topics")


def _terms(folder: Path, name: str) -> np.ndarray:
    """A stored vocabulary as an object array of str (the column order of its matrices)."""
    terms = pq.read_table(outputs.table_path(folder, name)).column("term").to_pylist()
    vocabulary = np.empty(len(terms), dtype=object)
    vocabulary[:] = terms
    return vocabulary


@dataclass(frozen=True)
class DocumentTermsOutput(StageOutput):
    """``doc_ids.parquet``, ``vocabulary.parquet``, ``cleaned_counts.npz`` and ``raw_counts.npz`` (int32,
    documents x terms), ``empty.npy``, ``ngram_range.npy`` and, for n-grams, ``edges.parquet`` (head, tail)."""

    stage: ClassVar[str] = "document_terms"

    def write(self, doc_ids: pd.Series, doc_hashes: pd.Series, terms: DocumentTerms) -> None:
        outputs.write_table(self.folder, "doc_ids", pd.DataFrame({"doc_id": doc_ids.astype(str).to_numpy(),
                                                                  "doc_hash": doc_hashes.astype(str).to_numpy()}))
        outputs.write_table(self.folder, "vocabulary",
                            pa.table({"term": pa.array(terms.vocabulary.tolist(), type=pa.string())}))
        outputs.write_sparse(self.folder, "cleaned_counts", terms.cleaned)
        outputs.write_sparse(self.folder, "raw_counts", terms.raw)
        outputs.write_array(self.folder, "empty", terms.empty)
        outputs.write_array(self.folder, "ngram_range", np.asarray(terms.ngram_range, dtype=np.int64))
        if terms.heads is not None and terms.tails is not None:
            outputs.write_table(self.folder, "edges", pa.table({"head": pa.array(terms.heads, pa.list_(pa.string())),
                                                              "tail": pa.array(terms.tails, pa.list_(pa.string()))}))

    def doc_ids(self) -> pd.Series:
        return outputs.read_table(self.folder, "doc_ids", ["doc_id"])["doc_id"]

    def rows_of(self, doc_ids: pd.Series, doc_hashes: pd.Series) -> np.ndarray:
        """Each given document's row here when its text is the same (doc_id and doc_hash), else -1."""
        stored = outputs.read_table(self.folder, "doc_ids")
        row = pd.Series(np.arange(len(stored)), index=pd.MultiIndex.from_arrays([stored["doc_id"], stored["doc_hash"]]))
        wanted = pd.MultiIndex.from_arrays([doc_ids.astype(str), doc_hashes.astype(str)])
        return row[~row.index.duplicated()].reindex(wanted).fillna(-1).to_numpy(dtype=np.int64)

    def read(self) -> DocumentTerms:
        low, high = (int(n) for n in outputs.read_array(self.folder, "ngram_range"))
        heads = tails = None
        if high > 1:
            edges = pq.read_table(outputs.table_path(self.folder, "edges"))
            heads, tails = ([tuple(row) for row in edges.column(name).to_pylist()] for name in ("head", "tail"))
        return DocumentTerms((low, high), _terms(self.folder, "vocabulary"), outputs.read_sparse(self.folder, "cleaned_counts"),
                             outputs.read_sparse(self.folder, "raw_counts"),
                             np.asarray(outputs.read_array(self.folder, "empty"), dtype=bool), heads, tails)


@dataclass(frozen=True)
class VectorizedBagsOutput(StageOutput):
    """``topic_ids.npy``, ``vocabulary.parquet``, ``topic_term_counts.npz``, ``doc_term_counts.npz``."""

    stage: ClassVar[str] = "vectorized_bags"

    def write(self, bags: TopicBags | FittedBags) -> None:
        """The bags; from ``fit_topic_bags`` also each term's column in the document terms."""
        if isinstance(bags, FittedBags):
            outputs.write_array(self.folder, "document_term_columns", bags.source_columns)
            bags = bags.bags
        outputs.write_array(self.folder, "topic_ids", bags.topic_ids)
        # a pyarrow string column straight from the terms: numpy's astype(str) would make a fixed-width array
        # as wide as the longest term (gigabytes for a bigram vocabulary with one long token)
        outputs.write_table(self.folder, "vocabulary",
                            pa.table({"term": pa.array([str(term) for term in bags.vocabulary], type=pa.string())}))
        outputs.write_sparse(self.folder, "topic_term_counts", bags.topic_term_counts)
        outputs.write_sparse(self.folder, "doc_term_counts", bags.doc_term_counts)

    def read(self) -> TopicBags:
        return TopicBags(topic_ids=self.topic_ids(), vocabulary=self.vocabulary(),
                         topic_term_counts=self.topic_term_counts(), doc_term_counts=self.doc_term_counts())

    def topic_ids(self) -> np.ndarray:
        """ndarray of shape (n_topics,), ascending (-1 first when present)."""
        return np.asarray(outputs.read_array(self.folder, "topic_ids"))

    def vocabulary(self) -> np.ndarray:
        """ndarray of shape (n_terms,): the terms in column order."""
        return _terms(self.folder, "vocabulary")

    def topic_term_counts(self) -> sp.csr_matrix:
        return outputs.read_sparse(self.folder, "topic_term_counts")

    def doc_term_counts(self) -> sp.csr_matrix:
        return outputs.read_sparse(self.folder, "doc_term_counts")

    def document_term_columns(self) -> np.ndarray:
        """Each term's column in the ``document_terms`` input (-1: a term found across joined documents only)."""
        return np.asarray(outputs.read_array(self.folder, "document_term_columns"))


@dataclass(frozen=True)
class CtfidfOutput(StageOutput):
    """``idf.npy`` and ``ctfidf.npz`` (topic x term weights, rows in topic_ids order)."""

    stage: ClassVar[str] = "ctfidf"

    def write(self, idf: np.ndarray, weights: sp.spmatrix) -> None:
        outputs.write_array(self.folder, "idf", idf)
        outputs.write_sparse(self.folder, "ctfidf", weights)

    def idf(self) -> np.ndarray:
        """ndarray of shape (n_terms,)."""
        return np.asarray(outputs.read_array(self.folder, "idf"))

    def weights(self) -> sp.csr_matrix:
        """csr_matrix of shape (n_topics, n_terms)."""
        return outputs.read_sparse(self.folder, "ctfidf")
