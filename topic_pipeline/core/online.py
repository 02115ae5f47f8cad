"""Online topic modeling: batches of documents through an incremental reducer and clusterer.

For ``TopicModel.partial_fit`` with a reducer and a clusterer that have
``partial_fit`` (e.g. ``IncrementalPCA`` and ``MiniBatchKMeans``), as in
BERTopic's online mode: each batch updates the models, clusters keep their
topic id across batches (a new cluster gets the next free id), and the bag of
words per topic accumulates over batches with a decay, so old words fade (BERTopic's
``OnlineCountVectorizer(decay=..., delete_min_df=...)``). No document is kept:
only the per-topic term counts, sizes and embedding sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.vectorize import clean_for_bag_of_words, join_documents_per_topic, make_vectorizer
from topic_pipeline.errors import StageInputError
from topic_pipeline.params import VectorizerParams


@dataclass(frozen=True)
class OnlineTopics:
    """What online topic modeling remembers between batches.

    vocabulary : tuple of str, the terms in column order (grows; rare terms may be dropped)
    topic_ids : ndarray of shape (n_topics,), ascending
    topic_term_counts : csr_matrix of shape (n_topics, n_terms), decayed counts
    topic_sizes : dict topic -> documents seen
    embedding_sums : ndarray of shape (n_topics, dim), to keep topic embeddings as running means
    cluster_to_topic : dict cluster label -> topic id
    """

    vocabulary: tuple[str, ...]
    topic_ids: np.ndarray
    topic_term_counts: sp.csr_matrix
    topic_sizes: dict[int, int]
    embedding_sums: np.ndarray
    cluster_to_topic: dict[int, int]

    @property
    def topic_embeddings(self) -> np.ndarray:
        sizes = np.array([self.topic_sizes[int(t)] for t in self.topic_ids], dtype=np.float64)
        return (self.embedding_sums / np.maximum(sizes, 1)[:, None]).astype(np.float32)


def map_clusters(previous: dict[int, int], labels: np.ndarray) -> dict[int, int]:
    """Known clusters keep their topic; new ones get the next ids in ascending label order."""
    mapping = dict(previous)
    next_id = max([t for t in mapping.values() if t != -1], default=-1) + 1
    for label in sorted(set(int(c) for c in labels) - set(mapping)):
        if label == -1:
            mapping[-1] = -1
        else:
            mapping[label] = next_id
            next_id += 1
    return mapping


def _batch_counts(texts: list[str], topics: np.ndarray, vocabulary: tuple[str, ...], params: VectorizerParams
                  ) -> tuple[np.ndarray, tuple[str, ...], sp.csr_matrix]:
    """Counts of this batch per topic over the old vocabulary plus the batch's new terms (appended)."""
    topic_ids, joined = join_documents_per_topic(texts, topics)
    cleaned = clean_for_bag_of_words(joined, params.language)
    batch_vectorizer = make_vectorizer(params.model_copy(update={"min_df": 1, "max_df": 1.0, "max_features": None}))
    try:
        batch_vectorizer.fit(cleaned)
    except ValueError as exc:
        raise StageInputError(f"This batch has no terms with these vectorizer settings ({exc}).") from exc
    known = set(vocabulary)
    grown = vocabulary + tuple(t for t in batch_vectorizer.get_feature_names_out() if t not in known)
    counting = make_vectorizer(params).set_params(vocabulary=list(grown), min_df=1, max_df=1.0, max_features=None)
    return topic_ids, grown, sp.csr_matrix(counting.transform(cleaned), dtype=np.float64)


def update_online(state: OnlineTopics | None, texts: list[str], embeddings: np.ndarray, labels: np.ndarray,
                  vectorizer: VectorizerParams, *, decay: float | None = None, delete_min_df: float | None = None
                  ) -> tuple[OnlineTopics, np.ndarray]:
    """Fold one clustered batch into the state; return the new state and the batch's topic ids.

    ``decay`` (0..1) multiplies the old counts by ``1 - decay`` before adding the batch's;
    ``delete_min_df`` drops terms whose total count fell below it.
    """
    if decay is not None and not 0 <= decay <= 1:
        raise StageInputError(f"decay must be between 0 and 1, got {decay}.")
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(texts) or len(embeddings) != len(texts):
        raise StageInputError(f"Expected one label and one embedding per document ({len(texts)}), "
                              f"got {len(labels)} labels and {len(embeddings)} embeddings.")
    mapping = map_clusters({} if state is None else state.cluster_to_topic, labels)
    topics = np.array([mapping[int(c)] for c in labels], dtype=np.int64)
    vocabulary = () if state is None else state.vocabulary
    batch_ids, grown, batch_counts = _batch_counts(texts, topics, vocabulary, vectorizer)
    all_ids = np.union1d(batch_ids, np.empty(0, dtype=np.int64) if state is None else state.topic_ids)
    counts = sp.lil_matrix((len(all_ids), len(grown)))
    sums = np.zeros((len(all_ids), embeddings.shape[1]))
    sizes = {} if state is None else dict(state.topic_sizes)
    row_of = {int(t): i for i, t in enumerate(all_ids)}
    if state is not None:
        old = state.topic_term_counts * (1 - decay if decay else 1.0)
        rows = [row_of[int(t)] for t in state.topic_ids]
        counts[rows, : old.shape[1]] = old
        sums[rows] = state.embedding_sums
    counts = counts.tocsr()
    place = sp.csr_matrix((np.ones(len(batch_ids)), ([row_of[int(t)] for t in batch_ids], np.arange(len(batch_ids)))),
                          shape=(len(all_ids), len(batch_ids)))
    counts = counts + place @ batch_counts
    for topic in batch_ids:
        members = topics == topic
        sums[row_of[int(topic)]] += embeddings[members].sum(axis=0)
        sizes[int(topic)] = sizes.get(int(topic), 0) + int(members.sum())
    if delete_min_df is not None:
        keep = np.flatnonzero(np.asarray(counts.sum(axis=0)).ravel() >= delete_min_df)
        counts, grown = counts[:, keep], tuple(grown[i] for i in keep)
    return OnlineTopics(tuple(grown), all_ids, sp.csr_matrix(counts), sizes, sums, mapping), topics
