"""Topic representations per group of documents: per time bin (topics over time) or per class.

For each group, each topic's documents are joined, cleaned and counted with
the *fitted* vocabulary, weighted with the fitted idf, and (when tuning)
L1-normalised. ``global_tuning`` averages a row with the topic's global
(L1-normalised) c-TF-IDF row; ``evolution_tuning`` first averages it with the
same topic's final row of the previous time bin. BERTopic documents
``evolution_tuning`` but its implementation writes into a temporary copy and
has no effect; ours does what the documentation says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from topic_pipeline.core.ctfidf import ctfidf_transform
from topic_pipeline.core.sklearn_functions import normalize
from topic_pipeline.core.topic_words import CANDIDATE_WORDS, top_words
from topic_pipeline.core.vectorize import clean_for_bag_of_words

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import CountVectorizer

GROUP_WORDS = 5


def bin_timestamps(timestamps: pd.Series, nr_bins: int | None) -> pd.Series:
    """Each timestamp's bin label: the left edge of ``pandas.cut`` into ``nr_bins`` (BERTopic), or itself.

    The edges are pandas' own (``nr_bins`` equal bins from the first to the last
    timestamp, the first edge moved down by 0.1% of the range, or one second
    either side when all timestamps are equal), computed here on the integer
    timestamps because ``pandas.cut`` fails on corpora it should bin: it raises
    or returns 1970 edges when an edge falls before 0001-01-01 (placeholder
    dates), raises when two edges coincide (timestamps microseconds apart) and
    can leave the latest timestamp out (NaT) when rounding puts the last edge
    below it. Here an edge before 0001-01-01 is labelled 0001-01-01, equal edges
    are allowed and every timestamp has a bin; otherwise the labels equal
    ``pandas.cut``'s. Missing timestamps get NaT.
    """
    if not nr_bins:
        return timestamps
    index = pd.DatetimeIndex(timestamps)
    unit = index.unit
    values = index.asi8
    present = ~index.isna()
    labels = np.full(len(values), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    if present.any():
        lowest, highest = int(values[present].min()), int(values[present].max())
        if lowest == highest:
            second = int(pd.Timedelta(seconds=1).as_unit(unit).asm8.astype(np.int64))
            start, end = lowest - second, highest + second
            edges = np.linspace(0, end - start, nr_bins + 1, dtype="int64") + start
        else:
            edges = np.linspace(0, highest - lowest, nr_bins + 1, dtype="int64") + lowest
            edges[0] = max(int(edges[0]) - int((highest - lowest) * 0.001), np.iinfo(np.int64).min + 1)
        try:
            earliest = int(pd.Timestamp("0001-01-01").as_unit(unit).asm8.astype(np.int64))
        except pd.errors.OutOfBoundsDatetime:  # nanoseconds: the unit's own lower bound
            earliest = np.iinfo(np.int64).min + 1
        # the last timestamp belongs to the last bin even where linspace's rounding puts the last edge below
        # it (pandas.cut then gives NaT: the latest document would be left out)
        codes = np.clip(np.searchsorted(edges, values[present], side="left"), 1, nr_bins)
        labels[present] = np.maximum(edges[codes - 1], earliest)
    binned = pd.DatetimeIndex(labels.view(f"datetime64[{unit}]"))
    if index.tz is not None:
        binned = binned.tz_localize("UTC").tz_convert(index.tz)
    return pd.Series(binned, index=timestamps.index)


def tuned_group_ctfidf(
    texts: Sequence[str],
    topics: np.ndarray,
    groups: Sequence,
    *,
    vectorizer: CountVectorizer | None,
    language: str,
    idf: np.ndarray,
    reduce_frequent_words: bool,
    topic_ids: np.ndarray,
    global_ctfidf: sp.csr_matrix,
    global_tuning: bool,
    evolution_tuning: bool,
    state: dict | None = None,
    count_pairs: Callable[[np.ndarray, int], sp.csr_matrix] | None = None,
) -> Iterator[tuple[object, np.ndarray, sp.csr_matrix, pd.Series]]:
    """Per group (sorted; the order is time for ``evolution_tuning``): its topics, their tuned
    c-TF-IDF rows (one per topic, in that order) and their document counts. Documents whose
    group is missing are left out.

    ``state["previous"]`` carries the last group's tuned rows in and out, so evolution
    tuning continues across calls (one call per time-window partition).

    Each (group, topic)'s documents are joined and counted with ``vectorizer``, as
    BERTopic does; ``count_pairs(codes, n_pairs)`` replaces that with counts
    derived from stored per-document counts (``document_terms.group_term_counts``,
    the same numbers; ``vectorizer`` may then be None): ``codes`` gives each document's pair, -1 for none.
    """
    state = state if state is not None else {}
    frame = pd.DataFrame({"text": list(texts), "topic": np.asarray(topics), "group": list(groups)})
    frame = frame.loc[frame["group"].notna()]
    global_rows = normalize(global_ctfidf, axis=1, norm="l1")
    row_of_topic = {int(topic): row for row, topic in enumerate(topic_ids)}
    previous: dict[int, sp.csr_matrix] = state.get("previous") or {}
    ordered = sorted(frame["group"].unique())
    topics_of = {group: np.unique(frame.loc[frame["group"] == group, "topic"].to_numpy()) for group in ordered}
    pair_counts, first_pair = _pair_counts(frame, len(texts), ordered, topics_of, count_pairs)
    for group in ordered:
        selection = frame.loc[frame["group"] == group]
        group_topics = topics_of[group]
        if pair_counts is not None:
            counts = pair_counts[first_pair[group]:first_pair[group] + len(group_topics)]
        else:
            joined = [" ".join(selection.loc[selection["topic"] == topic, "text"]) for topic in group_topics]
            counts = vectorizer.transform(clean_for_bag_of_words(joined, language))
        weights = ctfidf_transform(counts, idf, reduce_frequent_words=reduce_frequent_words)
        if global_tuning or evolution_tuning:
            weights = normalize(weights, axis=1, norm="l1")
        rows = []
        for index, topic in enumerate(group_topics):
            row = weights[index]
            if evolution_tuning and int(topic) in previous:
                row = (row + previous[int(topic)]) / 2.0
            if global_tuning:
                row = (global_rows[row_of_topic[int(topic)]] + row) / 2.0
            rows.append(sp.csr_matrix(row))
        tuned = sp.vstack(rows).tocsr()  # each row's layout as BERTopic's (sums sorted, plain rows not)
        previous = {int(topic): tuned[index] for index, topic in enumerate(group_topics)}
        state["previous"] = previous
        yield group, group_topics, tuned, selection["topic"].value_counts()


def _pair_counts(frame: pd.DataFrame, n_documents: int, ordered: list, topics_of: dict,
                 count_pairs: Callable[[np.ndarray, int], sp.csr_matrix] | None
                 ) -> tuple[sp.csr_matrix | None, dict]:
    """All (group, topic) rows at once from ``count_pairs``, group-major as the loop reads them."""
    if count_pairs is None:
        return None, {}
    first_pair, pair_of = {}, {}
    for group in ordered:
        first_pair[group] = len(pair_of)
        pair_of |= {(group, int(topic)): first_pair[group] + i for i, topic in enumerate(topics_of[group])}
    codes = np.full(n_documents, -1, dtype=np.int64)
    codes[frame.index.to_numpy()] = [pair_of[group, int(topic)] for group, topic in
                                     zip(frame["group"], frame["topic"], strict=True)]
    return count_pairs(codes, len(pair_of)), first_pair


def topics_per_group(texts: Sequence[str], topics: np.ndarray, groups: Sequence, *, top_n_words: int = 10,
                     vocabulary: np.ndarray | None = None, **tuning) -> pd.DataFrame:
    """One row per (group, topic present in it): topic_id, group, frequency, words (top 5,
    ", "-joined) and their weights. ``tuning`` is passed to ``tuned_group_ctfidf``.

    ``vocabulary`` (the fitted terms in column order) defaults to the vectorizer's; give it with
    ``count_pairs``, which needs no vectorizer at all.
    """
    if vocabulary is None:
        vocabulary = np.asarray(tuning["vectorizer"].get_feature_names_out())
    records = []
    for group, group_topics, tuned, frequency in tuned_group_ctfidf(texts, topics, groups, **tuning):
        candidates = top_words(tuned, vocabulary, max(top_n_words, CANDIDATE_WORDS))  # BERTopic's n: ties depend on it
        for topic, words in zip(group_topics, candidates, strict=True):
            shown = words[:GROUP_WORDS]
            records.append((int(topic), group, int(frequency[topic]), ", ".join(w for w, _ in shown),
                            [float(weight) for _, weight in shown]))
    return pd.DataFrame(records, columns=["topic_id", "group", "frequency", "words", "weights"])
