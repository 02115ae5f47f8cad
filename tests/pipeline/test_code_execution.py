"""No code runs because of data or config: class paths from run config, pickles in the store.

Each payload would write a marker file; the tests check it never appears.
"""

from __future__ import annotations

import pickle
import sys

import dagster as dg
import numpy as np
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS, newsgroups_slice_params
from sklearn.decomposition import PCA

from assets.stage_assets import build_stage_assets
from resources import PipelineResource
from topic_pipeline import TopicModel, register_estimator
from topic_pipeline.errors import ParamsError, StoreError
from topic_pipeline.params import load_params, parse_params
from topic_pipeline.pipeline.fitted_models import FITTED_MODEL, load_fitted_model


class _WritesMarker:
    """Unpickling this calls ``open(marker, "w")``: proof that a pickle was loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def _launchpad_run(class_path: str, marker, write_params, data_root):
    """What the Dagster launchpad sends: an estimator override in the clusters step's config."""
    write_params(newsgroups_slice_params(60, reduction={"method": "pca"}))
    return dg.materialize(
        build_stage_assets(load_params()),
        instance=dg.DagsterInstance.ephemeral(),
        resources={"pipeline": PipelineResource()},
        run_config={"ops": {"clusters": {"config": {
            "estimator": {"class_path": class_path, "params": {"command": f"touch {marker}", "file": str(marker)}}}}}},
        raise_on_error=False,
    )


@pytest.fixture
def evil_module(tmp_path, monkeypatch):
    """A module on sys.path that writes a marker when imported."""
    folder = tmp_path / "evil"
    folder.mkdir()
    marker = tmp_path / "imported"
    (folder / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass Evil:\n    pass\n")
    monkeypatch.syspath_prepend(str(folder))
    return "evilmod.Evil", marker


@pytest.mark.parametrize("class_path", ["os.system", "builtins.eval", "subprocess.Popen", "evil"])
def test_run_config_cannot_name_arbitrary_code(class_path, evil_module, tmp_path, write_params, data_root):
    if class_path == "evil":
        class_path, marker = evil_module
    else:
        marker = tmp_path / "ran"
    result = _launchpad_run(class_path, marker, write_params, data_root)
    assert not result.success
    failure = result.get_step_failure_events()[0]
    assert failure.step_key == "clusters"
    message = failure.step_failure_data.user_failure_data.description
    assert f"'{class_path}' is not an allowed estimator class" in message
    assert not marker.exists()
    assert "evilmod" not in sys.modules


def test_trusted_modules_come_from_the_params_file_only(evil_module, write_params, data_root):
    class_path, marker = evil_module
    params = parse_params({"trust": {"trusted_modules": ["evilmod"]},
                           "reduction": {"estimator": {"class_path": class_path}}})
    assert params.reduction.estimator.class_path == class_path  # the file's owner may trust a module
    with pytest.raises(ParamsError, match="read from the params file only"):
        parse_params({}).with_overrides("trust", {"trusted_modules": ["evilmod"]}, origin="run config")
    assert not marker.exists()


def test_private_paths_and_file_arguments_are_refused():
    with pytest.raises(ParamsError, match="private attribute"):
        parse_params({"clustering": {"estimator": {"class_path": "sklearn.utils._testing.Thing"}}})
    with pytest.raises(ParamsError, match="'memory' of hdbscan.HDBSCAN makes it read and write files"):
        parse_params({"clustering": {"estimator": {"class_path": "hdbscan.HDBSCAN", "params": {"memory": "/tmp/x"}}}})


class MyReducer(PCA):
    """A user's own reducer, defined outside the allowed libraries."""


def test_registered_classes_are_allowed():
    path = f"{MyReducer.__module__}.{MyReducer.__qualname__}"
    with pytest.raises(ParamsError, match="not an allowed estimator class"):
        parse_params({"reduction": {"estimator": {"class_path": path}}})
    register_estimator(MyReducer)
    path = f"{MyReducer.__module__}.{MyReducer.__qualname__}"
    assert parse_params({"reduction": {"estimator": {"class_path": path}}}).reduction.estimator.class_path == path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    import pandas as pd

    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:300].tolist()
    vectors = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:300].copy()
    model = TopicModel(umap_model=PCA(5), cache_dir=tmp_path_factory.mktemp("cache"))
    model.fit(texts, vectors)
    return model, texts, vectors


def test_a_replaced_fitted_model_is_refused_unopened(fitted, tmp_path):
    model, texts, vectors = fitted
    path = model.fitted_models_["clusters"]
    original = path.read_bytes()
    marker = tmp_path / "unpickled"
    try:
        path.unlink()  # a hard link may be shared with another output: replace, never write through
        path.write_bytes(pickle.dumps(_WritesMarker(marker)))
        with pytest.raises(StoreError, match="differs from the digest in its manifest"):
            model.transform(texts[:5], vectors[:5])
        with pytest.raises(StoreError, match=FITTED_MODEL):
            load_fitted_model(path.parent)
        assert not marker.exists()
    finally:
        path.unlink()
        path.write_bytes(original)
    topics, _ = model.transform(texts[:5], vectors[:5])
    assert list(topics) == list(model.topics_[:5])


def test_a_model_without_a_recorded_digest_is_refused(fitted, tmp_path):
    folder = tmp_path / "output"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"metadata": {}}')
    marker = tmp_path / "unpickled"
    (folder / FITTED_MODEL).write_bytes(pickle.dumps(_WritesMarker(marker)))
    with pytest.raises(StoreError, match="records no fitted_model_sha256"):
        load_fitted_model(folder)
    assert not marker.exists()
