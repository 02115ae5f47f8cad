"""BERTopic's small helper classes under our import: skip a step, or carry c-TF-IDF settings.

``BaseDimensionalityReduction`` keeps the embeddings as they are;
``BaseCluster`` makes the given labels (``fit_transform(docs, y=labels)``) the
topics (manual topic modeling); ``ClassTfidfTransformer`` holds the c-TF-IDF
options that become ``ctfidf`` params.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class BaseDimensionalityReduction:
    """No dimensionality reduction (``reduction.method: none``)."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> BaseDimensionalityReduction:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)


class BaseCluster:
    """No clustering: the labels given to ``fit`` are the topics (``clustering.method: labels``)."""

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> BaseCluster:
        if y is not None:
            self.labels_ = np.asarray(y)
        return self


@dataclass(frozen=True)
class ClassTfidfTransformer:
    """c-TF-IDF options (BERTopic's ``ClassTfidfTransformer`` arguments)."""

    bm25_weighting: bool = False
    reduce_frequent_words: bool = False
    seed_words: list[str] = field(default_factory=list)
    seed_multiplier: float = 2.0
