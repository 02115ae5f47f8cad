"""What a user sees in the Dagster UI: metadata previews and pictures, quality checks, typed launchpad config,
and `topic-pipeline run` / `report` as a user meets them."""

import base64
import webbrowser
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from conftest import newsgroups_slice_params

from assets.cli import main
from assets.definitions import build_definitions
from assets.metadata import outcome_metadata
from assets.quality_checks import CHECKS, evaluate, quality_settings
from assets.stage_assets import build_stage_assets
from resources import PipelineResource
from topic_pipeline.params import PipelineParams
from topic_pipeline.pipeline.outputs import markdown_table
from topic_pipeline.pipeline.runner import StageOutcome

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # only read back and encoded, never decoded


def _outcome(folder: Path, stage: str = "topic_hierarchy", metadata: dict | None = None,
             params: dict | None = None) -> StageOutcome:
    return StageOutcome(stage=stage, key="abc123", computed=True, seconds=1.23456, metadata=metadata or {},
                        params=params or {}, output_dir=folder)


# ---- materialization metadata ---------------------------------------------------------------------------------

def test_a_picture_is_inline_markdown_and_a_file_its_full_path(tmp_path):
    (tmp_path / "words.png").write_bytes(PNG)
    metadata = outcome_metadata(_outcome(tmp_path, metadata={
        "tree_md": "```\ntree\n```", "tree_file": "tree.txt", "topic_words_image": "words.png"}))
    # the tree preview and the tree file no longer share the key `tree`
    assert metadata["tree"].value == "```\ntree\n```"
    assert isinstance(metadata["tree_file"], dg.PathMetadataValue)
    assert metadata["tree_file"].value == str(tmp_path.resolve() / "tree.txt")
    picture = metadata["topic_words_image"].value
    assert isinstance(metadata["topic_words_image"], dg.MarkdownMetadataValue)
    assert picture.startswith(f"![topic words](data:image/png;base64,{base64.b64encode(PNG).decode()})")
    assert picture.endswith(f"`{tmp_path.resolve() / 'words.png'}`")
    assert metadata["path"].value == str(tmp_path.resolve())


def test_a_missing_picture_says_so_instead_of_failing(tmp_path):
    metadata = outcome_metadata(_outcome(tmp_path, metadata={"map_image": "gone.png"}))
    assert metadata["map_image"].value == f"(picture not found: `{tmp_path.resolve() / 'gone.png'}`)"


def test_empty_values_are_left_out_and_numbers_rounded(tmp_path):
    metadata = outcome_metadata(_outcome(tmp_path, metadata={
        "rows": np.int64(12), "nothing": None, "blank": "", "not_a_number": float("nan"), "no_time": pd.NaT,
        "share": np.float64(0.123456789), "big": 123456.789, "zero": 0, "started": pd.Timestamp("1993-04-01 12:30:05.123456", tz="UTC"),
        "aspects": "Main, KeyBERT", "counts": {"a": np.float32(0.333333)}}))
    assert not {"nothing", "blank", "not_a_number", "no_time"} & set(metadata)
    assert metadata["dagster/row_count"].value == 12
    assert metadata["share"].value == 0.1235
    assert metadata["big"].value == 123457
    assert metadata["zero"].value == 0  # a zero is a value, not an empty one
    assert metadata["started"].value == "1993-04-01T12:30:05+00:00"
    assert metadata["aspects"].value == "Main, KeyBERT"
    assert metadata["counts"].value == {"a": 0.3333}
    assert metadata["seconds"].value == 1.235


def test_topics_per_class_shows_only_the_over_time_settings_it_uses(tmp_path):
    params = {"enabled": True, "nr_bins": 20, "global_tuning": True, "evolution_tuning": True, "top_n_words": 10}
    metadata = outcome_metadata(_outcome(tmp_path, stage="topics_per_class", params={**params, "per_class": True}))
    assert metadata["params_used"].value == {"per_class": True, "global_tuning": True, "top_n_words": 10}
    # a stage using its whole section shows all of it
    assert outcome_metadata(_outcome(tmp_path, stage="topics_over_time", params=params))["params_used"].value == params
    # options left unset are not listed as nulls, also inside an extra section
    unset = {"min_samples": None, "min_cluster_size": 10, "guidance": {"seed_topic_list": None, "zeroshot_min_similarity": 0.7}}
    assert outcome_metadata(_outcome(tmp_path, stage="clusters", params=unset))["params_used"].value == {
        "min_cluster_size": 10, "guidance": {"zeroshot_min_similarity": 0.7}}
    asset = next(a for a in build_stage_assets(PipelineParams()) if a.key.to_user_string() == "topics_per_class")
    assert set(asset.specs_by_key[asset.key].metadata["params"].value) == {"per_class", "global_tuning", "top_n_words"}


def test_markdown_previews_keep_the_text_and_stay_one_table():
    document = "Re: <script>alert(1)</script> a | b\nsecond line *not bold* " + "x" * 300
    table = markdown_table(pd.DataFrame({
        "doc_id": ["d1"], "text": [document], "weight": [0.0123456789],
        "timestamp": [pd.Timestamp("1993-04-01 12:30:05.987654", tz="UTC")], "words": [["space", "nasa"]]}))
    header, rule, row = table.splitlines()  # the newline in the document did not end the row
    assert header == "| doc\\_id | text | weight | timestamp | words |"
    cells = row.split(" | ")
    assert len(cells) == 5  # the document's `|` is escaped, so the row keeps its five cells
    text = cells[1]
    assert text.startswith("Re: &lt;script&gt;alert(1)&lt;/script&gt; a \\| b second line \\*not bold\\* xxx")
    shown = "Re: <script>alert(1)</script> a | b second line *not bold* "
    assert text.count("x") == 200 - 1 - len(shown) and text.endswith("…")  # 200 characters, not 80
    assert cells[2] == "0.01235" and cells[3] == "1993-04-01T12:30:05+00:00" and cells[4] == "space, nasa |"


# ---- quality checks -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "value", "thresholds", "passed"), [
    ("npmi_coherence", 0.05, {}, True),  # default min_npmi 0.0
    ("npmi_coherence", -0.02, {}, False),
    ("npmi_coherence", -0.02, {"min_npmi": None}, True),  # a threshold of None switches the check off
    ("topic_diversity", 0.4, {}, False),  # default min_diversity 0.5
    ("outlier_share", 0.6, {}, False),  # default max_outlier_share 0.5
    ("topic_count", 1, {}, False),  # default min_topics 2
    ("topic_count", 30, {"max_topics": 20}, False),
    ("topic_count", 30, {}, True),
])
def test_each_check_compares_its_value_with_its_thresholds(name, value, thresholds, passed):
    check = next(c for c in CHECKS if c.name == name)
    settings = quality_settings(PipelineParams(quality=thresholds))
    result = evaluate(check, {check.value_key: value}, settings)
    assert result.passed is passed
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["value"].value == value


def test_a_check_without_its_value_passes_with_a_note_and_error_severity_is_kept():
    settings = quality_settings(PipelineParams(quality={"severity": "ERROR"}))
    result = evaluate(CHECKS[0], {}, settings)
    assert result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["note"].value == "not computed: the stage output has no 'quality_npmi'"


# ---- launchpad config -------------------------------------------------------------------------------------------

def _asset(name: str) -> dg.AssetsDefinition:
    return next(a for a in build_stage_assets(PipelineParams()) if a.key.to_user_string() == name)


def test_the_launchpad_lists_the_section_fields_typed_optional_and_documented():
    schema = _asset("clusters").op.config_field
    fields = schema.config_type.fields
    assert set(fields) == set(PipelineParams.model_fields["clustering"].annotation.model_fields)
    size = fields["min_cluster_size"]
    assert size.config_type.given_name == "Int" and not size.is_required and not size.default_provided
    assert size.description.startswith("Default: 10. Must be >= 2.") and "min_topic_size" in size.description
    method = fields["cluster_selection_method"]
    assert method.config_type.given_name == "String" and "One of: eom, leaf." in method.description
    assert fields["min_samples"].config_type.key.startswith("Noneable")
    assert not schema.is_required and "params section 'clustering'" in schema.description
    per_class = _asset("topics_per_class").op.config_field  # only the over_time fields it reads
    assert set(per_class.config_type.fields) == {"per_class", "global_tuning", "top_n_words"}
    nothing = _asset("warehouse").op.config_field  # a stage without a section takes no config
    assert nothing.config_type.fields == {} and not nothing.is_required


def test_config_overrides_change_the_key_and_the_checks_show_on_their_asset(write_params, data_root):
    write_params(newsgroups_slice_params(200, quality={"min_topics": 1000}))
    defs = build_definitions(PipelineResource())
    job = defs.resolve_job_def("topic_model")
    instance = dg.DagsterInstance.ephemeral()
    first = job.execute_in_process(instance=instance)
    assert first.success

    # the quality checks ran in the run and are recorded on topic_representations
    evaluations = {e.check_name: e for e in first.get_asset_check_evaluations()}
    assert set(evaluations) == {"npmi_coherence", "topic_diversity", "outlier_share", "topic_count"}
    representations = _materialization(first, "topic_representations")
    count = evaluations["topic_count"]
    assert count.asset_key == dg.AssetKey("topic_representations") and not count.passed
    assert count.severity == dg.AssetCheckSeverity.WARN
    assert count.metadata["value"].value == representations["quality_topics"].value
    assert evaluations["npmi_coherence"].metadata["value"].value == representations["quality_npmi"].value
    assert -1 <= representations["quality_npmi"].value <= 1
    key = dg.AssetCheckKey(dg.AssetKey("topic_representations"), "topic_count")
    recorded = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    assert recorded.run_id == first.run_id and recorded.status.value == "FAILED"
    # the pictures are inline in the metadata
    assert representations["topic_words_image"].value.startswith("![topic words](data:image/png;base64,")

    # a run-config override is part of the store key, as a params-file change would be
    clusters_key = _materialization(first, "clusters")["store_key"].value
    changed = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("clusters")],
                                     run_config={"ops": {"clusters": {"config": {"min_cluster_size": 15}}}})
    assert changed.success
    changed_meta = _materialization(changed, "clusters")
    assert changed_meta["store_key"].value != clusters_key and changed_meta["computed"].value
    assert changed_meta["params_used"].value["min_cluster_size"] == 15

    # a wrong type is refused before the run, naming the field and the type
    with pytest.raises(dg.DagsterInvalidConfigError, match=r"min_cluster_size.*\"many\".*Int"):
        job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("clusters")],
                               run_config={"ops": {"clusters": {"config": {"min_cluster_size": "many"}}}})
    # an unknown key reaches the params validation and its hint
    typo = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("clusters")], raise_on_error=False,
                                  run_config={"ops": {"clusters": {"config": {"min_clustr_size": 15}}}})
    failure = typo.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "unknown key 'clustering.min_clustr_size'. Did you mean 'clustering.min_cluster_size'?" in failure
    # an over_time setting topics_per_class does not read is refused, not silently ignored
    unread = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("topics_per_class")],
                                    raise_on_error=False,
                                    run_config={"ops": {"topics_per_class": {"config": {"nr_bins": 5}}}})
    failure = unread.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "topics_per_class does not read over_time.nr_bins; it reads only per_class, global_tuning, top_n_words" in failure


def _materialization(result, stage: str) -> dict:
    return next(e.materialization.metadata for e in result.get_asset_materialization_events()
                if e.asset_key.to_user_string() == stage)


# ---- the command line -------------------------------------------------------------------------------------------

def test_cli_runs_are_the_topic_model_job_and_the_first_run_says_what_next(
        write_params, data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    write_params(newsgroups_slice_params(200))
    assert main(["report"]) == 1  # nothing published yet: one line, no traceback
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1

    assert main(["run"]) == 0
    out = capsys.readouterr().out
    database = (data_root / "topics.duckdb").resolve()
    assert f"The results are in {database}" in out
    assert 'topic-pipeline sql "select' in out and "topic-pipeline report --open" in out and "dg dev" in out
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert [run.job_name for run in runs] == ["topic_model"]
        assert instance.all_logs(runs[0].run_id)  # its events are stored too

    assert main(["run", "--select", "topic_representations"]) == 0
    out = capsys.readouterr().out
    assert out.split()[0] == "topic_representations" and "The results are in" not in out  # only the first run

    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    report = tmp_path / "report.html"
    assert main(["report", "--out", str(report), "--open"]) == 0
    assert capsys.readouterr().out.strip() == str(report)
    assert report.stat().st_size > 100_000  # plotly.js is embedded
    assert opened == [report.resolve().as_uri()]
