"""What a run with nothing (or little) to do costs: no Dagster when nothing changed, no corpus read when it did not
change, optional stages switched off."""

import os
import shutil

import pandas as pd
import pytest
from conftest import newsgroups_slice_params

from assets.cli import main
from topic_pipeline.pipeline.stage_outputs import HierarchyOutput, OverTimeOutput, PerClassOutput
from topic_pipeline.pipeline.stages import STAGES
from topic_pipeline.pipeline.store import StageStore


def _stage_lines(out: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[1] for line in out.splitlines() if line.split() and line.split()[0] in STAGES}


@pytest.fixture
def two_runs(write_params, data_root, capsys):
    params = newsgroups_slice_params(150)
    path = write_params(params)
    assert main(["run"]) == 0
    capsys.readouterr()
    return path, params


def test_nothing_changed_skips_dagster_and_anything_else_runs_it(two_runs, capsys, monkeypatch, data_root):
    path, params = two_runs
    import dagster

    def no_dagster(*args, **kwargs):
        raise AssertionError("Dagster was started for a run with nothing to do")

    with monkeypatch.context() as patched:
        patched.setattr(dagster.JobDefinition, "execute_in_process", no_dagster)
        assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "Nothing changed since the last run" in out
    assert set(_stage_lines(out).values()) == {"reused"} and set(_stage_lines(out)) == set(STAGES)

    assert main(["run", "--force"]) == 0  # through Dagster: every stage reused
    assert set(_stage_lines(capsys.readouterr().out).values()) == {"reused"}

    store = StageStore(data_root)
    report = store.output_dir("topic_report", store.current("topic_report"))
    shutil.rmtree(report)  # an output gone from the store: the run must notice and recompute it
    assert main(["run"]) == 0
    assert _stage_lines(capsys.readouterr().out)["topic_report"] == "computed"

    import yaml
    path.write_text(yaml.safe_dump({**params, "representation": {"top_n_words": 12}}))
    assert main(["run"]) == 0
    lines = _stage_lines(capsys.readouterr().out)
    assert lines["topic_representations"] == "computed" and lines["clusters"] == "reused"


def test_an_unchanged_corpus_is_not_read_but_a_rewritten_one_is(tmp_path, write_params, data_root, capsys,
                                                                 monkeypatch):
    from conftest import NEWSGROUPS

    from topic_pipeline.pipeline.stages import ingest

    corpus = tmp_path / "corpus.jsonl"
    pd.read_parquet(NEWSGROUPS).iloc[:120][["doc_id", "text", "label"]].to_json(corpus, orient="records", lines=True)
    params = newsgroups_slice_params(120)
    params["corpus"] = {**params["corpus"], "source": str(corpus)}
    write_params(params)
    assert main(["run"]) == 0

    def must_not_read(*args, **kwargs):
        raise AssertionError("the corpus was read again")

    with monkeypatch.context() as patched:
        patched.setattr(ingest, "load_documents", must_not_read)
        ingest._LOADED.clear()
        assert main(["run", "--force"]) == 0  # a Dagster run whose documents stage trusts the remembered digest
    capsys.readouterr()
    # one letter changed in place: the same size and modification time, other content
    status = os.stat(corpus)
    data = corpus.read_bytes()
    at = data.index(b"e", data.index(b"\n") + 1)
    corpus.write_bytes(data[:at] + b"a" + data[at + 1:])
    os.utime(corpus, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert os.stat(corpus).st_size == status.st_size
    ingest._LOADED.clear()
    assert main(["run"]) == 0
    assert _stage_lines(capsys.readouterr().out)["documents"] == "computed"


def test_optional_stages_switched_off_leave_empty_outputs(write_params, data_root, capsys):
    write_params(newsgroups_slice_params(150, hierarchy={"enabled": False},
                                         over_time={"enabled": False, "per_class": False}))
    assert main(["run"]) == 0
    store = StageStore(data_root)
    assert HierarchyOutput(store.current_dir("topic_hierarchy")).read().empty
    assert OverTimeOutput(store.current_dir("topics_over_time")).read().empty
    assert PerClassOutput(store.current_dir("topics_per_class")).read().empty
    capsys.readouterr()
    assert main(["sql", "SELECT count(*) AS n FROM topics_over_time", "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "0"]


def test_a_remembered_digest_that_no_longer_matches_is_refused_once_then_forgotten(tmp_path, write_params, data_root,
                                                                                   capsys, monkeypatch):
    """Files whose signature did not change but whose content reads differently (an edit the signature cannot
    see, or a new version parsing them otherwise) are taken as unchanged while their output is stored (the
    trade the signature makes); once that output is gone, one clear error, and the next run reads them afresh."""
    from conftest import NEWSGROUPS

    from topic_pipeline.pipeline.stages import ingest

    corpus = tmp_path / "corpus.jsonl"
    frame = pd.read_parquet(NEWSGROUPS).iloc[:120][["doc_id", "text", "label"]]
    frame.to_json(corpus, orient="records", lines=True)
    params = newsgroups_slice_params(120)
    params["corpus"] = {**params["corpus"], "source": str(corpus)}
    write_params(params)
    monkeypatch.setattr(ingest, "files_signature", lambda corpus_params: ["always the same"])
    assert main(["run"]) == 0
    frame.assign(text=frame["text"].str.upper()).to_json(corpus, orient="records", lines=True)
    store = StageStore(data_root)
    shutil.rmtree(store.output_dir("documents", store.current("documents")))  # as gc would
    ingest._LOADED.clear()
    assert main(["run", "--force"]) == 1
    assert "no longer matches the digest remembered" in capsys.readouterr().err
    ingest._LOADED.clear()
    assert main(["run"]) == 0
    assert _stage_lines(capsys.readouterr().out)["documents"] == "computed"
