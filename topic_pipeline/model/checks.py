"""Checks of what users pass to ``TopicModel``'s methods: one line naming the argument and the row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

import numpy as np
import pandas as pd

from topic_pipeline.errors import ModelArgumentError, ParamsError
from topic_pipeline.params import OutlierStrategy


def check_documents(documents: Any) -> list[str]:
    """A non-empty list of strings, or an error naming the first bad row."""
    if isinstance(documents, str) or not isinstance(documents, Sequence | np.ndarray | pd.Series):
        raise ModelArgumentError(f"documents must be a list of strings, got {type(documents).__name__}.")
    texts = list(documents)
    if not texts:
        raise ModelArgumentError("documents is empty; give at least one document.")
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            raise ModelArgumentError(f"documents[{row}] is {type(text).__name__} ({text!r:.40}), expected a string.")
    return texts


def check_embeddings(embeddings: Any, n_documents: int, dim: int | None = None) -> np.ndarray | None:
    """Float32 embeddings with one row per document (and the fitted dimension), or None."""
    if embeddings is None:
        return None
    array = np.asarray(embeddings, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] != n_documents:
        raise ModelArgumentError(
            f"embeddings must have one row per document: expected shape ({n_documents}, dim), got {array.shape}."
        )
    if dim is not None and array.shape[1] != dim:
        raise ModelArgumentError(f"embeddings have dimension {array.shape[1]} but the model was fitted on {dim}.")
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise ModelArgumentError(f"embeddings row {row} holds NaN or infinite values.")
    return np.ascontiguousarray(array)


def check_labels(y: Any, n_documents: int) -> np.ndarray | None:
    if y is None:
        return None
    labels = np.asarray(y)
    if labels.ndim != 1 or len(labels) != n_documents:
        raise ModelArgumentError(f"y must have one label per document ({n_documents}), got shape {labels.shape}.")
    return labels


def check_topics(topics: Any, n_documents: int) -> np.ndarray:
    array = np.asarray(topics)
    if array.ndim != 1 or len(array) != n_documents or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ModelArgumentError(f"topics must be one integer topic id per document ({n_documents}), "
                              f"got shape {array.shape}, dtype {array.dtype}.")
    return array.astype(np.int64)


def check_nr_topics(nr_topics: Any) -> int | str:
    """An int or ``"auto"`` (the range is checked where the topic count is known)."""
    if nr_topics == "auto" or (isinstance(nr_topics, int | np.integer) and not isinstance(nr_topics, bool)):
        return nr_topics if nr_topics == "auto" else int(nr_topics)
    raise ParamsError(f"nr_topics must be an int (topics to keep, -1 included) or 'auto', got {nr_topics!r}.")


def check_strategy(strategy: str) -> str:
    valid = get_args(OutlierStrategy)
    if strategy not in valid:
        raise ParamsError(f"Unknown outlier strategy {strategy!r}; valid strategies: {', '.join(valid)}.")
    return strategy


def check_topic_list(topics: Any, existing: list[int]) -> list[int]:
    """A list of existing topic ids (not -1), e.g. ``delete_topics``' argument."""
    values = [topics] if isinstance(topics, int | np.integer) else list(topics) if isinstance(topics, Sequence) else None
    if values is None or not all(isinstance(t, int | np.integer) and not isinstance(t, bool) for t in values):
        raise ModelArgumentError(f"Expected a list of topic ids, got {topics!r:.80}.")
    unknown = sorted({int(t) for t in values} - (set(existing) - {-1}))
    if unknown:
        raise ModelArgumentError(f"Topics {unknown} do not exist (or are -1); topics are {sorted(set(existing) - {-1})}.")
    return sorted({int(t) for t in values})
