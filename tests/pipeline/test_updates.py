"""`updates.mode: assign`: new documents are placed in the fitted model until `refit_every`."""

import dagster as dg
import numpy as np
import pandas as pd
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS

from assets.definitions import build_definitions
from topic_pipeline.pipeline.stage_outputs import AssignmentsOutput, ReducedEmbeddingsOutput
from topic_pipeline.pipeline.store import StageStore


def _materialize(instance):
    defs = build_definitions()
    result = dg.materialize(list(defs.assets), resources=defs.resources, instance=instance)
    assert result.success
    return {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}


def test_assign_mode_keeps_the_fit_and_topic_ids_until_refit_every(tmp_path, write_params, data_root):
    posts = pd.read_parquet(NEWSGROUPS).iloc[:700].reset_index(drop=True)
    vectors = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:700]
    pd.DataFrame({"doc_id": posts["doc_id"], "vector": list(np.asarray(vectors))}).to_parquet(tmp_path / "vectors.parquet")
    posts.iloc[:400].to_parquet(tmp_path / "corpus.parquet")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = {
        "corpus": {"source": str(tmp_path / "corpus.parquet"), "inbox": str(inbox), "deduplicate": "none"},
        "embedding": {"precomputed": str(tmp_path / "vectors.parquet")},
        "clustering": {"min_cluster_size": 5},
        "updates": {"mode": "assign", "refit_every": 150},
    }
    write_params(settings)
    instance = dg.DagsterInstance.ephemeral()
    first = _materialize(instance)
    store = StageStore(data_root)
    before = AssignmentsOutput(store.current_dir("topic_assignments")).read().set_index("doc_id")
    fit = first["reduced_embeddings"]["fit_key"].value
    assert first["clusters"]["fitted_documents"].value == 400

    posts.iloc[400:500].to_parquet(inbox / "batch1.parquet")  # 100 < refit_every: assigned
    second = _materialize(instance)
    assert second["reduced_embeddings"]["computed"].value and second["reduced_embeddings"]["fit_key"].value == fit
    assert second["clusters"]["fitted_documents"].value == 400
    after = AssignmentsOutput(store.current_dir("topic_assignments")).read().set_index("doc_id")
    assert len(after) == 500
    assert after.loc[before.index, "topic_id"].tolist() == before["topic_id"].tolist()  # ids stable
    assert set(after.loc[posts["doc_id"].iloc[400:500], "topic_id"]) - {-1}  # new posts joined topics
    assert ReducedEmbeddingsOutput(store.current_dir("reduced_embeddings")).fitted_model_file() is not None

    posts.iloc[500:560].to_parquet(inbox / "batch2.parquet")  # 160 since the fit >= 150: refit
    third = _materialize(instance)
    assert third["reduced_embeddings"]["fit_key"].value != fit
    assert third["clusters"]["fitted_documents"].value == 560
