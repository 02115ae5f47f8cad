"""New documents through the inbox sensor, time-window partitions, backfills and the schedule."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS, newsgroups_slice_params

from assets.definitions import build_definitions
from assets.sensors import RANGE_END_TAG, RANGE_START_TAG
from topic_pipeline.params import EmbeddingParams
from topic_pipeline.pipeline.embedding import model_cache_key
from topic_pipeline.pipeline.stage_outputs import EmbeddingsOutput
from topic_pipeline.pipeline.store import StageStore
from topic_pipeline.pipeline.warehouse import query

ROOT = Path(__file__).resolve().parents[2]


def _distinct_posts() -> pd.DataFrame:
    frame = pd.read_parquet(NEWSGROUPS, columns=["doc_id", "text", "label", "timestamp"])
    frame = frame.loc[frame["text"].str.strip().str.len() > 40].drop_duplicates("text")
    return frame.loc[frame["timestamp"].notna()].reset_index(drop=True)


def _run(defs, instance, request=None):
    result = dg.materialize(
        list(defs.assets), resources=defs.resources, instance=instance, raise_on_error=False,
        selection=request.asset_selection if request else None, tags=request.tags if request else None,
        partition_key=request.partition_key if request else None,
    )
    return result


def _tick(defs, instance, cursor):
    sensor = defs.get_sensor_def("inbox_sensor")
    result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                            resources={"pipeline": defs.resources["pipeline"]}))
    return result.run_requests, result.cursor


def _computed(result):
    return {e.asset_key.to_user_string(): e.materialization.metadata["computed"].value
            for e in result.get_asset_materialization_events()}


@pytest.fixture
def inbox_setup(tmp_path, write_params, data_root):
    posts = _distinct_posts()
    corpus = tmp_path / "corpus.parquet"
    posts.iloc[:150].to_parquet(corpus)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_params({"corpus": {"source": str(corpus), "inbox": str(inbox)}})
    return posts, inbox, data_root


def test_inbox_file_is_embedded_once_and_flows_to_every_view(inbox_setup):
    posts, inbox, root = inbox_setup
    defs, instance = build_definitions(), dg.DagsterInstance.ephemeral()
    assert _run(defs, instance).success
    requests, cursor = _tick(defs, instance, None)
    assert requests == []

    new = posts.iloc[1000:1300]
    new.to_csv(inbox / "new_posts.csv", index=False)
    requests, cursor = _tick(defs, instance, cursor)
    assert len(requests) == 1 and requests[0].tags["topic_pipeline/inbox_file"] == str(inbox / "new_posts.csv")
    result = _run(defs, instance, requests[0])
    assert result.success
    embedded = [e.materialization.metadata for e in result.get_asset_materialization_events()
                if e.asset_key.to_user_string() == "embeddings"][0]
    assert embedded["newly_embedded"].value == 300
    store = StageStore(root)
    hashes, vectors = store.cached_embeddings(model_cache_key(EmbeddingParams()))
    assert len(hashes) == len(set(hashes)) == 450 and vectors.shape == (450, 384)
    counts = query(store, """
        SELECT (SELECT count(*) FROM documents) AS documents,
               (SELECT count(*) FROM document_topics) AS assigned,
               (SELECT CAST(sum(size) AS INTEGER) FROM topics) AS in_topics,
               (SELECT CAST(sum(frequency) AS INTEGER) FROM topics_over_time) AS over_time,
               (SELECT count(*) FROM documents WHERE doc_id IN (SELECT doc_id FROM document_topics)) AS joined
    """).iloc[0].to_dict()
    assert counts == {"documents": 450, "assigned": 450, "in_topics": 450, "over_time": 450, "joined": 450}
    new_runs = query(store, f"SELECT stage FROM stage_runs WHERE run_id = '{result.run_id}' AND computed")
    assert "embeddings" in set(new_runs["stage"])

    requests, cursor = _tick(defs, instance, cursor)
    assert requests == []  # processed once

    shutil.copy(inbox / "new_posts.csv", inbox / "tmp.csv")
    os.replace(inbox / "tmp.csv", inbox / "new_posts.csv")  # dropped again: same content, new file
    requests, cursor = _tick(defs, instance, cursor)
    assert len(requests) == 1
    again = _run(defs, instance, requests[0])
    assert again.success and not any(_computed(again).values())
    assert len(store.cached_embeddings(model_cache_key(EmbeddingParams()))[0]) == 450


def test_bad_inbox_file_fails_its_own_run_only(inbox_setup):
    posts, inbox, root = inbox_setup
    defs, instance = build_definitions(), dg.DagsterInstance.ephemeral()
    assert _run(defs, instance).success
    store = StageStore(root)
    before = {stage: store.current(stage) for stage in ("documents", "embeddings", "topic_assignments")}
    _, cursor = _tick(defs, instance, None)

    posts.iloc[2000:2010].rename(columns={"text": "body"}).to_csv(inbox / "a_bad.csv", index=False)
    (inbox / "c_unreadable.parquet").write_bytes(b"PAR1 this is not parquet")
    posts.iloc[2020:2025].assign(timestamp="next tuesday").to_csv(inbox / "d_dates.csv", index=False)
    repeated = posts.iloc[[0, 1]].assign(doc_id=["again-0", "again-1"])  # known texts under new ids: linked
    pd.concat([posts.iloc[2010:2020], repeated]).to_csv(inbox / "b_good.csv", index=False)
    requests, cursor = _tick(defs, instance, cursor)
    by_file = {Path(r.tags["topic_pipeline/inbox_file"]).name: r for r in requests}
    assert set(by_file) == {"a_bad.csv", "b_good.csv", "c_unreadable.parquet", "d_dates.csv"}

    problems = {"a_bad.csv": "no text column 'text'", "c_unreadable.parquet": "cannot be read",
                "d_dates.csv": "row 0, column 'timestamp': cannot parse timestamp 'next tuesday'"}
    for name, problem in problems.items():
        bad = _run(defs, instance, by_file[name])
        assert not bad.success
        message = bad.get_step_failure_events()[0].step_failure_data.user_failure_data.description
        assert message.startswith(f"Inbox file {inbox / name}:") and problem in message, message
        assert {stage: store.current(stage) for stage in before} == before

    good = _run(defs, instance, by_file["b_good.csv"])
    assert good.success
    assert query(store, "SELECT count(*) AS n FROM documents")["n"].iloc[0] == 160
    links = query(store, "SELECT doc_id, duplicate_of FROM document_links ORDER BY doc_id")
    assert links.to_dict("list") == {"doc_id": ["again-0", "again-1"], "duplicate_of": posts["doc_id"].iloc[:2].tolist()}


def _partitioned_params(limit=400):
    params = newsgroups_slice_params(limit, partitions={"granularity": "week", "start": "1993-01-03"})
    return params


def test_weekly_backfill_from_the_command_line_then_one_week(tmp_path):
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(_partitioned_params()))
    root = tmp_path / "warehouse"
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = os.environ | {"TOPIC_PIPELINE_PARAMS": str(params_file), "TOPIC_PIPELINE_DATA": str(root),
                        "DAGSTER_HOME": str(home)}
    dg_bin = Path(sys.executable).with_name("dg")
    # the slice's posts are dated 1993-04-03 .. 1993-05-28: weeks starting 1993-03-28 .. 1993-05-23
    backfill = subprocess.run([str(dg_bin), "launch", "--assets", "*", "--partition-range", "1993-03-28...1993-05-23"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    store = StageStore(root)
    weeks = query(store, "SELECT DISTINCT strftime(timestamp, '%Y-%m-%d') AS week FROM topics_over_time ORDER BY 1")
    assert weeks["week"].tolist() == [f"1993-{d}" for d in
                                      ("03-28", "04-04", "04-11", "04-18", "04-25", "05-02", "05-09", "05-16", "05-23")]
    per_week = query(store, "SELECT CAST(sum(frequency) AS INTEGER) AS n FROM topics_over_time")["n"].iloc[0]
    assert per_week == query(store, "SELECT count(*) AS n FROM documents WHERE timestamp IS NOT NULL")["n"].iloc[0]
    # a week's embeddings are the precomputed rows of its own posts
    week = store.current_dir("embeddings", "1993-04-18")
    table = EmbeddingsOutput(week).read()
    position = {doc_id: row for row, doc_id in enumerate(pd.read_parquet(NEWSGROUPS, columns=["doc_id"])["doc_id"])}
    reference = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")
    assert len(table) > 10
    assert np.array_equal(np.vstack(table["vector"].to_numpy()), reference[[position[d] for d in table["doc_id"]]])

    rerun = subprocess.run([sys.executable, "-m", "assets.cli", "run", "--partition", "1993-04-18"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    runs = query(store, "SELECT stage, partition, computed FROM stage_runs WHERE run_id = "
                        "(SELECT run_id FROM stage_runs ORDER BY started_at DESC LIMIT 1)")
    partitioned = runs.loc[runs["stage"].isin(["documents", "embeddings", "topics_over_time"])]
    assert set(partitioned["partition"]) == {"1993-04-18"} and len(partitioned) == 3
    assert not runs["computed"].any()  # same data: that week's outputs and the global model are reused


def test_sensor_requests_the_weeks_a_file_touches_and_schedule_the_latest(tmp_path, write_params, data_root,
                                                                          newsgroups_vectors_parquet):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    params = _partitioned_params()
    params["corpus"]["inbox"] = str(inbox)
    params["embedding"]["precomputed"] = str(newsgroups_vectors_parquet)
    write_params(params)
    defs, instance = build_definitions(), dg.DagsterInstance.ephemeral()
    posts = _distinct_posts()
    posts.loc[(posts["timestamp"] >= "1993-04-05") & (posts["timestamp"] < "1993-04-20")].head(20).to_parquet(
        inbox / "april.parquet")
    requests, cursor = _tick(defs, instance, None)
    assert len(requests) == 1
    assert (requests[0].tags[RANGE_START_TAG], requests[0].tags[RANGE_END_TAG]) == ("1993-04-04", "1993-04-18")
    stat = (inbox / "april.parquet").stat()
    assert json.loads(cursor) == {str(inbox / "april.parquet"): f"{stat.st_mtime_ns}:{stat.st_size}"}
    assert _tick(defs, instance, cursor)[0] == []

    # the requested range runs in one run: those weeks' partitions and the model over them
    result = dg.materialize(list(defs.assets), resources=defs.resources, instance=instance, tags=requests[0].tags)
    assert result.success
    store = StageStore(data_root)
    assert sorted(store.current_partitions("topics_over_time")) == ["1993-04-04", "1993-04-11", "1993-04-18"]
    assert query(store, "SELECT count(*) AS n FROM documents")["n"].iloc[0] >= 20

    schedule = defs.get_schedule_def("refresh_latest_window")
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=pd.Timestamp("1993-05-04 01:00", tz="UTC"))
    run_requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in run_requests] == ["1993-05-02"]  # the week in progress (end_offset=1)
