"""Guided (seeded) and zero-shot topic modeling, as BERTopic 0.17.4 does them.

Guided: each seed word list is embedded as one sentence; a document whose
embedding is closer to a seed list than to the corpus mean is labelled with
that seed topic and pulled a quarter of the way towards it. The labels go to
UMAP as a semi-supervised target (-1 = unlabelled) and the seed words get an
idf multiplier of 1.2 in c-TF-IDF.

Zero-shot: topic names are embedded; a document whose best cosine similarity
to a name reaches ``min_similarity`` takes that topic. UMAP is still fitted on
every document, the rest are placed with UMAP ``transform`` and clustered, and
the zero-shot topics take the first ids.

Every function here is pure: BERTopic writes the guided embeddings into the
caller's array; we return a new one. ``embed`` is any callable that turns a
list of strings into an array of shape (n_strings, dim) with the same model
that produced the document embeddings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from topic_pipeline.core.reduction import transform_embeddings
from topic_pipeline.core.topic_ids import renumber_by_frequency
from topic_pipeline.errors import ParamsError, StageInputError

Embed = Callable[[list[str]], np.ndarray]

# BERTopic's constants: share of a seeded document's embedding kept, and the
# idf multiplier of seed-topic words (it overrides the ctfidf seed_words one).
GUIDED_DOCUMENT_WEIGHT = 0.75
SEED_TOPIC_MULTIPLIER = 1.2


def guide_embeddings(embeddings: np.ndarray, seed_topic_list: Sequence[Sequence[str]], embed: Embed
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Label documents with their closest seed topic and pull them towards it.

    The corpus mean is a competing anchor: a document nearer to the average
    document than to every seed list stays unlabelled (-1), so only documents
    that really look like a seed topic are steered.

    Parameters
    ----------
    embeddings : ndarray of shape (n_documents, dim)
        Not modified.
    seed_topic_list : list of lists of str
        Seed words per topic; each list is embedded as the words joined by a space.
    embed : callable, list of str -> ndarray of shape (n_strings, dim)

    Returns
    -------
    y : ndarray of shape (n_documents,), int64
        Seed topic index per document, -1 = not seeded; UMAP's ``y`` target.
    guided : ndarray of shape (n_documents, dim)
        A copy of ``embeddings`` where seeded rows are 0.75 * row + 0.25 * seed embedding.

    Raises
    ------
    ParamsError
        ``seed_topic_list`` is empty, not a list of word lists, or has an empty list or word.
    StageInputError
        ``embeddings`` is not a non-empty 2-d array, or ``embed`` returns the wrong shape.
    """
    seeds = _check_seed_topic_list(seed_topic_list)
    documents = _check_embeddings(embeddings)
    seed_vectors = _embed_checked(embed, [" ".join(words) for words in seeds], documents.shape[1], "seed topic")
    anchors = np.vstack([seed_vectors, documents.mean(axis=0)])
    y = _cosine_similarity(documents, anchors).argmax(axis=1).astype(np.int64)
    y[y == len(seeds)] = -1
    # a copy in the common dtype (float32 stays float32, as in BERTopic)
    guided = documents.astype(np.promote_types(documents.dtype, anchors.dtype), copy=True)
    for topic in range(len(seeds)):
        rows = y == topic
        guided[rows] = guided[rows] * GUIDED_DOCUMENT_WEIGHT + anchors[topic] * (1 - GUIDED_DOCUMENT_WEIGHT)
    return y, guided


def seed_topic_multiplier(vocabulary: np.ndarray, seed_topic_list: Sequence[Sequence[str]],
                          base: np.ndarray | None = None) -> np.ndarray:
    """Per-term idf multiplier: 1.2 for words of any seed list, else ``base`` (or 1).

    A seed word counts only when it equals a vocabulary term exactly (after the
    vectorizer's lowercasing of the corpus, ``"NASA"`` matches nothing), as in
    BERTopic. Multiply the fitted idf by the result.

    Parameters
    ----------
    vocabulary : ndarray of shape (n_terms,)
    seed_topic_list : list of lists of str
    base : ndarray of shape (n_terms,), optional
        The ctfidf ``seed_words`` multiplier (``seed_multiplier`` for those words, 1 elsewhere).

    Returns
    -------
    multiplier : ndarray of shape (n_terms,), float64

    Raises
    ------
    ParamsError
        ``seed_topic_list`` is malformed (see ``guide_embeddings``).
    StageInputError
        ``vocabulary`` is not 1-d, or ``base`` does not have one value per term.
    """
    seeds = _check_seed_topic_list(seed_topic_list)
    terms = np.asarray(vocabulary)
    if terms.ndim != 1:
        raise StageInputError(f"vocabulary must be a 1-d array of terms, got shape {terms.shape}.")
    if base is None:
        multiplier = np.ones(len(terms), dtype=np.float64)
    else:
        multiplier = np.array(base, dtype=np.float64)
        if multiplier.shape != terms.shape:
            raise StageInputError(
                f"base must have one multiplier per vocabulary term ({len(terms)}), got shape {multiplier.shape}; "
                "build it from the same vocabulary."
            )
    seed_words = sorted({word for words in seeds for word in words})
    multiplier[np.isin(terms.astype(str), seed_words)] = SEED_TOPIC_MULTIPLIER
    return multiplier


@dataclass(frozen=True)
class ZeroShotMatch:
    """Which documents a zero-shot topic name claims.

    topic_index : ndarray of shape (n_documents,), int64
        Index into ``names`` of the matched topic, -1 where no name reached the threshold.
    similarity : ndarray of shape (n_documents,)
        Best cosine similarity of each document to any name (matched or not).
    names : tuple of str, the zero-shot topic list
    """

    topic_index: np.ndarray
    similarity: np.ndarray
    names: tuple[str, ...]

    @property
    def assigned(self) -> np.ndarray:
        """Boolean mask of shape (n_documents,): the document took a zero-shot topic."""
        return self.topic_index >= 0

    @property
    def matched_topics(self) -> np.ndarray:
        """Ascending indices into ``names`` that claimed at least one document."""
        return np.unique(self.topic_index[self.assigned])


def zeroshot_match(embeddings: np.ndarray, zeroshot_topic_list: Sequence[str], embed: Embed,
                   min_similarity: float = 0.7) -> ZeroShotMatch:
    """Assign each document to its most similar topic name when the similarity reaches ``min_similarity``.

    Parameters
    ----------
    embeddings : ndarray of shape (n_documents, dim)
        The embeddings the model is fitted on (the guided ones when seeds are used too).
    zeroshot_topic_list : list of str
        Topic names, embedded as they are; their order fixes the zero-shot ids.
    embed : callable, list of str -> ndarray of shape (n_names, dim)
    min_similarity : float in [-1, 1]
        Cosine similarity a document needs to take a topic (BERTopic's ``zeroshot_min_similarity``).

    Raises
    ------
    ParamsError
        The name list is empty, a bare string or holds an empty name; ``min_similarity`` outside [-1, 1].
    StageInputError
        ``embeddings`` is not a non-empty 2-d array, or ``embed`` returns the wrong shape.
    """
    names = _check_zeroshot_topic_list(zeroshot_topic_list)
    threshold = float(min_similarity)
    if not -1.0 <= threshold <= 1.0:
        raise ParamsError(
            f"zeroshot_min_similarity must be a cosine similarity in [-1, 1], got {min_similarity!r}; "
            "BERTopic's default is 0.7 (long documents rarely exceed 0.5)."
        )
    documents = _check_embeddings(embeddings)
    name_vectors = _embed_checked(embed, names, documents.shape[1], "zero-shot topic")
    similarity = _cosine_similarity(documents, name_vectors)
    best = similarity.argmax(axis=1).astype(np.int64)
    best_similarity = similarity.max(axis=1)
    topic_index = np.where(best_similarity >= threshold, best, -1)
    return ZeroShotMatch(topic_index=topic_index, similarity=best_similarity, names=tuple(names))


def reduce_unassigned(reducer: object, embeddings: np.ndarray, match: ZeroShotMatch) -> np.ndarray:
    """Reduced vectors of the documents no zero-shot topic took, for clustering.

    BERTopic fits UMAP on every document first and then places the unassigned
    ones with ``transform`` (even when no document was assigned), so the
    coordinates differ slightly from the fitted ones; we do the same.

    Returns
    -------
    reduced : ndarray of shape (n_unassigned, n_components), float32, in document order
    """
    rest = ~match.assigned
    if len(rest) != len(embeddings):
        raise StageInputError(
            f"The zero-shot match covers {len(rest)} documents but {len(embeddings)} embeddings were given; "
            "match and reduce the same embeddings."
        )
    return transform_embeddings(reducer, np.asarray(embeddings)[rest])


def combine_zeroshot_topics(match: ZeroShotMatch, clustered_topics_of_rest: np.ndarray
                            ) -> tuple[np.ndarray, dict[int, str]]:
    """Final topic id per document and the names of the zero-shot topics.

    With some documents matched (BERTopic's first scenario), the k matched
    names take ids 0..k-1 in the order of the name list, clusters follow as
    raw label + k, -1 stays -1, and there is no size sort afterwards (BERTopic
    skips it so the zero-shot ids stay put). BERTopic orders the matched names
    by Python set iteration, which is ascending unless a matched index is at
    least the set's table size (8 slots below 5 matched names); we always use
    ascending order. With every document matched, ids are sorted by size as
    BERTopic does, and the topics keep their names (BERTopic loses them there,
    against its documentation). With none matched, the clusters are sorted by
    size as in plain topic modeling and there are no names. Both size sorts
    are BERTopic's own (``renumber_by_frequency``): equal sizes are ordered as
    pandas' unstable quicksort orders them, not by first appearance.

    Parameters
    ----------
    match : ZeroShotMatch
    clustered_topics_of_rest : ndarray of shape (n_unassigned,)
        Raw cluster labels (-1 = outlier) of the unassigned documents, in document order.

    Returns
    -------
    topics : ndarray of shape (n_documents,), int64; do not sort them again
    names : dict topic id -> zero-shot name (BERTopic's ``topic_labels_`` entries for those ids)

    Raises
    ------
    StageInputError
        ``clustered_topics_of_rest`` does not have one label per unassigned document.
    """
    assigned = match.assigned
    clustered = np.asarray(clustered_topics_of_rest, dtype=np.int64).ravel()
    n_rest = int((~assigned).sum())
    if len(clustered) != n_rest:
        raise StageInputError(
            f"Expected one cluster label per document without a zero-shot topic ({n_rest}), got {len(clustered)}; "
            "cluster exactly the rows of reduce_unassigned."
        )
    if not assigned.any():
        return renumber_by_frequency(clustered)[0], {}
    if n_rest == 0:
        topics, mapping = renumber_by_frequency(match.topic_index)
        return topics, {topic: match.names[index] for index, topic in sorted(mapping.items(), key=lambda item: item[1])}
    matched = match.matched_topics
    new_id = np.full(len(match.names), -1, dtype=np.int64)
    new_id[matched] = np.arange(len(matched))
    topics = np.empty(len(assigned), dtype=np.int64)
    topics[assigned] = new_id[match.topic_index[assigned]]
    topics[~assigned] = np.where(clustered == -1, -1, clustered + len(matched))
    return topics, {int(new_id[index]): match.names[index] for index in matched}


def zeroshot_probabilities(embeddings: np.ndarray, topic_vectors: np.ndarray, *, full: bool = False) -> np.ndarray:
    """BERTopic's probabilities after a zero-shot fit: cosine similarity to the topic embeddings.

    HDBSCAN strengths mean nothing for documents a name claimed, so BERTopic
    replaces them all (the outlier topic's row included when present).

    Parameters
    ----------
    embeddings : ndarray of shape (n_documents, dim)
    topic_vectors : ndarray of shape (n_topic_rows, dim)
        Mean embedding per topic, ascending ids (-1 first when present).
    full : bool
        The whole similarity matrix (``calculate_probabilities=True``) instead of its row maxima.

    Returns
    -------
    ndarray of shape (n_documents, n_topic_rows) when ``full``, else (n_documents,)
    """
    documents = _check_embeddings(embeddings)
    vectors = np.asarray(topic_vectors)
    if vectors.ndim != 2 or vectors.shape[1] != documents.shape[1]:
        raise StageInputError(
            f"topic_vectors must have shape (n_topics, {documents.shape[1]}), got {vectors.shape}; "
            "pass the topic embeddings of these documents."
        )
    similarity = _cosine_similarity(documents, vectors)
    return similarity if full else similarity.max(axis=1)


def _cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # scikit-learn's, for BERTopic's exact float32 rounding (zero rows give 0, not NaN)
    from sklearn.metrics.pairwise import cosine_similarity

    return cosine_similarity(a, b)


def _check_embeddings(embeddings: np.ndarray) -> np.ndarray:
    array = np.asarray(embeddings)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0 or not np.issubdtype(array.dtype, np.number):
        raise StageInputError(
            "embeddings must be a non-empty numeric array of shape (n_documents, dim), "
            f"got shape {array.shape} and dtype {array.dtype}."
        )
    return array


def _embed_checked(embed: Embed, texts: list[str], dim: int, what: str) -> np.ndarray:
    vectors = np.asarray(embed(texts))
    if vectors.shape != (len(texts), dim):
        raise StageInputError(
            f"embed returned shape {vectors.shape} for {len(texts)} {what} strings, expected ({len(texts)}, {dim}); "
            "use the embedding model that produced the document embeddings."
        )
    return vectors


def _check_seed_topic_list(seed_topic_list: Sequence[Sequence[str]]) -> list[list[str]]:
    example = 'e.g. [["space", "nasa"], ["gun", "law"]]'
    if isinstance(seed_topic_list, str) or not isinstance(seed_topic_list, Sequence) or len(seed_topic_list) == 0:
        raise ParamsError(f"seed_topic_list must be a non-empty list of word lists, {example}; got {seed_topic_list!r}.")
    seeds = []
    for position, words in enumerate(seed_topic_list):
        # a bare string would be joined letter by letter ("s p a c e"), as BERTopic silently does
        if isinstance(words, str) or not isinstance(words, Sequence) or len(words) == 0:
            raise ParamsError(
                f"seed_topic_list[{position}] must be a non-empty list of words, {example}; got {words!r}."
            )
        if not all(isinstance(word, str) and word.strip() for word in words):
            raise ParamsError(f"seed_topic_list[{position}] must hold non-empty strings, got {list(words)!r}.")
        seeds.append(list(words))
    return seeds


def _check_zeroshot_topic_list(zeroshot_topic_list: Sequence[str]) -> list[str]:
    if (isinstance(zeroshot_topic_list, str) or not isinstance(zeroshot_topic_list, Sequence)
            or len(zeroshot_topic_list) == 0):
        raise ParamsError(
            "zeroshot_topic_list must be a non-empty list of topic names, e.g. [\"space and nasa\", "
            f"\"guns and law\"]; got {zeroshot_topic_list!r}."
        )
    names = list(zeroshot_topic_list)
    bad = [name for name in names if not isinstance(name, str) or not name.strip()]
    if bad:
        raise ParamsError(f"zeroshot_topic_list must hold non-empty strings, got {bad[0]!r} among {names!r}.")
    return names
