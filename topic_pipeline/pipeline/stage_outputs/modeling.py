"""The outputs of the topic model's steps: reduction, clusters, topic ids, bags of words, c-TF-IDF."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

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


@dataclass(frozen=True)
class VectorizedBagsOutput(StageOutput):
    """``topic_ids.npy``, ``vocabulary.parquet``, ``topic_term_counts.npz``, ``doc_term_counts.npz``."""

    stage: ClassVar[str] = "vectorized_bags"

    def write(self, bags: TopicBags) -> None:
        outputs.write_array(self.folder, "topic_ids", bags.topic_ids)
        outputs.write_table(self.folder, "vocabulary", pd.DataFrame({"term": bags.vocabulary.astype(str)}))
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
        return outputs.read_table(self.folder, "vocabulary")["term"].to_numpy()

    def topic_term_counts(self) -> sp.csr_matrix:
        return outputs.read_sparse(self.folder, "topic_term_counts")

    def doc_term_counts(self) -> sp.csr_matrix:
        return outputs.read_sparse(self.folder, "doc_term_counts")


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
