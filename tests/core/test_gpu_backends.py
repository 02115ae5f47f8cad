"""``reduction.backend`` / ``clustering.backend: cuml`` and ``embedding.device: auto``, without a GPU.

cuML is stood in for by a fake package in ``sys.modules`` that records what it is given, so the
tests check what reaches cuML and that a machine without it gets one clear error; the last test
runs the real thing where cuML and a GPU are present (the GPU machine) and skips elsewhere.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from topic_pipeline.core.clustering import assign_clusters, fit_clusterer, is_hdbscan, make_clusterer
from topic_pipeline.core.reduction import fit_reducer, make_reducer
from topic_pipeline.errors import ParamsError
from topic_pipeline.params import ClusteringParams, ReductionParams, fingerprint
from topic_pipeline.pipeline.embedding.loading import resolve_device


class _Recorder:
    def __init__(self, **settings):
        self.settings = settings
        vars(self).update(settings)  # estimators keep their settings as attributes (prediction_data, ...)

    def fit(self, X, y=None):
        self.labels_ = np.where(np.asarray(X)[:, 0] > 0, 1, 0)
        self.probabilities_ = np.ones(len(X))
        return self

    def fit_transform(self, X, y=None):
        return np.asarray(X)[:, : self.settings["n_components"]]


@pytest.fixture
def fake_cuml(monkeypatch):
    modules = {name: types.ModuleType(name) for name in
               ("cuml", "cuml.manifold", "cuml.decomposition", "cuml.cluster", "cuml.cluster.hdbscan")}
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    classes = {("cuml.manifold", "UMAP"), ("cuml.decomposition", "PCA"), ("cuml.cluster", "KMeans"),
               ("cuml.cluster.hdbscan", "HDBSCAN")}
    for module, name in classes:
        setattr(modules[module], name, type(name, (_Recorder,), {"__module__": module}))
    modules["cuml.cluster.hdbscan"].approximate_predict = lambda model, points: (np.full(len(points), 1),
                                                                                 np.full(len(points), 0.5))
    return modules


def test_cuml_umap_gets_umap_learns_settings(fake_cuml):
    reducer = make_reducer(ReductionParams(backend="cuml", n_neighbors=7, min_dist=0.1, low_memory=True))
    assert type(reducer).__module__ == "cuml.manifold" and type(reducer).__name__ == "UMAP"
    assert reducer.settings == {"n_neighbors": 7, "n_components": 5, "min_dist": 0.1, "metric": "cosine",
                                "random_state": 42}
    model, reduced = fit_reducer(np.eye(30, 8, dtype=np.float32), ReductionParams(backend="cuml", n_components=3))
    assert reduced.shape == (30, 3) and reduced.dtype == np.float32
    assert type(make_reducer(ReductionParams(backend="cuml", method="pca", n_components=2))).__name__ == "PCA"


def test_cuml_hdbscan_fits_and_places_new_documents(fake_cuml):
    params = ClusteringParams(backend="cuml", min_cluster_size=4, min_samples=2)
    clusterer = make_clusterer(params, prediction_data=True)
    assert clusterer.settings == {"metric": "euclidean", "prediction_data": True, "min_cluster_size": 4,
                                  "min_samples": 2, "cluster_selection_method": "eom",
                                  "cluster_selection_epsilon": 0.0, "allow_single_cluster": False}
    points = np.array([[1.0, 0.0], [-1.0, 0.0]] * 5)
    model, labels, _ = fit_clusterer(points, params, prediction_data=True)
    assert labels.tolist() == [1, 0] * 5 and is_hdbscan(model)
    labels, strengths = assign_clusters(model, points[:3])
    assert labels.tolist() == [1, 1, 1] and strengths.tolist() == [0.5, 0.5, 0.5]
    kmeans = make_clusterer(ClusteringParams(backend="cuml", method="kmeans", n_clusters=3))
    assert type(kmeans).__module__ == "cuml.cluster" and kmeans.settings == {"n_clusters": 3, "random_state": 42}
    with pytest.raises(ParamsError, match="fast_hdbscan is CPU only"):
        make_clusterer(ClusteringParams(backend="cuml", method="fast_hdbscan"))


def test_without_cuml_the_error_names_the_package_and_the_setting(monkeypatch):
    monkeypatch.setitem(sys.modules, "cuml", None)  # import cuml raises ImportError, as on a machine without it
    with pytest.raises(ParamsError, match=r"^reduction\.backend: cuml needs RAPIDS cuML .*cuml-cu12.*"
                                          r"Set reduction\.backend: cpu"):
        make_reducer(ReductionParams(backend="cuml"))
    with pytest.raises(ParamsError, match=r"^clustering\.backend: cuml needs RAPIDS cuML"):
        make_clusterer(ClusteringParams(backend="cuml"))


def test_the_backend_enters_the_key_only_when_it_is_not_cpu():
    assert "backend" not in ReductionParams().model_dump() and "backend" not in ClusteringParams().model_dump()
    assert fingerprint(ReductionParams(backend="cpu").model_dump()) == fingerprint(ReductionParams().model_dump())
    assert fingerprint(ReductionParams(backend="cuml").model_dump()) != fingerprint(ReductionParams().model_dump())
    with pytest.raises(ValueError):
        ReductionParams(backend="cupy")


def test_device_auto_is_cuda_only_where_torch_sees_a_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert resolve_device(None) is None and resolve_device("cuda:1") == "cuda:1"


def test_the_real_cuml_on_a_gpu_finds_the_clusters():
    pytest.importorskip("cuml", reason="cuML is not installed (a GPU machine only)")
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 16)) * 10
    points = np.vstack([center + rng.normal(size=(100, 16)) for center in centers]).astype(np.float32)
    _, reduced = fit_reducer(points, ReductionParams(backend="cuml", n_neighbors=15, metric="euclidean"))
    _, labels, _ = fit_clusterer(reduced, ClusteringParams(backend="cuml", min_cluster_size=20))
    assert len(set(labels[labels >= 0])) == 3
