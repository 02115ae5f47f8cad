"""Topic distributions of documents from sliding token windows (BERTopic's ``approximate_distribution``).

HDBSCAN gives each document one topic, but a post can mix several. BERTopic
approximates a mixture without the clustering model: tokenize each document
with the vectorizer's tokenizer, cut the tokens into windows (``window``
tokens, every ``stride`` tokens), compare every window with every topic
(cosine between the window's c-TF-IDF and the topic rows, or between their
embeddings), zero similarities below ``min_similarity``, sum them per
document and L1-normalise. Any document can be scored this way, seen at fit
time or not.

Token-level values (``calculate_tokens``) add each window's similarities to
every token inside it; the document distribution is then the sum over
tokens, so a window counts once per token it holds, as in BERTopic. A token
that no window covers (``stride`` > 1 without padding) gets zeros, where
BERTopic fails to build its array.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topic_pipeline.core.ctfidf import ctfidf_transform
from topic_pipeline.core.sklearn_functions import cosine_similarity, normalize
from topic_pipeline.errors import ParamsError, StageInputError


def token_windows(n_tokens: int, window: int, stride: int, padding: bool) -> list[range]:
    """Token positions of each window over a document of ``n_tokens`` tokens.

    A document shorter than ``window`` is one window. Otherwise a window starts
    every ``stride`` tokens and only full windows are kept, unless ``padding``
    also keeps the short ones at the end and prepends the growing windows
    that would start before the first token.

    Returns
    -------
    list of range
        One range of token positions per window, in document order.
    """
    if n_tokens < window:
        return [range(n_tokens)]
    windows = [range(start, min(start + window, n_tokens)) for start in range(0, n_tokens, stride)]
    if not padding:
        return [positions for positions in windows if len(positions) == window]
    n_lead = math.ceil(window / stride) - 1
    lead = [range(window - (n_lead - i) * stride) for i in range(n_lead)]
    return lead + windows


def approximate_distribution(
    documents: Sequence[str] | str, vectorizer: object, *, idf: np.ndarray | None = None,
    topic_ctfidf: sp.spmatrix | None = None, reduce_frequent_words: bool = False, window: int = 4, stride: int = 1,
    min_similarity: float = 0.1, batch_size: int | None = 1000, padding: bool = False,
    use_embedding_model: bool = False, embed: Callable[[list[str]], np.ndarray] | None = None,
    topic_embeddings: np.ndarray | None = None, calculate_tokens: bool = False, separator: str = " ",
    progress: bool = False,
) -> tuple[np.ndarray, list[pd.DataFrame] | None]:
    """Topic distribution of each document, and optionally of each of its tokens.

    Parameters
    ----------
    documents : list of str (or one str)
        Raw texts; they are tokenized with ``vectorizer.build_tokenizer()`` (no cleaning, no lowercasing: the
        vectorizer lowercases windows).
    vectorizer : CountVectorizer
        Fitted, or with ``vocabulary`` set to the fitted terms in column order.
    idf : ndarray of shape (n_terms,)
    topic_ctfidf : sparse matrix of shape (n_topics, n_terms)
        The fitted c-TF-IDF idf and rows of topics 0..n_topics-1 (*without* the outlier row); the c-TF-IDF mode.
    reduce_frequent_words : bool
        The c-TF-IDF setting the idf was fitted with.
    window, stride, padding, min_similarity, separator : int, int, bool, float, str
        Tokens per window, tokens between window starts, whether to keep partial windows at both ends, the similarity
        below which a window-topic pair counts as 0, and the string joining a window's tokens into the scored text.
    batch_size : int or None
        Documents handled at once (memory only; results do not depend on it).
    use_embedding_model : bool
        Compare ``embed(windows)`` with ``topic_embeddings`` (*without* the outlier row) instead of c-TF-IDF.
    embed : callable, list of str -> ndarray of shape (n_windows, dim)
    topic_embeddings : ndarray of shape (n_topics, dim)
    calculate_tokens : bool
        Also return per-token values (and sum them for the document).
    progress : bool
        Show a progress bar over batches.

    Returns
    -------
    topic_distributions : ndarray of shape (n_documents, n_topics)
        Rows sum to 1, or are all 0 when no window reaches ``min_similarity``.
    token_distributions : list of DataFrame or None
        With ``calculate_tokens``, one frame per document of shape (n_tokens, n_topics): index = the tokens
        (name "token"), columns = topic ids 0..n_topics-1. A document without tokens has one row of zeros for
        the token "", as BERTopic returns one row of zeros.

    Raises
    ------
    ParamsError
        ``window``, ``stride`` or ``batch_size`` below 1.
    StageInputError
        An input of the chosen mode is missing or the shapes disagree.
    """
    _check_settings(window, stride, batch_size)
    documents = [documents] if isinstance(documents, str) else list(documents)
    similarity_of = _similarity_function(vectorizer, idf, topic_ctfidf, reduce_frequent_words, use_embedding_model,
                                         embed, topic_embeddings)
    n_topics = int(topic_embeddings.shape[0] if use_embedding_model else topic_ctfidf.shape[0])
    windowing = _Windowing(window, stride, padding, min_similarity, separator)
    return _distributions(documents, vectorizer, similarity_of, n_topics, windowing, batch_size=batch_size,
                          calculate_tokens=calculate_tokens, progress=progress)


@dataclass(frozen=True)
class _Windowing:
    """How ``approximate_distribution`` cuts documents into windows and scores them, passed on as one value."""

    window: int
    stride: int
    padding: bool
    min_similarity: float
    separator: str


def _distributions(
    documents: list[str], vectorizer: object, similarity_of: Callable[[list[str]], np.ndarray], n_topics: int,
    windowing: _Windowing, *, batch_size: int | None, calculate_tokens: bool, progress: bool,
) -> tuple[np.ndarray, list[pd.DataFrame] | None]:
    """``approximate_distribution``'s result, computed batch by batch so memory is bounded by ``batch_size``."""
    if n_topics == 0:  # only outliers: every document's distribution over no topic is empty
        empty = [pd.DataFrame(np.zeros((1, 0)), index=pd.Index([""], name="token")) for _ in documents]
        return np.zeros((len(documents), 0)), empty if calculate_tokens else None
    tokenize = vectorizer.build_tokenizer()
    size = batch_size or max(len(documents), 1)
    starts = range(0, len(documents), size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="approximate_distribution")
    distributions, token_frames = [], []
    for start in starts:
        tokens = [tokenize(document) for document in documents[start : start + size]]
        sums, frames = _batch_sums(tokens, similarity_of, n_topics, windowing, calculate_tokens)
        token_frames += frames
        distributions.append(normalize(np.array(sums).reshape(len(tokens), n_topics), norm="l1", axis=1))
    result = np.vstack(distributions) if distributions else np.zeros((0, n_topics))
    return result, (token_frames if calculate_tokens else None)


def _batch_sums(
    tokens: list[list[str]], similarity_of: Callable[[list[str]], np.ndarray], n_topics: int, windowing: _Windowing,
    calculate_tokens: bool,
) -> tuple[list[np.ndarray], list[pd.DataFrame]]:
    """Per document of one batch, its summed window-topic similarities (and token frame with ``calculate_tokens``).

    All windows of the batch are scored in one ``similarity_of`` call, so the vectorizer or the embedding model
    works on large inputs rather than one document at a time.
    """
    windows = [token_windows(len(doc_tokens), windowing.window, windowing.stride, windowing.padding)
               for doc_tokens in tokens]
    sentences = [windowing.separator.join(doc_tokens[i] for i in positions)
                 for doc_tokens, doc_windows in zip(tokens, windows, strict=True) for positions in doc_windows]
    similarity = similarity_of(sentences)
    similarity[similarity < windowing.min_similarity] = 0
    offsets = np.cumsum([0] + [len(doc_windows) for doc_windows in windows])
    if not calculate_tokens:
        return [similarity[offsets[i] : offsets[i + 1]].sum(axis=0) for i in range(len(tokens))], []
    matrices = [_token_matrix(similarity[offsets[i] : offsets[i + 1]], windows[i], len(tokens[i]), n_topics)
                for i in range(len(tokens))]
    frames = [_token_frame(matrix, doc_tokens) for matrix, doc_tokens in zip(matrices, tokens, strict=True)]
    return [matrix.sum(axis=0) for matrix in matrices], frames


def _check_settings(window: int, stride: int, batch_size: int | None) -> None:
    for name, value in (("window", window), ("stride", stride)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ParamsError(f"approximate_distribution: {name} must be an integer >= 1, got {value!r}.")
    if batch_size is not None and (not isinstance(batch_size, int | np.integer) or batch_size < 1):
        raise ParamsError(f"approximate_distribution: batch_size must be an integer >= 1 or None, got {batch_size!r}.")


def _similarity_function(
    vectorizer: object,
    idf: np.ndarray | None,
    topic_ctfidf: sp.spmatrix | None,
    reduce_frequent_words: bool,
    use_embedding_model: bool,
    embed: Callable[[list[str]], np.ndarray] | None,
    topic_embeddings: np.ndarray | None,
) -> Callable[[list[str]], np.ndarray]:
    """Check the inputs of the chosen mode; return windows -> (n_windows, n_topics) cosine similarities."""
    if not hasattr(vectorizer, "build_tokenizer") or not hasattr(vectorizer, "transform"):
        raise StageInputError(
            "vectorizer must be a scikit-learn CountVectorizer (build_tokenizer, transform), "
            f"got {type(vectorizer).__name__}."
        )
    if use_embedding_model:
        if embed is None or topic_embeddings is None:
            missing = "embed" if embed is None else "topic_embeddings"
            raise StageInputError(f"use_embedding_model=True needs {missing}; pass it, or use the c-TF-IDF mode.")
        topics = np.asarray(topic_embeddings)
        if topics.ndim != 2:
            raise StageInputError(f"topic_embeddings must be 2-D (n_topics, dim), got shape {topics.shape}.")

        def by_embedding(sentences: list[str]) -> np.ndarray:
            vectors = np.asarray(embed(sentences))
            if vectors.ndim != 2 or vectors.shape != (len(sentences), topics.shape[1]):
                raise StageInputError(
                    f"embed returned shape {vectors.shape} for {len(sentences)} windows; expected "
                    f"({len(sentences)}, {topics.shape[1]}) to match topic_embeddings. "
                    "Use the model the topics were embedded with."
                )
            return cosine_similarity(vectors, topics)

        return by_embedding

    if idf is None or topic_ctfidf is None:
        missing = "idf" if idf is None else "topic_ctfidf"
        raise StageInputError(f"The c-TF-IDF mode needs {missing}; pass the fitted one (outlier row dropped).")
    if getattr(vectorizer, "vocabulary", None) is None and not hasattr(vectorizer, "vocabulary_"):
        raise StageInputError("vectorizer is neither fitted nor given a vocabulary; call set_params(vocabulary=terms).")
    idf = np.asarray(idf, dtype=np.float64)
    topics = sp.csr_matrix(topic_ctfidf)
    if not (idf.ndim == 1 and len(idf) == topics.shape[1]):
        raise StageInputError(
            f"idf has shape {idf.shape} but topic_ctfidf has {topics.shape[1]} terms; pass both from the same fit."
        )

    def by_ctfidf(sentences: list[str]) -> np.ndarray:
        counts = vectorizer.transform(sentences)
        if counts.shape[1] != len(idf):
            raise StageInputError(
                f"The vectorizer has {counts.shape[1]} terms but idf has {len(idf)}; give it the fitted vocabulary."
            )
        return cosine_similarity(ctfidf_transform(counts, idf, reduce_frequent_words=reduce_frequent_words), topics)

    return by_ctfidf


def _token_matrix(similarity: np.ndarray, windows: list[range], n_tokens: int, n_topics: int) -> np.ndarray:
    """(n_tokens, n_topics): each token sums the similarities of the windows holding it, in window order."""
    if n_tokens == 0:
        return np.zeros((1, n_topics))
    matrix = np.zeros((n_tokens, n_topics))
    rows = np.repeat(np.arange(len(windows)), [len(positions) for positions in windows])
    positions = np.fromiter((i for positions in windows for i in positions), dtype=np.intp, count=len(rows))
    np.add.at(matrix, positions, similarity[rows])  # unbuffered, in order: the same sums as adding window by window
    return matrix


def _token_frame(matrix: np.ndarray, tokens: list[str]) -> pd.DataFrame:
    index = pd.Index(tokens if tokens else [""], name="token")
    return pd.DataFrame(matrix, index=index, columns=pd.RangeIndex(matrix.shape[1], name="topic"))
