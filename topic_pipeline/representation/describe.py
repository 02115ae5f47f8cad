"""The fitted description of a topic model, read from the stage store or recomputed in memory.

``TopicModel``'s post-fit operations (``update_topics``, ``merge_topics``,
``reduce_topics``, outlier reassignment) change the topic of some documents and
then describe the topics again: bag of words, c-TF-IDF, top words, aspects,
representative documents and topic embeddings. ``describe_topics`` does that
with the same functions the ``vectorized_bags``, ``ctfidf`` and
``topic_representations`` stages call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.ctfidf import ctfidf_weights
from topic_pipeline.core.outliers import outlier_ctfidf, outlier_distributions, reduce_outliers
from topic_pipeline.core.topic_ids import topic_embeddings, topic_sizes
from topic_pipeline.core.topic_reduction import reduce_automatically, reduce_to_n_topics
from topic_pipeline.core.topic_words import CANDIDATE_WORDS, representative_documents, top_words, topic_name
from topic_pipeline.core.vectorize import TopicBags, make_vectorizer, vectorize_topics
from topic_pipeline.errors import StageInputError
from topic_pipeline.params import CtfidfParams, GuidanceParams, RepresentationParams, VectorizerParams
from topic_pipeline.params.representation import MAIN_ASPECT
from topic_pipeline.representation.aspects import AspectInputs, compute_aspects

Words = list[tuple[str, float]]


@dataclass(frozen=True)
class TopicDescription:
    """Everything that describes the topics of one assignment of documents to topics.

    topic_ids : ndarray of shape (n_topics,), ascending, -1 first when present
    bags : vocabulary and term counts per topic and per document (None: a model saved without c-TF-IDF)
    idf : ndarray of shape (n_terms,), or None as bags
    ctfidf : csr_matrix of shape (n_topics, n_terms), rows = topic_ids, or None as bags
    words : topic id -> main representation (top words and weights)
    aspects : aspect name -> topic id -> words (``Main`` not included)
    names : topic id -> default label (``<id>_word_word_word_word``)
    representative_docs : topic id -> document rows, most representative first
    topic_embeddings : ndarray of shape (n_topics, dim) or None, rows = topic_ids
    """

    topic_ids: np.ndarray
    bags: TopicBags | None
    idf: np.ndarray | None
    ctfidf: sp.csr_matrix | None
    words: dict[int, Words]
    aspects: dict[str, dict[int, Words]]
    names: dict[int, str]
    representative_docs: dict[int, list[int]]
    topic_embeddings: np.ndarray | None
    sizes: dict[int, int] = field(default_factory=dict)

    @property
    def vocabulary(self) -> np.ndarray | None:
        return None if self.bags is None else self.bags.vocabulary

    def with_topic_embeddings(self, topic_embeddings: np.ndarray | None) -> TopicDescription:
        return dataclasses.replace(self, topic_embeddings=topic_embeddings)


def topic_term_weights(texts: list[str], topics: np.ndarray, vectorizer: VectorizerParams, ctfidf: CtfidfParams,
                       guidance: GuidanceParams | None = None) -> tuple[TopicBags, np.ndarray, sp.csr_matrix]:
    """Bags of words per topic, the fitted idf and the c-TF-IDF rows: vectorize -> idf -> c-TF-IDF.

    With ``guidance``, seed-topic words are boosted as in guided topic modeling.
    """
    bags = vectorize_topics(texts, np.asarray(topics, dtype=np.int64), vectorizer)
    seeds = guidance.seed_topic_list if guidance is not None else None
    idf, weights = ctfidf_weights(bags.topic_term_counts, bags.vocabulary, ctfidf, seeds)
    return bags, idf, weights


def main_words_and_aspects(ctfidf: sp.csr_matrix, bags: TopicBags, idf: np.ndarray, topics: np.ndarray,
                           texts: list[str], representation: RepresentationParams, *, reduce_frequent_words: bool,
                           embed: Callable[[list[str]], np.ndarray] | None, embeddings: np.ndarray | None,
                           vectorizer: VectorizerParams | None = None, trusted_modules: Sequence[str] = ()
                           ) -> tuple[dict[int, Words], dict[str, dict[int, Words]]]:
    """Top words per topic, re-ranked by the ``Main`` aspect when one is configured, plus the other aspects.

    ``vectorizer`` made ``bags`` (BERTopic representation objects read it); ``trusted_modules`` are the
    modules whose classes a ``class_path`` in ``representation.aspects`` may name.
    """
    ids = [int(t) for t in bags.topic_ids]
    n_candidates = max(representation.top_n_words, CANDIDATE_WORDS)
    candidates = dict(zip(ids, top_words(ctfidf, bags.vocabulary, n_candidates), strict=True))
    words = {t: w[: representation.top_n_words] for t, w in candidates.items()}
    if not representation.aspects:
        return words, {}
    inputs = AspectInputs(
        texts=texts, topics=np.asarray(topics), topic_ids=bags.topic_ids, ctfidf=ctfidf, vocabulary=bags.vocabulary,
        doc_term_counts=bags.doc_term_counts, idf=idf, reduce_frequent_words=reduce_frequent_words,
        candidates=candidates, embed=embed, document_embeddings=embeddings, top_n_words=representation.top_n_words,
        vectorizer=vectorizer,
    )
    aspects = compute_aspects(representation.aspects, inputs, trusted_modules=trusted_modules)
    main = aspects.pop(MAIN_ASPECT, None)
    return (main if main is not None else words), aspects


def describe_topics(texts: list[str], topics: np.ndarray, *, vectorizer: VectorizerParams, ctfidf: CtfidfParams,
                    representation: RepresentationParams, guidance: GuidanceParams | None = None,
                    embeddings: np.ndarray | None = None, embed: Callable[[list[str]], np.ndarray] | None = None,
                    trusted_modules: Sequence[str] = ()) -> TopicDescription:
    """Describe the topics of ``topics`` (one id per text) from scratch, as the fit stages do.

    ``trusted_modules``: as in ``main_words_and_aspects`` (classes registered in code need none).
    """
    topics = np.asarray(topics, dtype=np.int64)
    bags, idf, weights = topic_term_weights(texts, topics, vectorizer, ctfidf, guidance)
    words, aspects = main_words_and_aspects(weights, bags, idf, topics, texts, representation,
                                            reduce_frequent_words=ctfidf.reduce_frequent_words, embed=embed,
                                            embeddings=embeddings, vectorizer=vectorizer,
                                            trusted_modules=trusted_modules)
    representative = representative_documents(
        topics, bags.topic_ids, bags.doc_term_counts, weights, idf, reduce_frequent_words=ctfidf.reduce_frequent_words,
        n_samples=representation.nr_repr_samples, n_docs=representation.nr_repr_docs,
    )
    return TopicDescription(
        topic_ids=bags.topic_ids, bags=bags, idf=idf, ctfidf=weights, words=words, aspects=aspects,
        names={t: topic_name(t, w, representation.name_words) for t, w in words.items()},
        representative_docs=representative,
        topic_embeddings=None if embeddings is None else topic_embeddings(embeddings, topics),
        sizes=topic_sizes(topics),
    )


def topic_vectors_for_reduction(texts: list[str], topics: np.ndarray, embeddings: np.ndarray | None, *,
                                use_ctfidf: bool, vectorizer: VectorizerParams, ctfidf: CtfidfParams) -> np.ndarray:
    """What topics are compared by when merged: mean embeddings (BERTopic's default) or c-TF-IDF rows."""
    if use_ctfidf or embeddings is None:
        return topic_term_weights(texts, topics, vectorizer, ctfidf)[2]
    return topic_embeddings(embeddings, topics)


def reduce_topic_ids(texts: list[str], topics: np.ndarray, nr_topics: int | str, embeddings: np.ndarray | None, *,
                     use_ctfidf: bool, vectorizer: VectorizerParams, ctfidf: CtfidfParams):
    """BERTopic's ``reduce_topics``: an int or ``"auto"``; returns a ``TopicRemap``."""
    vectors = topic_vectors_for_reduction(texts, topics, embeddings, use_ctfidf=use_ctfidf, vectorizer=vectorizer,
                                          ctfidf=ctfidf)
    if nr_topics == "auto":
        return reduce_automatically(topics, vectors)
    return reduce_to_n_topics(topics, vectors, int(nr_topics))


def reassign_outliers(texts: list[str], topics: np.ndarray, strategy: str, threshold: float, *,
                      vectorizer: VectorizerParams, ctfidf: CtfidfParams, embeddings: np.ndarray | None = None,
                      probabilities: np.ndarray | None = None, description: TopicDescription | None = None,
                      distribution_settings: dict | None = None) -> np.ndarray:
    """BERTopic's ``reduce_outliers``: new topic ids (only outliers change).

    ``description`` is the current description of ``topics`` (computed here when
    not given); c-TF-IDF and topic-embedding rows of -1 are left out, as in BERTopic.
    """
    topics = np.asarray(topics, dtype=np.int64)
    if strategy in ("c-tf-idf", "distributions"):
        if description is None or description.ctfidf is None:
            bags, idf, weights = topic_term_weights(texts, topics, vectorizer, ctfidf)
            vocabulary, topic_ids = bags.vocabulary, bags.topic_ids
        else:
            idf, weights = description.idf, description.ctfidf
            vocabulary, topic_ids = description.bags.vocabulary, description.topic_ids
        fitted = make_vectorizer(vectorizer).set_params(vocabulary=list(vocabulary))
        topic_rows = weights[np.flatnonzero(topic_ids != -1)]
        if strategy == "c-tf-idf":
            return reduce_outliers(topics, "c-tf-idf", threshold, topic_ctfidf=topic_rows, document_ctfidf=outlier_ctfidf(
                texts, topics, fitted, idf, reduce_frequent_words=ctfidf.reduce_frequent_words))
        distributions = outlier_distributions(texts, topics, fitted, threshold=threshold, idf=idf, topic_ctfidf=topic_rows,
                                              reduce_frequent_words=ctfidf.reduce_frequent_words,
                                              **(distribution_settings or {}))
        return reduce_outliers(topics, "distributions", threshold, distributions=distributions)
    if strategy == "embeddings":
        if embeddings is None:
            raise StageInputError("The 'embeddings' outlier strategy needs the document embeddings; pass embeddings=.")
        vectors = topic_embeddings(embeddings, topics)
        rows = vectors[1:] if (topics == -1).any() else vectors
        return reduce_outliers(topics, "embeddings", threshold, document_embeddings=embeddings, topic_embeddings=rows)
    return reduce_outliers(topics, strategy, threshold, probabilities=probabilities)
