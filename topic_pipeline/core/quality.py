"""Topic quality on the corpus itself: NPMI coherence, topic diversity, outlier share, number of topics.

NPMI is gensim 4.4's ``CoherenceModel(topics=..., texts=tokens, dictionary=Dictionary(tokens),
coherence="c_npmi", topn=10)``, the measure BERTopic's evaluation reports, computed without gensim:

- tokens: each document cleaned as for the bag of words and split by the vectorizer's analyzer
  (``corpus_tokens``), as BERTopic's evaluation does;
- windows: a boolean sliding window of ``window_size`` (gensim's c_npmi default, 10) tokens moving one token
  per step over each document; a document shorter than the window, an empty one included, is one window.
  Tokens that are not topic words keep their positions. Probabilities are shares of all windows;
- gensim marks a word absent as soon as one of its occurrences leaves the window, even when another
  occurrence is still inside (``WordOccurrenceAccumulator._slide_window``); we count the same windows, so the
  values agree to rounding;
- per pair ``log((P(a,b) + eps) / (P(a) P(b))) / -log(P(a,b) + eps)`` with eps = 1e-12, averaged over all
  pairs of a topic's top words that occur in the corpus (s_one_one); the corpus value is the mean over the
  topics that have one (gensim's ``get_coherence`` is NaN as soon as one topic has fewer than two words).

Gensim visits every window in Python (about a minute on 20 Newsgroups). Here each occurrence of a topic word
becomes the run of windows in which gensim sees it, runs of a word are merged, and a pair's co-occurrence is
the overlap of the two words' runs, from a cumulative sum and a binary search. Only occurrences of topic words
are kept, so memory grows with those, not with the corpus; documents are read in chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice, repeat
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from topic_pipeline.core.vectorize import clean_for_bag_of_words
from topic_pipeline.errors import ParamsError

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import CountVectorizer

WINDOW_SIZE = 10  # gensim's SLIDING_WINDOW_SIZES["c_npmi"]
TOP_N = 10  # CoherenceModel(topn=10); also the diversity's top words
EPSILON = 1e-12  # gensim.topic_coherence.direct_confirmation_measure.EPSILON
OUTLIER_TOPIC = -1
QUALITY_COLUMNS = ("metric", "topic_id", "value")
_CHUNK_DOCUMENTS = 2000
_CHUNK_RUNS = 1 << 20  # runs compared per batch of word pairs: bounds the temporary arrays


@dataclass(frozen=True)
class WindowRuns:
    """The windows in which each word is seen, as sorted disjoint runs of window numbers.

    Windows are numbered over the whole corpus, document after document. Run ``i`` of word ``words[i]`` is the
    windows ``[starts[i], ends[i])``; runs are sorted by word, then start. ``keys`` place every word on its own
    stretch of one number line (``word * n_windows + window``), so one binary search finds any word's runs.

    n_windows : int, all windows of the corpus (gensim's ``num_docs``)
    words, starts, ends : ndarray of shape (n_runs,)
    n_words : int, the words asked for (some may have no run: not in the corpus)
    """

    n_windows: int
    words: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    n_words: int

    @property
    def keys(self) -> np.ndarray:
        return self.words * self.n_windows + self.starts

    def occurrences(self) -> np.ndarray:
        """Windows holding each word, ndarray of shape (n_words,)."""
        return np.bincount(self.words, weights=self.ends - self.starts, minlength=self.n_words).astype(np.int64)


def corpus_tokens(texts: Iterable[str], vectorizer: CountVectorizer, language: str) -> Iterator[list[str]]:
    """Each document's tokens: BERTopic's cleaning for ``language``, then ``vectorizer.build_analyzer()``.

    What BERTopic's evaluation feeds gensim. The vectorizer need not be fitted (the analyzer does not use the
    vocabulary). Documents are cleaned one chunk at a time, so a generator of texts is never held whole.
    """
    analyze = vectorizer.build_analyzer()
    iterator = iter(texts)
    while chunk := list(islice(iterator, _CHUNK_DOCUMENTS)):
        yield from (analyze(text) for text in clean_for_bag_of_words(chunk, language))


def _occurrences(token_lists: Iterable[Sequence[str]], words: Sequence[str]) -> tuple[np.ndarray, ...]:
    """Positions of the topic words: (document, position, word) per occurrence, and each document's length."""
    lookup = {word: i for i, word in enumerate(words)}
    documents, positions, codes, lengths = [], [], [], []
    iterator, first_document = iter(token_lists), 0
    while chunk := list(islice(iterator, _CHUNK_DOCUMENTS)):
        chunk_lengths = np.fromiter((len(tokens) for tokens in chunk), dtype=np.int64, count=len(chunk))
        found = np.fromiter(map(lookup.get, chain.from_iterable(chunk), repeat(-1)), dtype=np.int64,
                            count=int(chunk_lengths.sum()))
        where = np.flatnonzero(found >= 0)
        starts = np.cumsum(chunk_lengths) - chunk_lengths
        document = np.searchsorted(starts, where, side="right") - 1
        documents.append(document + first_document)
        positions.append(where - starts[document])
        codes.append(found[where])
        lengths.append(chunk_lengths)
        first_document += len(chunk)
    if not lengths:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(4))
    return tuple(np.concatenate(parts) for parts in (documents, positions, codes, lengths))


def window_runs(token_lists: Iterable[Sequence[str]], words: Sequence[str],
                window_size: int = WINDOW_SIZE) -> WindowRuns:
    """Where gensim's boolean sliding window sees each of ``words`` (distinct strings), as runs of windows.

    Gensim's window state is a flag per word: set for the whole first window, then per step cleared for the
    token that left and set for the token that entered. So an occurrence at ``p`` switches its word on at
    window ``max(0, p - window_size + 1)`` and the word stays on until the first occurrence at or after that
    window leaves it, even if ``p`` itself is still inside (our runs reproduce this).
    """
    words = list(words)
    document, position, word, length = _occurrences(token_lists, words)
    windows_per_document = np.maximum(length - window_size + 1, 1)
    first_window = np.cumsum(windows_per_document) - windows_per_document
    first_token = np.cumsum(length) - length
    order = np.argsort(word, kind="stable")  # by word, then corpus order (documents and positions ascend)
    document, position, word = document[order], position[order], word[order]
    total_tokens = int(length.sum()) + 1
    keys = word * total_tokens + first_token[document] + position
    switched_on = np.maximum(position - window_size + 1, 0)
    leaver = np.searchsorted(keys, keys - position + switched_on, side="left")
    starts = first_window[document] + switched_on
    ends = first_window[document] + np.minimum(position[leaver] + 1, windows_per_document[document])
    return _merged(int(windows_per_document.sum()), starts, ends, word, len(words))


def _merged(n_windows: int, starts: np.ndarray, ends: np.ndarray, word: np.ndarray, n_words: int) -> WindowRuns:
    """Merge each word's overlapping runs (sorted by word, then start; a word's ends never decrease)."""
    new = np.ones(len(starts), dtype=bool)
    new[1:] = (word[1:] != word[:-1]) | (starts[1:] > ends[:-1])
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(starts))[: len(first)] - 1
    return WindowRuns(n_windows=n_windows, words=word[first], starts=starts[first], ends=ends[last], n_words=n_words)


@dataclass(frozen=True)
class _NumberLine:
    """Every word's runs on one number line (``WindowRuns.keys``), with the windows covered before each run.

    A first empty run at -1 means every point has a run at or before it, so no case is needed for none.
    """

    keys: np.ndarray
    lengths: np.ndarray
    covered: np.ndarray

    @classmethod
    def of(cls, runs: WindowRuns) -> _NumberLine:
        lengths = np.concatenate([[0], runs.ends - runs.starts])
        return cls(keys=np.concatenate([[-1], runs.keys]), lengths=lengths, covered=np.cumsum(lengths) - lengths)

    def covered_until(self, points: np.ndarray) -> np.ndarray:
        """Windows of all runs before each point (exclusive)."""
        at = np.searchsorted(self.keys, points, side="right") - 1
        return self.covered[at] + np.minimum(points - self.keys[at], self.lengths[at])


def co_occurrences(runs: WindowRuns, pairs: np.ndarray) -> np.ndarray:
    """Windows holding both words of each pair, ndarray of shape (n_pairs,), from ``pairs`` (n_pairs, 2).

    The overlap of word a's runs with word b's is, summed over b's runs, a's windows up to the run's end minus
    those up to its start; b is the word with fewer runs. A pair of one word twice is that word's windows.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    line = _NumberLine.of(runs)
    offsets = np.searchsorted(runs.words, np.arange(runs.n_words + 1), side="left")
    n_runs = np.diff(offsets)
    swap = n_runs[pairs[:, 0]] < n_runs[pairs[:, 1]]
    probe, other = np.where(swap, pairs[:, 0], pairs[:, 1]), np.where(swap, pairs[:, 1], pairs[:, 0])
    per_pair = n_runs[probe]
    counts = np.zeros(len(pairs), dtype=np.int64)
    done_runs, start = np.cumsum(per_pair), 0
    while start < len(pairs):  # batches of pairs whose probe runs fit in _CHUNK_RUNS (at least one pair)
        before = done_runs[start] - per_pair[start]
        stop = max(start + 1, int(np.searchsorted(done_runs, before + _CHUNK_RUNS, side="right")))
        repeat = per_pair[start:stop]
        run = np.repeat(offsets[probe[start:stop]] - (np.cumsum(repeat) - repeat), repeat)
        run += np.arange(len(run))
        base = np.repeat(other[start:stop] * runs.n_windows, repeat)
        overlap = line.covered_until(base + runs.ends[run]) - line.covered_until(base + runs.starts[run])
        counts[start:stop] = np.bincount(np.repeat(np.arange(stop - start), repeat), weights=overlap,
                                         minlength=stop - start)
        start = stop
    same = pairs[:, 0] == pairs[:, 1]
    counts[same] = runs.occurrences()[pairs[same, 0]]
    return counts


def npmi(together: np.ndarray, first: np.ndarray, second: np.ndarray, n_windows: int) -> np.ndarray:
    """Gensim's normalized log-ratio measure of window counts, with its operations in its order."""
    joint = together / float(n_windows)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log((joint + EPSILON) / ((first / float(n_windows)) * (second / float(n_windows))))
        return ratio / (-np.log(joint + EPSILON))


def topic_npmi(token_lists: Iterable[Sequence[str]], topics: Sequence[Sequence[str]], *,
               top_n: int = TOP_N, window_size: int = WINDOW_SIZE) -> np.ndarray:
    """NPMI coherence of each topic's first ``top_n`` words that occur in the corpus, ndarray of shape (n_topics,).

    Words that never occur in ``token_lists`` are left out before the first ``top_n`` are taken, as gensim's
    ``CoherenceModel`` leaves out words its dictionary lacks; a topic with fewer than two words left is NaN. ``token_lists`` is read once.

    Raises
    ------
    ParamsError
        ``top_n`` or ``window_size`` is below 1.
    """
    for name, value in (("top_n", top_n), ("window_size", window_size)):
        if value < 1:
            raise ParamsError(f"Topic quality's {name} must be at least 1, got {value}.")
    # gensim drops the words its dictionary lacks first, then takes the first top_n of what is left
    vocabulary = list(dict.fromkeys(word for words in topics for word in words))
    runs = window_runs(token_lists, vocabulary, window_size)
    seen = runs.occurrences()
    position = {word: i for i, word in enumerate(vocabulary)}
    usable = [[position[word] for word in words if seen[position[word]] > 0][:top_n] for words in topics]
    pairs = np.array([(ids[i], ids[j]) for ids in usable for i in range(len(ids)) for j in range(i + 1, len(ids))],
                     dtype=np.int64).reshape(-1, 2)
    unique, inverse = np.unique(np.sort(pairs, axis=1), axis=0, return_inverse=True)
    together = co_occurrences(runs, unique)[inverse.reshape(-1)]
    values = npmi(together, seen[pairs[:, 0]], seen[pairs[:, 1]], runs.n_windows)
    sizes = np.array([len(ids) * (len(ids) - 1) // 2 for ids in usable], dtype=np.int64)
    sums = np.bincount(np.repeat(np.arange(len(sizes)), sizes), weights=values, minlength=len(sizes))
    return np.where(sizes > 0, sums / np.maximum(sizes, 1), np.nan)


def topic_diversity(topics: Sequence[Sequence[str]], top_n: int = TOP_N) -> float:
    """Distinct words among the topics' first ``top_n`` / (``top_n`` x number of topics); NaN without topics.

    BERTopic pads a topic with fewer words with "" (not a word), so "" is not counted.
    """
    if not topics:
        return float("nan")
    distinct = {word for words in topics for word in list(words)[:top_n] if word != ""}
    return len(distinct) / (top_n * len(topics))


def outlier_share(topics: Sequence[int] | np.ndarray) -> float:
    """Documents in the outlier topic -1 / all documents; NaN without documents."""
    assignments = np.asarray(topics)
    return float(np.mean(assignments == OUTLIER_TOPIC)) if len(assignments) else float("nan")


def topic_quality(topic_words: Mapping[int, Sequence[str]], token_lists: Iterable[Sequence[str]],
                  topics: Sequence[int] | np.ndarray, *, top_n: int = TOP_N,
                  window_size: int = WINDOW_SIZE) -> pd.DataFrame:
    """One tidy table of the quality figures: columns metric, topic_id (Int64, null = corpus-wide), value.

    Rows: "npmi" per topic, "npmi" over the corpus (mean of the topics that have a value), "diversity",
    "outlier_share" and "topics" (their number). The outlier topic -1 is left out of all but outlier_share.

    Parameters
    ----------
    topic_words : mapping of topic id to its words, best first; (word, weight) pairs as ``get_topics()``
        gives them are taken as their words
    token_lists : iterable of token lists, one per document (``corpus_tokens``), read once
    topics : array-like of shape (n_documents,), each document's topic

    Raises
    ------
    ParamsError
        ``top_n`` or ``window_size`` is below 1.
    """
    ids = sorted(topic for topic in topic_words if topic != OUTLIER_TOPIC)
    words = [[word[0] if isinstance(word, tuple) else word for word in topic_words[topic]] for topic in ids]
    per_topic = topic_npmi(token_lists, words, top_n=top_n, window_size=window_size)
    valid = per_topic[~np.isnan(per_topic)]
    corpus = {
        "npmi": float(valid.mean()) if len(valid) else float("nan"),
        "diversity": topic_diversity(words, top_n),
        "outlier_share": outlier_share(topics),
        "topics": float(len(ids)),
    }
    metric, topic_id, value = QUALITY_COLUMNS
    return pd.DataFrame({
        metric: ["npmi"] * len(ids) + list(corpus),
        topic_id: pd.array([int(topic) for topic in ids] + [None] * len(corpus), dtype="Int64"),
        value: np.concatenate([per_topic, np.array(list(corpus.values()), dtype=np.float64)]),
    })
