"""The fitted description of a topic model, read from the stage store or recomputed in memory.

``TopicModel``'s post-fit operations (``update_topics``, ``merge_topics``,
``reduce_topics``, outlier reassignment) change the topic of some documents and
then describe the topics again: bag of words, c-TF-IDF, top words, aspects,
representative documents and topic embeddings. ``describe_topics`` does that
with the same functions the ``vectorized_bags``, ``ctfidf`` and
``topic_representations`` stages call; ``read_fitted`` reads what those stages
stored after ``fit``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from topic_pipeline import artifacts
from topic_pipeline.ctfidf import ctfidf_transform, fit_idf
from topic_pipeline.params import CtfidfParams, GuidanceParams, RepresentationParams, VectorizerParams
from topic_pipeline.representation import CANDIDATE_WORDS, representative_documents, top_words, topic_name
from topic_pipeline.topics import topic_sizes
from topic_pipeline.vectorize import TopicBags, vectorize_topics

Words = list[tuple[str, float]]


@dataclass(frozen=True)
class TopicDescription:
    """Everything that describes the topics of one assignment of documents to topics.

    topic_ids : ndarray of shape (n_topics,), ascending, -1 first when present
    bags : vocabulary and term counts per topic and per document
    idf : ndarray of shape (n_terms,)
    ctfidf : csr_matrix of shape (n_topics, n_terms), rows = topic_ids
    words : topic id -> main representation (top words and weights)
    aspects : aspect name -> topic id -> words (``Main`` not included)
    names : topic id -> default label (``<id>_word_word_word_word``)
    representative_docs : topic id -> document rows, most representative first
    topic_embeddings : ndarray of shape (n_topics, dim) or None, rows = topic_ids
    """

    topic_ids: np.ndarray
    bags: TopicBags
    idf: np.ndarray
    ctfidf: sp.csr_matrix
    words: dict[int, Words]
    aspects: dict[str, dict[int, Words]]
    names: dict[int, str]
    representative_docs: dict[int, list[int]]
    topic_embeddings: np.ndarray | None
    sizes: dict[int, int] = field(default_factory=dict)


def seeded_idf(counts: sp.csr_matrix, vocabulary: np.ndarray, ctfidf: CtfidfParams,
               guidance: GuidanceParams | None) -> np.ndarray:
    """The fitted idf, with guided topic modeling's seed words boosted (x1.2) as BERTopic does."""
    idf = fit_idf(counts, vocabulary, ctfidf)
    if guidance is not None and guidance.seed_topic_list:
        from topic_pipeline.guided import seed_topic_multiplier

        base = fit_idf(counts, vocabulary, ctfidf.model_copy(update={"seed_words": []}))
        idf = base * seed_topic_multiplier(vocabulary, guidance.seed_topic_list, _seed_word_multiplier(vocabulary, ctfidf))
    return idf


def _seed_word_multiplier(vocabulary: np.ndarray, ctfidf: CtfidfParams) -> np.ndarray:
    seeds = set(ctfidf.seed_words)
    return np.array([ctfidf.seed_multiplier if term in seeds else 1.0 for term in vocabulary])


def main_words_and_aspects(ctfidf: sp.csr_matrix, bags: TopicBags, idf: np.ndarray, topics: np.ndarray,
                           texts: list[str], representation: RepresentationParams, *, reduce_frequent_words: bool,
                           embed: Callable[[list[str]], np.ndarray] | None, embeddings: np.ndarray | None
                           ) -> tuple[dict[int, Words], dict[str, dict[int, Words]]]:
    """Top words per topic, re-ranked by the ``Main`` aspect when one is configured, plus the other aspects."""
    ids = [int(t) for t in bags.topic_ids]
    n_candidates = max(representation.top_n_words, CANDIDATE_WORDS)
    candidates = dict(zip(ids, top_words(ctfidf, bags.vocabulary, n_candidates), strict=True))
    words = {t: w[: representation.top_n_words] for t, w in candidates.items()}
    if not representation.aspects:
        return words, {}
    from topic_pipeline.aspects import AspectInputs, compute_aspects, parse_representation

    inputs = AspectInputs(
        texts=texts, topics=np.asarray(topics), topic_ids=bags.topic_ids, ctfidf=ctfidf, vocabulary=bags.vocabulary,
        doc_term_counts=bags.doc_term_counts, idf=idf, reduce_frequent_words=reduce_frequent_words,
        candidates=candidates, embed=embed, document_embeddings=embeddings, top_n_words=representation.top_n_words,
    )
    aspects = compute_aspects(parse_representation(representation.aspects), inputs)
    main = aspects.pop("Main", None)
    return (main if main is not None else words), aspects


def describe_topics(texts: list[str], topics: np.ndarray, *, vectorizer: VectorizerParams, ctfidf: CtfidfParams,
                    representation: RepresentationParams, guidance: GuidanceParams | None = None,
                    embeddings: np.ndarray | None = None,
                    embed: Callable[[list[str]], np.ndarray] | None = None) -> TopicDescription:
    """Describe the topics of ``topics`` (one id per text) from scratch, as the fit stages do."""
    from topic_pipeline.topics import topic_embeddings

    topics = np.asarray(topics, dtype=np.int64)
    bags = vectorize_topics(texts, topics, vectorizer)
    idf = seeded_idf(bags.topic_term_counts, bags.vocabulary, ctfidf, guidance)
    weights = ctfidf_transform(bags.topic_term_counts, idf, reduce_frequent_words=ctfidf.reduce_frequent_words)
    words, aspects = main_words_and_aspects(weights, bags, idf, topics, texts, representation,
                                            reduce_frequent_words=ctfidf.reduce_frequent_words, embed=embed,
                                            embeddings=embeddings)
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


def read_description(bags_dir: Path, ctfidf_dir: Path, representations_dir: Path, topics: np.ndarray,
                     embeddings: np.ndarray | None) -> TopicDescription:
    """The description the fit stages stored (no recomputation)."""
    from topic_pipeline.topics import topic_embeddings

    topic_ids = np.asarray(artifacts.read_array(bags_dir, "topic_ids"))
    bags = TopicBags(
        topic_ids=topic_ids,
        vocabulary=artifacts.read_table(bags_dir, "vocabulary")["term"].to_numpy(),
        topic_term_counts=artifacts.read_sparse(bags_dir, "topic_term_counts"),
        doc_term_counts=artifacts.read_sparse(bags_dir, "doc_term_counts"),
    )
    table = artifacts.read_table(representations_dir, "topics")
    terms = artifacts.read_table(representations_dir, "topic_terms").sort_values(["aspect", "topic_id", "rank"])
    by_aspect: dict[str, dict[int, Words]] = {}
    for (aspect, topic), group in terms.groupby(["aspect", "topic_id"], sort=False):
        by_aspect.setdefault(str(aspect), {})[int(topic)] = list(
            zip(group["term"].astype(str), group["weight"].astype(float), strict=True))
    words = by_aspect.pop("Main", {})
    positions = {int(t): i for i, t in enumerate(table["topic_id"])}
    return TopicDescription(
        topic_ids=topic_ids, bags=bags, idf=np.asarray(artifacts.read_array(ctfidf_dir, "idf")),
        ctfidf=artifacts.read_sparse(ctfidf_dir, "ctfidf"), words=words, aspects=by_aspect,
        names={int(t): str(n) for t, n in zip(table["topic_id"], table["name"], strict=True)},
        representative_docs={int(t): [int(r) for r in rows] for t, rows in
                             zip(table["topic_id"], table["representative_rows"], strict=True)}
        if "representative_rows" in table else {t: [] for t in positions},
        topic_embeddings=None if embeddings is None else topic_embeddings(embeddings, topics),
        sizes=topic_sizes(topics),
    )


def topic_vectors_for_reduction(texts: list[str], topics: np.ndarray, embeddings: np.ndarray | None, *,
                                use_ctfidf: bool, vectorizer: VectorizerParams, ctfidf: CtfidfParams) -> np.ndarray:
    """What topics are compared by when merged: mean embeddings (BERTopic's default) or c-TF-IDF rows."""
    from topic_pipeline.topics import topic_embeddings

    if use_ctfidf or embeddings is None:
        bags = vectorize_topics(texts, topics, vectorizer)
        idf = fit_idf(bags.topic_term_counts, bags.vocabulary, ctfidf)
        return ctfidf_transform(bags.topic_term_counts, idf, reduce_frequent_words=ctfidf.reduce_frequent_words)
    return topic_embeddings(embeddings, topics)


def reduce_topic_ids(texts: list[str], topics: np.ndarray, nr_topics: int | str, embeddings: np.ndarray | None, *,
                     use_ctfidf: bool, vectorizer: VectorizerParams, ctfidf: CtfidfParams):
    """BERTopic's ``reduce_topics``: an int or ``"auto"``; returns a ``TopicRemap``."""
    from topic_pipeline.topic_reduction import reduce_automatically, reduce_to_n_topics

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
    from topic_pipeline.outliers import outlier_ctfidf, outlier_distributions, reduce_outliers
    from topic_pipeline.topics import topic_embeddings
    from topic_pipeline.vectorize import make_vectorizer

    topics = np.asarray(topics, dtype=np.int64)
    if strategy in ("c-tf-idf", "distributions"):
        if description is None:
            bags = vectorize_topics(texts, topics, vectorizer)
            idf = fit_idf(bags.topic_term_counts, bags.vocabulary, ctfidf)
            weights = ctfidf_transform(bags.topic_term_counts, idf, reduce_frequent_words=ctfidf.reduce_frequent_words)
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
            from topic_pipeline.errors import StageInputError

            raise StageInputError("The 'embeddings' outlier strategy needs the document embeddings; pass embeddings=.")
        vectors = topic_embeddings(embeddings, topics)
        rows = vectors[1:] if (topics == -1).any() else vectors
        return reduce_outliers(topics, "embeddings", threshold, document_embeddings=embeddings, topic_embeddings=rows)
    return reduce_outliers(topics, strategy, threshold, probabilities=probabilities)
