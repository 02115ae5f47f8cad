"""Bags of words per topic, built the way BERTopic builds them.

BERTopic joins each topic's documents with a space, cleans the joined text and
fits ``CountVectorizer`` on those per-topic documents, so ``min_df``/``max_df``
count topics and an n-gram may span two joined documents. We do the same to
get the same vocabulary and counts. Per-document counts (used to rank
representative documents) come from the raw texts with that fitted vocabulary,
as BERTopic computes them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from topic_pipeline.errors import ParamsError, StageInputError
from topic_pipeline.params import VectorizerParams

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import CountVectorizer

_NON_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9 ]+")
EMPTY_DOCUMENT_TOKEN = "emptydoc"


@dataclass(frozen=True)
class TopicBags:
    """Term counts per topic and per document over one vocabulary.

    topic_ids : ndarray of shape (n_topics,), ascending (-1 first when present)
    vocabulary : ndarray of shape (n_terms,), the terms in column order
    topic_term_counts : csr_matrix of shape (n_topics, n_terms)
    doc_term_counts : csr_matrix of shape (n_documents, n_terms)
    """

    topic_ids: np.ndarray
    vocabulary: np.ndarray
    topic_term_counts: sp.csr_matrix
    doc_term_counts: sp.csr_matrix


def clean_for_bag_of_words(texts: list[str], language: str) -> list[str]:
    """BERTopic's cleaning: newlines and tabs to spaces; for English keep [A-Za-z0-9 ]; '' -> 'emptydoc'."""
    return [text if text != "" else EMPTY_DOCUMENT_TOKEN for text in clean_texts(texts, language)]


def clean_texts(texts: list[str], language: str) -> list[str]:
    """``clean_for_bag_of_words`` without the 'emptydoc' stand-in for a text that cleans to ''."""
    cleaned = [text.replace("\n", " ").replace("\t", " ") for text in texts]
    if language == "english":
        cleaned = [_NON_ALPHANUMERIC.sub("", text) for text in cleaned]
    return cleaned


def make_vectorizer(params: VectorizerParams) -> CountVectorizer:
    """The ``CountVectorizer`` the params describe (scikit-learn is imported here: a second to import)."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        ngram_range=tuple(params.ngram_range),
        stop_words=params.stop_words,
        min_df=params.min_df,
        max_df=params.max_df,
        max_features=params.max_features,
        lowercase=params.lowercase,
    )


def join_documents_per_topic(texts: list[str], topics: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """One space-joined document per topic, topics ascending, documents in corpus order."""
    topic_ids = np.unique(topics)
    joined = [" ".join(texts[i] for i in np.flatnonzero(topics == topic)) for topic in topic_ids]
    return topic_ids, joined


@contextlib.contextmanager
def vectorizer_errors(n_topics: int) -> Iterator[None]:
    """CountVectorizer's refusals as our errors: a setting's value (ParamsError), or no terms (StageInputError)."""
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        yield
    except InvalidParameterError as exc:  # a value CountVectorizer refuses (min_df=0, stop_words='french', ...)
        raise ParamsError(f"Invalid vectorizer settings: {exc} Fix the vectorizer section of the params.") from exc
    except ValueError as exc:
        raise StageInputError(
            f"The vectorizer found no terms in the {n_topics} topic(s) with these settings ({exc}). "
            "min_df and max_df count topics, not documents (each topic's documents are joined into one, as in "
            "BERTopic); relax vectorizer.min_df, max_df, stop_words or ngram_range."
        ) from exc


def check_vectorizer_params(params: VectorizerParams) -> None:
    """Raise CountVectorizer's own InvalidParameterError for a value it refuses, before anything is counted."""
    make_vectorizer(params)._validate_params()


def vectorize_topics(texts: list[str], topics: np.ndarray, params: VectorizerParams) -> TopicBags:
    """Fit the vocabulary on per-topic documents and count terms per topic and per document.

    Raises
    ------
    ParamsError
        CountVectorizer refuses a setting's value (e.g. ``min_df: 0``, ``stop_words: french``).
    StageInputError
        The vectorizer settings leave no terms (e.g. stop words remove everything).
    """
    topic_ids, joined = join_documents_per_topic(texts, np.asarray(topics))
    vectorizer = make_vectorizer(params)
    with vectorizer_errors(len(topic_ids)):
        topic_term_counts = vectorizer.fit_transform(clean_for_bag_of_words(joined, params.language))
    # fit_transform leaves each row's columns unsorted; BERTopic counts with transform (sorted), and the
    # c-TF-IDF's layout, hence the order of equal-weight words, follows this one
    topic_term_counts.sort_indices()
    doc_term_counts = vectorizer.transform(texts)
    return TopicBags(
        topic_ids=topic_ids.astype(np.int64),
        vocabulary=vectorizer.get_feature_names_out(),
        topic_term_counts=sp.csr_matrix(topic_term_counts, dtype=np.int64),
        doc_term_counts=sp.csr_matrix(doc_term_counts, dtype=np.int64),
    )
