"""The typed stage outputs: what each writes, optional parts, partitions read as one."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from topic_pipeline.core.vectorize import TopicBags
from topic_pipeline.errors import StageInputError
from topic_pipeline.params import parse_params
from topic_pipeline.pipeline.stage_outputs import (
    AssignmentsOutput,
    ClustersOutput,
    DocumentsOutput,
    EmbeddingsOutput,
    OverTimeOutput,
    VectorizedBagsOutput,
    WarehouseOutput,
)
from topic_pipeline.pipeline.stages import StepContext
from topic_pipeline.pipeline.store import StageStore


def _clusters() -> pd.DataFrame:
    return pd.DataFrame({"doc_id": ["a", "b", "c"], "cluster": [0, 1, -1], "probability": [0.9, 0.8, 0.0],
                         "fitted": [True, True, True]})


def test_optional_parts_are_none_when_not_written(tmp_path):
    output = ClustersOutput(tmp_path)
    output.write(_clusters())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clusters.parquet"]
    assert output.membership() is None and output.zeroshot_topics() is None and output.fitted_model_file() is None
    pd.testing.assert_frame_equal(output.read(), _clusters())


def test_optional_parts_round_trip(tmp_path):
    membership = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    zeroshot = pd.DataFrame({"topic_id": [0], "name": ["space"], "documents": [1]})
    clusters = ClustersOutput(tmp_path / "clusters")
    clusters.folder.mkdir()
    clusters.write(_clusters(), membership=membership, zeroshot=zeroshot)
    assert sorted(p.name for p in clusters.folder.iterdir()) == [
        "clusters.parquet", "membership.npy", "zeroshot_topics.parquet"]
    np.testing.assert_array_equal(clusters.membership(), membership)
    pd.testing.assert_frame_equal(clusters.zeroshot_topics(), zeroshot)

    assignments = AssignmentsOutput(tmp_path / "assignments")
    assignments.folder.mkdir()
    table = pd.DataFrame({"doc_id": ["a"], "topic_id": [0], "probability": [0.9], "cluster": [1]})
    assignments.write(table, {1: 0, -1: -1}, zeroshot=zeroshot)
    assert assignments.cluster_topics().to_dict("list") == {"cluster": [1, -1], "topic_id": [0, -1]}
    assert assignments.membership() is None
    pd.testing.assert_frame_equal(assignments.zeroshot_topics(), zeroshot)
    assert assignments.read(["topic_id"])["topic_id"].tolist() == [0]


def test_bags_round_trip_as_topic_bags(tmp_path):
    bags = TopicBags(topic_ids=np.array([-1, 0, 1]), vocabulary=np.array(["ball", "vote"], dtype=object),
                     topic_term_counts=sp.csr_matrix(np.array([[1, 0], [3, 0], [0, 2]])),
                     doc_term_counts=sp.csr_matrix(np.array([[1, 1], [0, 2]])))
    VectorizedBagsOutput(tmp_path).write(bags)
    back = VectorizedBagsOutput(tmp_path).read()
    assert back.topic_ids.tolist() == [-1, 0, 1] and back.vocabulary.tolist() == ["ball", "vote"]
    assert (back.topic_term_counts != bags.topic_term_counts).nnz == 0
    assert (back.doc_term_counts != bags.doc_term_counts).nnz == 0


def test_partitions_are_read_as_one_in_partition_order(tmp_path):
    weeks = [tmp_path / "w1", tmp_path / "w2"]
    for offset, week in enumerate(weeks):
        week.mkdir()
        ids = pd.Series([f"d{offset}a", f"d{offset}b"])
        DocumentsOutput(week).write(pd.DataFrame({"doc_id": ids, "text": ["x", "y"]}), pd.DataFrame({"doc_id": []}))
        EmbeddingsOutput(week).write(ids, np.full((2, 3), offset, dtype=np.float32), pd.Series(["h1", "h2"]))
    assert DocumentsOutput.read_partitions(weeks, ["doc_id"])["doc_id"].tolist() == ["d0a", "d0b", "d1a", "d1b"]
    vectors = EmbeddingsOutput.vectors_of_partitions(weeks)
    assert vectors.dtype == np.float32 and vectors[:, 0].tolist() == [0, 0, 1, 1]

    ctx = StepContext(params=parse_params({}), inputs={"documents": weeks, "embeddings": weeks}, out=tmp_path,
                      store=StageStore(tmp_path), log=logging.getLogger("test"))
    assert ctx.documents(["doc_id"])["doc_id"].tolist() == ["d0a", "d0b", "d1a", "d1b"]
    assert ctx.embeddings(["doc_hash"])["doc_hash"].tolist() == ["h1", "h2", "h1", "h2"]
    with pytest.raises(StageInputError, match="Input 'documents' has 2 partitions where one output was expected"):
        ctx.input(DocumentsOutput)


@pytest.mark.parametrize(("rows", "files"), [
    ({}, ["last_bin_topics.npy", "topics_over_time.parquet"]),  # no topic in the last bin: no matrix file
    ({3: sp.csr_matrix([[0.5, 0.0]]), 1: sp.csr_matrix([[0.0, 0.25]])},
     ["last_bin_rows.npz", "last_bin_topics.npy", "topics_over_time.parquet"]),
])
def test_tuned_rows_round_trip(tmp_path, rows, files):
    output = OverTimeOutput(tmp_path)
    output.write(pd.DataFrame({"topic_id": [1], "frequency": [2]}), rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    back = output.tuned_rows()
    assert sorted(back) == sorted(rows) and all((back[t] != rows[t]).nnz == 0 for t in rows)


def test_views_round_trip(tmp_path):
    WarehouseOutput(tmp_path).write(["CREATE VIEW a AS SELECT 1", "CREATE VIEW b AS SELECT 2"])
    assert (tmp_path / "views.sql").read_text() == "CREATE VIEW a AS SELECT 1;\nCREATE VIEW b AS SELECT 2;\n"
    assert WarehouseOutput(tmp_path).views() == ["CREATE VIEW a AS SELECT 1", "CREATE VIEW b AS SELECT 2"]
