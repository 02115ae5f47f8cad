"""BERTopic's small helper classes under our import: skip a step, or carry c-TF-IDF settings.

``BaseDimensionalityReduction`` keeps the embeddings as they are;
``BaseCluster`` makes the given labels (``fit_transform(docs, y=labels)``) the
topics (manual topic modeling); ``ClassTfidfTransformer`` holds the c-TF-IDF
options that become ``ctfidf`` params.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer


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


class OnlineCountVectorizer(CountVectorizer):
    """A ``CountVectorizer`` with BERTopic's online settings, for ``partial_fit`` with incremental models.

    ``decay`` (0..1) fades the per-topic word counts of earlier batches by
    ``1 - decay`` each batch; ``delete_min_df`` drops words whose total count
    fell below it.
    """

    def __init__(self, decay: float | None = None, delete_min_df: float | None = None, *, input="content",
                 encoding="utf-8", decode_error="strict", strip_accents=None, lowercase=True, preprocessor=None,
                 tokenizer=None, stop_words=None, token_pattern=r"(?u)\b\w\w+\b", ngram_range=(1, 1),
                 analyzer="word", max_df=1.0, min_df=1, max_features=None, vocabulary=None, binary=False,
                 dtype=np.int64) -> None:
        super().__init__(input=input, encoding=encoding, decode_error=decode_error, strip_accents=strip_accents,
                         lowercase=lowercase, preprocessor=preprocessor, tokenizer=tokenizer, stop_words=stop_words,
                         token_pattern=token_pattern, ngram_range=ngram_range, analyzer=analyzer, max_df=max_df,
                         min_df=min_df, max_features=max_features, vocabulary=vocabulary, binary=binary, dtype=dtype)
        self.decay = decay
        self.delete_min_df = delete_min_df
