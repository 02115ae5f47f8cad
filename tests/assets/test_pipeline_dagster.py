"""In-process Dagster materializations: selective recomputation, overrides, automation, errors."""

import dagster as dg
from conftest import newsgroups_slice_params

from assets.definitions import build_definitions, defs
from assets.stage_assets import build_stage_assets
from resources import PipelineResource
from topic_pipeline.params import load_params
from topic_pipeline.pipeline.stages import STAGES
from topic_pipeline.pipeline.store import StageStore
from topic_pipeline.pipeline.warehouse import query

ALL = set(STAGES)
# what a clustering change leaves alone: the clusters' inputs, and the 2-D map of the embeddings
MODEL_INPUTS = {"documents", "embeddings", "reduced_embeddings", "document_map", "document_terms"}


def materialize(instance, selection="*", run_config=None):
    """Run like a fresh code location would: assets built from the params file as it is now."""
    result = dg.materialize(
        build_stage_assets(load_params()),
        instance=instance,
        resources={"pipeline": PipelineResource()},
        selection=selection,
        run_config=run_config,
    )
    assert result.success
    return {
        event.asset_key.to_user_string(): event.materialization.metadata["computed"].value
        for event in result.get_asset_materialization_events()
    }, result.run_id


def computed(flags):
    return {stage for stage, was_computed in flags.items() if was_computed}


def test_definitions_load_and_graph():
    dg.Definitions.validate_loadable(defs)
    graph = {key.to_user_string(): sorted(dep.to_user_string() for dep in deps)
             for key, deps in defs.resolve_asset_graph().asset_dep_graph["upstream"].items()}
    # zero-shot topics and manual labels read documents and embeddings besides the reduced vectors
    assert graph["clusters"] == ["documents", "embeddings", "reduced_embeddings"]
    assert graph["topic_representations"] == ["ctfidf", "documents", "embeddings", "topic_assignments",
                                              "vectorized_bags"]
    assert set(graph) == ALL


def test_changing_one_parameter_recomputes_only_downstream(write_params, data_root):
    instance = dg.DagsterInstance.ephemeral()
    write_params(newsgroups_slice_params(500))
    flags, _ = materialize(instance)
    assert computed(flags) == ALL

    flags, run_id = materialize(instance)
    assert computed(flags) == set()
    runs = query(StageStore(data_root), f"SELECT stage, computed FROM stage_runs WHERE run_id = '{run_id}'")
    assert len(runs) == len(ALL) and not runs["computed"].any()

    write_params(newsgroups_slice_params(500, clustering={"min_cluster_size": 15}))
    flags, run_id = materialize(instance)
    assert computed(flags) == ALL - MODEL_INPUTS
    runs = query(StageStore(data_root), f"SELECT stage FROM stage_runs WHERE run_id = '{run_id}' AND computed")
    assert set(runs["stage"]) == ALL - MODEL_INPUTS

    write_params(newsgroups_slice_params(500, clustering={"min_cluster_size": 15}, representation={"top_n_words": 5}))
    flags, _ = materialize(instance)
    assert computed(flags) == {"topic_representations", "topic_report", "warehouse"}
    assert query(StageStore(data_root), "SELECT max(rank) AS r FROM topic_terms")["r"].iloc[0] == 4

    # back to the defaults: every stage output exists already
    write_params(newsgroups_slice_params(500))
    flags, _ = materialize(instance)
    assert computed(flags) == set()

    # a run-config override is keyed by the values used, like a file change
    flags, _ = materialize(instance, run_config={"ops": {"clusters": {"config": {"min_cluster_size": 15}}}})
    assert computed(flags) == set()  # identical to the file-based min_cluster_size=15 run above
    assert query(StageStore(data_root), "SELECT max(rank) AS r FROM topic_terms")["r"].iloc[0] == 9

    flags, _ = materialize(instance, run_config={"ops": {"clusters": {"config": {"min_cluster_size": 12}}}})
    assert computed(flags) == ALL - MODEL_INPUTS


def test_automation_requests_only_the_changed_asset_and_downstream(write_params, data_root):
    instance = dg.DagsterInstance.ephemeral()
    write_params(newsgroups_slice_params(300))
    materialize(instance)
    unchanged = dg.evaluate_automation_conditions(defs=build_definitions(), instance=instance)
    assert unchanged.total_requested == 0

    write_params(newsgroups_slice_params(300, clustering={"min_cluster_size": 12}))
    reloaded = build_definitions()  # what a code-location reload does
    # the automation sensor compares code versions with its previous tick, kept in its cursor
    result = dg.evaluate_automation_conditions(defs=reloaded, instance=instance, cursor=unchanged.cursor)
    requested = {key for key in STAGES if result.get_num_requested(dg.AssetKey(key))}
    assert requested == ALL - MODEL_INPUTS


def test_failed_stage_writes_nothing_and_names_the_problem(write_params, data_root):
    write_params(newsgroups_slice_params(12))  # fewer documents than UMAP's n_neighbors=15
    result = dg.materialize(
        build_stage_assets(load_params()),
        instance=dg.DagsterInstance.ephemeral(),
        resources={"pipeline": PipelineResource()},
        raise_on_error=False,
    )
    assert not result.success
    failure = result.get_step_failure_events()[0]
    assert failure.step_key == "reduced_embeddings"
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("UMAP needs more documents than reduction.n_neighbors=15, got 12")
    store = StageStore(data_root)
    assert not [p for p in (data_root / "reduced_embeddings").iterdir() if p.is_dir()]
    # a failed run publishes nothing, but what it finished stays stored for the next run to reuse
    assert store.current("embeddings") is None and store.current("reduced_embeddings") is None
    assert len(list((data_root / "embeddings").glob("*/manifest.json"))) == 1
