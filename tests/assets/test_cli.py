"""The `topic-pipeline` command: run, sql in three formats, errors as one clear line."""

import json

import pytest
from conftest import newsgroups_slice_params

from assets.cli import main
from topic_pipeline.pipeline.stage_outputs import RepresentationsOutput
from topic_pipeline.pipeline.store import StageStore


@pytest.fixture
def small_run(write_params, data_root):
    write_params(newsgroups_slice_params(200))
    assert main(["run"]) == 0
    return data_root


def test_run_then_query_in_each_format(small_run, capsys):
    capsys.readouterr()
    assert main(["sql", "SELECT count(*) AS n FROM documents", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 200}]
    assert main(["sql", "SELECT topic_id, size FROM topics ORDER BY topic_id LIMIT 2", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "topic_id,size"
    assert main(["sql", "SELECT CAST(sum(size) AS INTEGER) AS total FROM topics"]) == 0
    assert capsys.readouterr().out.split() == ["total", "200"]
    assert main(["sql", "SELECT count(*) AS n FROM document_topics JOIN documents USING (doc_id)", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 200}]


def test_pictures_are_written_beside_the_topics(small_run):
    from PIL import Image

    folder = StageStore(small_run).current_dir("topic_representations")
    output = RepresentationsOutput(folder)
    for picture in (output.topic_words_image, output.topic_sizes_image):
        with Image.open(picture) as image:
            assert image.format == "PNG" and image.size[0] >= 300
        assert picture.stat().st_size < 60_000


def test_selection_runs_only_the_selected_stages(small_run, capsys):
    capsys.readouterr()
    assert main(["run", "--select", "topic_representations*"]) == 0
    stages = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert stages == ["topic_representations", "topic_report", "warehouse"]


def test_query_errors_are_one_line(small_run, capsys):
    assert main(["sql", "SELECT nope FROM topics"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Query failed:") and err.count("\n") == 1


def test_bad_params_fail_before_any_stage(write_params, data_root, capsys):
    write_params({"clustering": {"min_clustr_size": 5}})
    assert main(["run"]) == 1
    first_line = capsys.readouterr().err.splitlines()[0]
    assert "unknown key 'clustering.min_clustr_size'. Did you mean 'clustering.min_cluster_size'?" in first_line
    assert not (data_root / "_current.json").exists()


def test_sql_before_any_run(data_root, capsys):
    assert main(["sql", "SELECT 1"]) == 1
    assert "run `topic-pipeline run` first" in capsys.readouterr().err
