"""Merge fitted topic models into one, as BERTopic's ``merge_models`` does.

The first model is the base. For every later model, each topic's embedding is
compared (cosine) with all topic embeddings merged so far: a topic whose best
similarity reaches ``min_similarity`` is the same topic as its best match, and
its documents take that id; a topic below it is new and is appended with the
next free id, its words, label, aspects and embedding. The later model's
outlier topic is never appended; its documents stay -1. Topic ids of the base
model do not change.

The merged model has no c-TF-IDF: each model fitted its own vocabulary and
idf, so their rows are not comparable and cannot be stacked (BERTopic's merged
model has none either). Custom labels are dropped, as in BERTopic.
"""

from __future__ import annotations

import copy
import numbers
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.metrics.pairwise import cosine_similarity

from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.model.serialization import SavedTopicModel


def merge_saved_models(models: Sequence[SavedTopicModel], min_similarity: float = 0.7) -> SavedTopicModel:
    """Combine fitted models; topics of later models that match no merged topic become new topics.

    Parameters
    ----------
    models : sequence of SavedTopicModel
        The first is the base whose topics keep their ids; later models add topics in order.
    min_similarity : float
        Cosine similarity between topic embeddings from which a later model's topic counts
        as the same as an existing one (BERTopic's default 0.7).

    Returns
    -------
    SavedTopicModel
        ``topics`` lists the base model's documents followed by each later model's, mapped to
        merged ids; ``topic_embeddings`` has shape (n_merged_topic_rows, embedding_dim).
        The inputs are not modified.

    Raises
    ------
    StageInputError
        No models, a model without topics, or topic embeddings of different widths.
    ParamsError
        ``min_similarity`` is not a number in [-1, 1].
    """
    _check(models, min_similarity)
    base = models[0]
    topics = list(base.topics)
    representations = copy.deepcopy(base.topic_representations)
    labels = dict(base.topic_labels)
    aspects = copy.deepcopy(base.topic_aspects)
    mapper = copy.deepcopy(base.topic_mapper)
    merged = np.asarray(base.topic_embeddings, dtype=np.float32)
    # BERTopic offsets matched rows by the base model's outlier flag, even after appending.
    base_offset = base.outliers
    for model in models[1:]:
        to_merged, new_rows, next_id = _map_topics(model, merged, max(topics), base_offset, min_similarity,
                                                   representations, labels, aspects)
        if new_rows:
            merged = np.vstack([merged, *new_rows])
        # The merged ids have no history to keep: every id, -1 included, maps to itself.
        mapper = [[topic, topic] for topic in range(-1, next_id + 1)]
        to_merged[-1] = -1
        topics.extend(to_merged[topic] for topic in model.topics)
    return SavedTopicModel(
        topics=topics,
        topic_sizes=dict(Counter(topics)) if len(models) > 1 else dict(base.topic_sizes),
        topic_representations=representations,
        topic_embeddings=merged,
        topic_labels=labels,
        topic_mapper=mapper,
        custom_labels=None,
        topic_aspects=aspects,
        config=copy.deepcopy(base.config),
        embedding_model=base.embedding_model,
    )


def _map_topics(
    model: SavedTopicModel, merged: np.ndarray, last_id: int, base_offset: int, min_similarity: float,
    representations: dict[int, list[tuple[str, float]]], labels: dict[int, str], aspects: dict[str, dict[int, object]],
) -> tuple[dict[int, int], list[np.ndarray], int]:
    """Map one later model's topics onto the merged ones; return the id map, the new embedding rows, the last id.

    A topic whose best cosine similarity with the ``merged`` embedding rows reaches ``min_similarity`` takes
    its match's id; the others get the ids after ``last_id`` in order, and their words, label and aspects are
    added to ``representations``, ``labels`` and ``aspects`` (the merge's own copies, never an input's).
    The later model's outlier topic is never added.
    """
    embeddings = np.asarray(model.topic_embeddings, dtype=np.float32)
    offset = model.outliers
    similarity = cosine_similarity(embeddings, merged)
    best_row, best = similarity.argmax(axis=1), similarity.max(axis=1)
    to_merged = {row - offset: int(match) - base_offset
                 for row, (match, value) in enumerate(zip(best_row, best, strict=True)) if value >= min_similarity}
    next_id = last_id
    new_rows = []
    for topic in sorted(int(row) - offset for row in np.flatnonzero(best < min_similarity)):
        if topic == -1:
            continue
        next_id += 1
        to_merged[topic] = next_id
        representations[next_id] = copy.deepcopy(model.topic_representations[topic])
        labels[next_id] = _relabel(model.topic_labels.get(topic), topic, next_id, representations[next_id])
        for aspect, values in model.topic_aspects.items():
            if topic in values:
                aspects.setdefault(aspect, {})[next_id] = copy.deepcopy(values[topic])
        new_rows.append(embeddings[topic + offset])
    return to_merged, new_rows, next_id


def _relabel(label: str | None, old: int, new: int, words: list[tuple[str, float]]) -> str:
    """Give a default label its new id; keep custom text (e.g. a zero-shot name) as it is."""
    if label is None:
        return f"{new}_" + "_".join(word for word, _ in words[:4])
    prefix = f"{old}_"
    return f"{new}_{label[len(prefix):]}" if label.startswith(prefix) else label


def _check(models: Sequence[SavedTopicModel], min_similarity: float) -> None:
    if len(models) == 0:
        raise StageInputError("merge_saved_models needs at least one model; got an empty list. Pass the fitted models.")
    if not isinstance(min_similarity, numbers.Real) or not -1.0 <= min_similarity <= 1.0:
        raise ParamsError(f"min_similarity must be a cosine similarity in [-1, 1]; got {min_similarity!r}. "
                          "BERTopic's default is 0.7.")
    widths = {np.shape(model.topic_embeddings)[-1] for model in models}
    if len(widths) != 1:
        raise StageInputError(f"All models must embed topics with the same model; got embedding widths "
                              f"{sorted(widths)}. Merge only models fitted with one embedding model.")
    for index, model in enumerate(models):
        if not model.topics:
            raise StageInputError(f"Model {index} has no documents (topics is empty); merge only fitted models.")
