"""A store on S3 (moto's S3 server on 127.0.0.1) gives the same results as a local folder.

Every stage, the per-document embedding cache, publication, gc, the lock and the DuckDB
views run against a real S3 protocol endpoint, reached through s3fs exactly as AWS would be.
PCA instead of UMAP: the reducer does not matter here and each run takes seconds.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from conftest import newsgroups_slice_params

pytest.importorskip("moto.server", reason="moto[server] is not installed: pip install -c constraints.txt -e '.[dev]'")
pytest.importorskip("s3fs", reason="s3fs is not installed: pip install -c constraints.txt -e '.[dev]'")

from object_storage import new_bucket, s3_server  # noqa: E402

from assets.cli import main  # noqa: E402
from topic_pipeline.errors import StoreError  # noqa: E402
from topic_pipeline.params import parse_params  # noqa: E402
from topic_pipeline.pipeline import embedding  # noqa: E402
from topic_pipeline.pipeline.gc import apply_gc, plan_gc  # noqa: E402
from topic_pipeline.pipeline.runner import finish_step, materialize_stage, new_ledger  # noqa: E402
from topic_pipeline.pipeline.stages import STAGES  # noqa: E402
from topic_pipeline.pipeline.store import LOCK_STALE_SECONDS, StageStore  # noqa: E402
from topic_pipeline.pipeline.warehouse import database_path, query  # noqa: E402

VIEWS = {
    "documents": "doc_id", "document_topics": "doc_id", "topics": "topic_id",
    "topic_terms": "topic_id, aspect, rank", "topic_hierarchy": "parent_id", "topics_over_time": "topic_id, timestamp",
    "topics_per_class": "topic_id, class", "document_links": "doc_id", "topic_quality": "metric, topic_id",
}


@pytest.fixture(scope="module")
def endpoint():
    with s3_server() as url:
        yield url


@pytest.fixture
def s3_location(endpoint, monkeypatch):
    monkeypatch.setattr(embedding, "_REGISTERED_MODELS", {})  # a registered fake stays in its test
    return new_bucket()


def _params(limit: int = 300, **sections: dict):
    return parse_params(newsgroups_slice_params(limit, reduction={"method": "pca"}, **sections))


def _run(store: StageStore, params, run_id: str) -> dict[str, bool]:
    """Every stage in one run; which ones were computed (not reused)."""
    ledger = new_ledger(store, params, run_id, stages=list(STAGES))
    computed = {}
    for stage in STAGES:
        computed[stage] = materialize_stage(stage, params, store, run_id=run_id, ledger=ledger).computed
        finish_step(ledger, stage)
    return computed


def _views(store: StageStore) -> dict[str, pd.DataFrame]:
    return {view: query(store, f"SELECT * EXCLUDE (stage_key) FROM {view} ORDER BY {order}" if view == "topic_quality"
                        else f"SELECT * FROM {view} ORDER BY {order}") for view, order in VIEWS.items()}


def test_every_stage_on_s3_equals_the_local_run(s3_location, tmp_path):
    params = _params()
    local = StageStore(tmp_path / "local")
    remote = StageStore(s3_location, mirror=tmp_path / "mirror")
    assert all(_run(local, params, "local-run").values())
    assert all(_run(remote, params, "s3-run").values())

    assert remote.head()["stages"] == local.head()["stages"]  # the same keys: nothing depends on where
    for view, frame in _views(remote).items():
        pd.testing.assert_frame_equal(frame, _views(local)[view], obj=view)
    # the shared state is on S3, not in the mirror
    bucket = remote.shared
    assert (bucket / "_current.json").exists() and not (tmp_path / "mirror" / "_current.json").exists()
    for stage, key in remote.head()["stages"].items():
        assert (bucket / stage / key / "manifest.json").exists(), stage
    assert list((bucket / "_runs").iterdir()) and list((bucket / "_stage_runs").glob("*.json"))
    assert query(remote, "SELECT count(*) AS n FROM stage_runs")["n"][0] == len(STAGES)
    assert query(remote, "SELECT count(DISTINCT stage) AS n FROM stage_versions")["n"][0] == len(STAGES)
    # the DuckDB file on this machine reads S3 too, once the store's filesystem is registered
    import duckdb

    with duckdb.connect(str(database_path(remote)), read_only=True) as connection:
        connection.register_filesystem(remote.shared.fs)
        assert connection.sql("SELECT count(*) FROM documents").fetchall() == [(300,)]


def test_another_machine_reuses_every_output_and_the_embedding_cache(s3_location, tmp_path):
    texts = [f"posting {i} about {'space rockets' if i % 2 else 'hockey games'} number {i % 7}" for i in range(60)]
    corpus = tmp_path / "corpus.parquet"
    pd.DataFrame({"doc_id": [f"d{i}" for i in range(60)], "text": texts}).to_parquet(corpus)
    model = _LetterModel()
    params = parse_params({"corpus": {"source": str(corpus), "inbox": None},
                           "embedding": {"model": embedding.register_model(model)},
                           "reduction": {"method": "pca", "n_components": 2},
                           "clustering": {"min_cluster_size": 5}})
    first = StageStore(s3_location, mirror=tmp_path / "machine-a")
    assert all(_run(first, params, "machine-a").values())
    assert model.encoded == 60

    second = StageStore(s3_location, mirror=tmp_path / "machine-b")  # nothing on this machine's disk yet
    assert not any(_run(second, params, "machine-b").values())
    pd.testing.assert_frame_equal(query(second, "SELECT * FROM topics ORDER BY topic_id"),
                                  query(first, "SELECT * FROM topics ORDER BY topic_id"))

    # the same texts under other ids on a third machine: embedded by nobody, read from the cache on S3
    pd.DataFrame({"doc_id": [f"other-{i}" for i in range(60)], "text": texts}).to_parquet(corpus)
    third = StageStore(s3_location, mirror=tmp_path / "machine-c")
    materialize_stage("documents", params, third, run_id="machine-c")
    outcome = materialize_stage("embeddings", params, third, run_id="machine-c")
    assert outcome.computed and outcome.metadata["newly_embedded"] == 0 and model.encoded == 60


def test_gc_on_s3_deletes_what_nothing_uses_and_keeps_the_rest(s3_location, tmp_path):
    store = StageStore(s3_location, mirror=tmp_path / "mirror")
    _run(store, _params(clustering={"min_cluster_size": 10}), "first")
    old = dict(store.head()["stages"])
    _run(store, _params(clustering={"min_cluster_size": 25}), "second")
    new = store.head()["stages"]
    # an upload cut short an hour ago: files, no manifest
    broken = store.shared / "clusters" / ("0" * 16)
    (broken / "labels.npy").write_bytes(b"partial")
    plan = plan_gc(store, keep_runs=0, now=time.time() + 7200)
    assert broken in plan.temporaries
    planned = {str(path) for path in plan.outputs}
    stale = [stage for stage in STAGES if old[stage] != new[stage]]
    assert stale and all(str(store.shared / stage / old[stage]) in planned for stage in stale)
    before = _views(store)

    deleted = {str(path) for path in apply_gc(store, plan_gc(store, keep_runs=0), keep_runs=0)}
    assert all(str(store.shared / stage / old[stage]) in deleted for stage in stale)
    for stage in stale:
        assert not (store.shared / stage / old[stage]).exists()
        assert not (tmp_path / "mirror" / stage / old[stage]).exists()  # this machine's copy went too
    assert all(store.has(stage, key) for stage, key in new.items())
    for view, frame in _views(store).items():
        pd.testing.assert_frame_equal(frame, before[view], obj=view)
    assert all(materialize_stage(s, _params(clustering={"min_cluster_size": 25}), store, run_id="again").computed
               is False for s in ("documents", "embeddings"))


def test_the_lock_on_s3_admits_one_holder_and_breaks_only_a_stale_lock(s3_location, tmp_path, monkeypatch):
    store = StageStore(s3_location, mirror=tmp_path / "mirror")
    inside, overlaps = [], []

    def hold() -> None:
        with store.lock():
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=hold) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1] * 6

    lock = store.shared / "_locks" / "store.lock"
    lock.write_bytes(b"a holder that died")  # never renewed: broken after LOCK_STALE_SECONDS
    with pytest.raises(StoreError, match="stayed taken"):
        with store.lock(timeout=0.5):
            pass
    assert lock.read_bytes() == b"a holder that died"
    from topic_pipeline.pipeline import object_lock

    real_now = object_lock.datetime.now
    monkeypatch.setattr(object_lock, "datetime", _Clock(real_now, LOCK_STALE_SECONDS + 5))
    with store.lock(timeout=5):
        assert lock.read_bytes() != b"a holder that died"
    assert not lock.exists()


def test_an_unreachable_bucket_is_one_clear_line(endpoint, tmp_path, monkeypatch, capsys, write_params):
    with pytest.raises(StoreError, match=r"^The store s3://no-such-bucket-here/x cannot be reached"):
        StageStore("s3://no-such-bucket-here/x", mirror=tmp_path / "mirror")
    write_params(newsgroups_slice_params(50) | {"store": {"root": "s3://no-such-bucket-here/x"}})
    monkeypatch.delenv("TOPIC_PIPELINE_DATA", raising=False)
    assert main(["run"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "s3://no-such-bucket-here/x cannot be reached" in err[0], err


def test_the_cli_runs_and_queries_a_store_named_in_params(s3_location, tmp_path, monkeypatch, capsys, write_params):
    write_params(newsgroups_slice_params(120, reduction={"method": "pca"})
                 | {"store": {"root": s3_location, "mirror": str(tmp_path / "mirror")}})
    monkeypatch.delenv("TOPIC_PIPELINE_DATA", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["run"]) == 0
    assert s3_location in capsys.readouterr().out
    assert main(["sql", "SELECT count(*) AS n FROM documents", "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "120"]
    assert StageStore(s3_location, mirror=tmp_path / "elsewhere").current("topic_representations")


class _Clock:
    """``datetime`` with ``now`` moved ahead, so a lock looks as old as a dead holder's."""

    def __init__(self, now, ahead: float) -> None:
        self._now, self._ahead = now, ahead

    def now(self, tz=None):
        from datetime import timedelta

        return self._now(tz) + timedelta(seconds=self._ahead)


class _LetterModel:
    """A tiny embedding model (letter counts through a fixed projection) that counts what it embeds."""

    def __init__(self) -> None:
        self.weights = np.random.default_rng(3).normal(size=(26, 8)).astype(np.float32)
        self.encoded = 0

    def state_dict(self):
        return {"projection": self.weights}

    def get_embedding_dimension(self):
        return 8

    def encode(self, texts, batch_size=32, show_progress_bar=False, normalize_embeddings=False, convert_to_numpy=True):
        self.encoded += len(texts)
        counts = np.array([[t.lower().count(c) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts], np.float32)
        return counts @ self.weights
