"""What the figure mixins of ``TopicModel`` read from a fitted model, in one place for all of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from topic_pipeline.errors import ModelArgumentError
from topic_pipeline.model.fitted import FittedTopicModel, topic_embedding_rows

Words = list[tuple[str, float]]


def aspect_words(aspects: Mapping[str, dict[int, Words]], name: str) -> dict[int, Words]:
    """The words of aspect ``name`` per topic (``custom_labels="<aspect>"``); a clear error for another name."""
    if name not in aspects:
        raise ModelArgumentError(f"custom_labels={name!r} is not an aspect of this model; it has: "
                                 f"{', '.join(aspects) or 'none'}.")
    return aspects[name]


def figure_vectors(record: FittedTopicModel, use_ctfidf: bool) -> tuple[Any, list[int], bool]:
    """c-TF-IDF rows or topic embeddings, the topic of each row, and whether they are c-TF-IDF.

    The other one stands in when the asked one is missing, as BERTopic's ``select_topic_representation``.
    """
    ctfidf, embeddings = record.description.ctfidf, record.description.topic_embeddings
    if ctfidf is None and embeddings is None:
        raise ModelArgumentError("This model has neither c-TF-IDF nor topic embeddings to compare topics by.")
    if (use_ctfidf and ctfidf is not None) or embeddings is None:
        return ctfidf, [int(t) for t in record.description.topic_ids], True
    return np.asarray(embeddings), topic_embedding_rows(record), False
