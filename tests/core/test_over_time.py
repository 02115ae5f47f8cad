"""Topics over time and per class: parity with BERTopic, and evolution tuning that works."""

import copy

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS

from benchmarks.parity import topic_id_mapping
from topic_pipeline.core.over_time import bin_timestamps, topics_per_group, tuned_group_ctfidf
from topic_pipeline.core.vectorize import make_vectorizer
from topic_pipeline.params import VectorizerParams, parse_params
from topic_pipeline.pipeline.runner import materialize_stage
from topic_pipeline.pipeline.stage_outputs import (
    AssignmentsOutput,
    CtfidfOutput,
    DocumentsOutput,
    OverTimeOutput,
    PerClassOutput,
    VectorizedBagsOutput,
)


def _ours(store, stage, **over_time):
    params = parse_params({
        "corpus": {"source": str(NEWSGROUPS), "limit": 2000, "inbox": None},
        "embedding": {"precomputed": str(NEWSGROUPS_EMBEDDINGS)},
        "clustering": {"min_cluster_size": 5},
        "over_time": over_time,
    })
    outcome = materialize_stage(stage, params, store, run_id="test")
    return {"topics_over_time": OverTimeOutput, "topics_per_class": PerClassOutput}[stage](outcome.output_dir).read()


@pytest.mark.parametrize("global_tuning", [True, False])
def test_topics_over_time_equal_bertopic(fitted_slice, global_tuning):
    texts, ours, theirs = fitted_slice
    to_theirs = topic_id_mapping(ours, theirs)
    stamps = pd.read_parquet(NEWSGROUPS, columns=["timestamp"])["timestamp"].iloc[: len(texts)]
    dated = stamps.notna().to_numpy()
    # on a copy: BERTopic's global tuning l1-normalises its c_tf_idf_ in place (normalize(copy=False)), which
    # would change the session's shared BERTopic fit for every later test
    reference = copy.deepcopy(theirs.model).topics_over_time(
        [t for t, d in zip(texts, dated) if d], list(stamps[dated]), topics=list(theirs.topics[dated]),
        nr_bins=10, global_tuning=global_tuning, evolution_tuning=False,
    )
    table = _ours(ours.model, "topics_over_time", nr_bins=10, global_tuning=global_tuning, evolution_tuning=False)
    assert len(table) == len(reference)
    docs = DocumentsOutput(ours.model.current_dir("documents")).read()
    rows = _tuned_rows(ours.model, bin_timestamps(docs["timestamp"], 10), global_tuning)
    mine = {(to_theirs[r.topic_id], r.timestamp): r for r in table.itertuples()}
    tie_ordered = 0
    for row in reference.itertuples():
        match = mine[(row.Topic, pd.Timestamp(row.Timestamp))]
        assert match.frequency == row.Frequency
        if match.words != row.Words:  # equal weights in another order (BERTopic's order depends on numpy's sort)
            weight = rows[(match.topic_id, pd.Timestamp(match.timestamp))]
            assert [weight.get(w, 0.0) for w in row.Words.split(", ")] == pytest.approx(list(match.weights), abs=1e-12)
            tie_ordered += 1
    assert tie_ordered < len(reference) / 2  # here 88 of 341 rows: bins where a small topic has one post


def _tuned_rows(store, groups, global_tuning):
    """Our tuned c-TF-IDF row per (topic, group) as {term: weight}, to compare tied words."""
    bags, weights = VectorizedBagsOutput(store.current_dir("vectorized_bags")), CtfidfOutput(store.current_dir("ctfidf"))
    vocabulary = bags.vocabulary().tolist()
    docs = DocumentsOutput(store.current_dir("documents")).read()
    result = {}
    for group, topics, tuned, _ in tuned_group_ctfidf(
        docs["text"].tolist(),
        AssignmentsOutput(store.current_dir("topic_assignments")).read(["topic_id"])["topic_id"].to_numpy(),
        groups,
        vectorizer=make_vectorizer(VectorizerParams()).set_params(vocabulary=vocabulary),
        language="english", idf=weights.idf(), reduce_frequent_words=False,
        topic_ids=bags.topic_ids(),
        global_ctfidf=weights.weights(), global_tuning=global_tuning, evolution_tuning=False,
    ):
        for index, topic in enumerate(topics):
            row = tuned[index]
            result[(int(topic), group)] = {vocabulary[c]: v for c, v in zip(row.indices, row.data)}
    return result


def test_topics_per_class_equal_bertopic(fitted_slice):
    texts, ours, theirs = fitted_slice
    to_theirs = topic_id_mapping(ours, theirs)
    labels = pd.read_parquet(NEWSGROUPS, columns=["label"])["label"].iloc[: len(texts)].tolist()
    # on a copy: BERTopic's global tuning l1-normalises its c_tf_idf_ in place (normalize(copy=False)), which
    # would change the session's shared BERTopic fit for every later test
    reference = copy.deepcopy(theirs.model).topics_per_class(texts, labels, global_tuning=True)
    table = _ours(ours.model, "topics_per_class")
    assert len(table) == len(reference)
    rows = _tuned_rows(ours.model, labels, True)
    mine = {(to_theirs[r.topic_id], r._2): r for r in table.itertuples()}
    tie_ordered = 0
    for row in reference.itertuples():
        match = mine[(row.Topic, row.Class)]
        assert match.frequency == row.Frequency
        if match.words != row.Words:
            weight = rows[(match.topic_id, row.Class)]
            assert [weight.get(w, 0.0) for w in row.Words.split(", ")] == pytest.approx(list(match.weights), abs=1e-12)
            tie_ordered += 1
    assert tie_ordered < len(reference) / 2


def _toy(evolution_tuning, global_tuning=False):
    vectorizer = make_vectorizer(VectorizerParams()).set_params(vocabulary=["apple", "banana", "cherry"])
    return topics_per_group(
        ["apple apple cherry", "banana banana cherry"], np.array([0, 0]), [1, 2],
        vectorizer=vectorizer, language="english", idf=np.ones(3), reduce_frequent_words=False,
        topic_ids=np.array([0]), global_ctfidf=sp.csr_matrix(np.array([[1.0, 1.0, 1.0]])),
        global_tuning=global_tuning, evolution_tuning=evolution_tuning,
    )


def test_evolution_tuning_averages_with_the_previous_bin():
    # bin 2 alone: banana 2/3, cherry 1/3. Averaged with bin 1 (apple 2/3, cherry 1/3):
    # cherry 1/3, banana 1/3, apple 1/3 -> all three words, tied, in the order BERTopic's numpy calls give
    # them (it was by column before; test_ctfidf_and_words pins the tie order against BERTopic).
    plain, evolved = _toy(False), _toy(True)
    assert plain["words"].tolist() == ["apple, cherry, , , ", "banana, cherry, , , "]
    assert evolved["words"].iloc[0] == "apple, cherry, , , "
    assert sorted(evolved["words"].iloc[1].split(", ")[:3]) == ["apple", "banana", "cherry"]
    assert evolved["words"].iloc[1].endswith(", , ")
    assert evolved["frequency"].tolist() == [1, 1]


def test_bins_are_left_edges_of_pandas_cut():
    stamps = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-10", None], utc=True))
    bins = bin_timestamps(stamps, 3)
    assert bins.iloc[0] < pd.Timestamp("2024-01-01", tz="UTC")  # pandas widens the first edge by 0.1 %
    assert bins.iloc[0] == bins.iloc[1] and bins.iloc[2] > bins.iloc[1] and pd.isna(bins.iloc[3])
