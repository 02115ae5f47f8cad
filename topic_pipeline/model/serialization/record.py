"""The saved-model record and the names of the files that hold it (BERTopic's safetensors layout)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

Serialization = Literal["safetensors", "pickle", "pytorch"]

TOPICS_FILE = "topics.json"
CONFIG_FILE = "config.json"
EMBEDDINGS_FILE = "topic_embeddings.safetensors"
CTFIDF_FILE = "ctfidf.safetensors"
CTFIDF_CONFIG_FILE = "ctfidf_config.json"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".bin", ".pt", ".pth", ".joblib", ".ckpt")

# BERTopic's constructor arguments that config.json carries (those without "model" in the
# name), with BERTopic 0.17.4's defaults. BERTopic.load passes them to BERTopic(**config).
BERTOPIC_CONFIG_DEFAULTS: dict[str, Any] = {
    "calculate_probabilities": False, "language": "english", "low_memory": False, "min_topic_size": 10,
    "n_gram_range": (1, 1), "nr_topics": None, "seed_topic_list": None, "top_n_words": 10, "verbose": False,
    "zeroshot_min_similarity": 0.7, "zeroshot_topic_list": None,
}
# BERTopic.load reads exactly these two c-TF-IDF settings back; more keys are kept but unused.
CTFIDF_REQUIRED = ("bm25_weighting", "reduce_frequent_words")


@dataclass
class SavedTopicModel:
    """Everything the safetensors layout holds, with BERTopic's attribute meanings.

    Attributes
    ----------
    topics : list of int, length n_documents
        Topic of each training document (-1 = outlier).
    topic_sizes, topic_labels : dict of int to int, dict of int to str
        Documents per topic; default names (``"3_space_nasa_orbit_launch"``).
    topic_representations : dict of int to list of (str, float)
        Topic words with their weights, best first.
    topic_embeddings : ndarray of shape (n_topic_rows, embedding_dim), float32
        One row per topic in ascending id order, the -1 row first when present.
    topic_mapper : list of list of int, optional
        BERTopic's ``TopicMapper.mappings_`` (row = original topic, last column = current id).
        None (no renumbering) is written as each topic mapped to itself.
    custom_labels : list of str, optional
        User labels, one per topic in ascending id order.
    topic_aspects : dict of str to dict of int to list
        Extra representations per aspect name.
    ctfidf, idf, vocabulary : csr_matrix of shape (n_topic_rows, n_terms), ndarray of shape (n_terms,), list of str
        c-TF-IDF weights (rows like ``topic_embeddings``), fitted idf (seed boosts included)
        and the terms in column order; all three or none.
    vectorizer_params, ctfidf_params, config : dict
        ``CountVectorizer`` arguments, c-TF-IDF settings (``bm25_weighting``,
        ``reduce_frequent_words``; other keys are kept) and BERTopic hyperparameters by
        BERTopic's names. Missing vectorizer and config keys are written with the defaults.
    embedding_model : str, optional
        Name of the sentence-transformers model that embedded the documents.
    """

    topics: list[int]
    topic_sizes: dict[int, int]
    topic_representations: dict[int, list[tuple[str, float]]]
    topic_embeddings: np.ndarray
    topic_labels: dict[int, str]
    topic_mapper: list[list[int]] | None = None
    custom_labels: list[str] | None = None
    topic_aspects: dict[str, dict[int, Any]] = field(default_factory=dict)
    ctfidf: sp.csr_matrix | None = None
    idf: np.ndarray | None = None
    vocabulary: list[str] | None = None
    vectorizer_params: dict[str, Any] = field(default_factory=dict)
    ctfidf_params: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    embedding_model: str | None = None

    @property
    def outliers(self) -> int:
        """1 if the outlier topic -1 exists (its row comes first), else 0 (BERTopic's ``_outliers``)."""
        return 1 if -1 in self.topic_sizes else 0
