"""One typed record of a fitted topic model: what BERTopic's fitted attributes are views of.

A ``FittedTopicModel`` is built in exactly one way from each source: the stage
store's outputs after ``fit`` (``fitting.from_stage_outputs``), an in-memory
change of the topics such as ``reduce_topics`` (``fitting.after_change``), a
saved model (``saving.from_saved``) and the online state
(``online.from_online``). It is frozen: an operation that changes the topics
builds a new record, so a ``TopicModel`` never holds half of one change.
``TopicModel`` exposes it under BERTopic's names (``topics_``, ``c_tf_idf_``,
``topic_representations_`` ...); helpers take the record, never the model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.online import OnlineTopics
from topic_pipeline.core.topic_mapper import TopicMapper
from topic_pipeline.params import PipelineParams
from topic_pipeline.pipeline.store import StageStore
from topic_pipeline.representation.describe import TopicDescription

Words = list[tuple[str, float]]


@dataclass(frozen=True)
class OnlineModels:
    """What online ``partial_fit`` carries between batches: the decayed bags and the incremental models."""

    state: OnlineTopics
    reducer: Any
    clusterer: Any


@dataclass(frozen=True)
class FittedTopicModel:
    """A fitted topic model.

    params : the pipeline params it was fitted (or last described) with
    topics : ndarray of shape (n_documents,), int64, the topic of each training document (-1 = outlier)
    description : topic ids, sizes, words per aspect, names, representative rows, topic embeddings,
        vocabulary, c-TF-IDF and idf (the last three are None for a model saved without its c-TF-IDF)
    mapper_rows : BERTopic's ``TopicMapper.mappings_`` (one row per cluster as found, last column = topic now)
    representative_docs : topic id -> representative documents (texts), most representative first
    zeroshot_names : topic id -> the zero-shot name it took, for topics matched to a zero-shot topic
    custom_labels : one label per topic in ascending id order (``set_topic_labels``), or None
    probabilities : per document: a strength (n_documents,), a distribution (n_documents, n_topics) or None
    documents, embeddings : the training documents and their embeddings (None for a saved or online model)
    store : the stage store the fit ran in (None when not fitted through the pipeline)
    fitted_models : stage -> the stored fitted reducer/clusterer file, for ``transform``
    online : the online state when fitted by online ``partial_fit``
    """

    params: PipelineParams
    topics: np.ndarray
    description: TopicDescription
    mapper_rows: tuple[tuple[int | None, ...], ...]
    representative_docs: dict[int, list[str]]
    zeroshot_names: dict[int, str] = field(default_factory=dict)
    custom_labels: list[str] | None = None
    probabilities: np.ndarray | None = None
    documents: list[str] | None = None
    embeddings: np.ndarray | None = None
    store: StageStore | None = None
    fitted_models: dict[str, Path] = field(default_factory=dict)
    online: OnlineModels | None = None

    @property
    def topic_ids(self) -> list[int]:
        """The topics that exist, ascending (-1 first when there are outliers)."""
        return sorted(self.description.sizes)

    @property
    def labels(self) -> dict[int, str]:
        """Default topic labels; zero-shot topics are labelled by their zero-shot names (as BERTopic)."""
        return self.description.names | self.zeroshot_names

    @property
    def ctfidf(self) -> sp.csr_matrix | None:
        return self.description.ctfidf

    def mapper(self) -> TopicMapper:
        """A fresh ``TopicMapper`` over the rows (the record stays unchanged when it is extended)."""
        return TopicMapper.from_rows(self.mapper_rows)

    def replace(self, **changes: Any) -> FittedTopicModel:
        return dataclasses.replace(self, **changes)


def mapper_rows(mapper: TopicMapper) -> tuple[tuple[int | None, ...], ...]:
    return tuple(tuple(row) for row in mapper.mappings_)


def representative_texts(description: TopicDescription, texts: list[str] | None) -> dict[int, list[str]]:
    """The representative documents' texts (empty lists without the documents)."""
    if not texts:
        return {t: [] for t in description.sizes}
    return {t: [texts[r] for r in rows] for t, rows in description.representative_docs.items()}


def topic_embedding_rows(record: FittedTopicModel) -> list[int]:
    """The topic of each row of the topic embeddings: the topics with words, ascending.

    Usually that is every topic (-1 first). A model merged onto one without outliers counts -1's documents
    but has no -1 words or embedding; BERTopic still subtracts one from every prediction there, we do not.
    """
    return sorted(record.description.words)


def embedding_dim(record: FittedTopicModel | None) -> int | None:
    if record is None or record.description.topic_embeddings is None:
        return None
    return int(np.asarray(record.description.topic_embeddings).shape[1])
