"""The embedding backends other than torch: which settings key them, which packages they need, loading them.

``onnx``, ``onnx_int8`` and ``static`` each derive a model from the local
sentence-transformers folder once (``derived_models``) and then run it without
sentence-transformers. Their encoder objects have the two methods the pipeline
calls on a SentenceTransformer (``encode``, ``get_sentence_embedding_dimension``),
so ``embed_texts`` and everything above it do not know which backend runs.

Every heavy package (torch, onnxruntime, model2vec) is imported inside the
functions that need it; a missing one is one line naming it and the pip command.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

from topic_pipeline.errors import EmbeddingError
from topic_pipeline.pipeline.embedding.derived_models import (
    derive_once,
    derived_model_folder,
    derived_models_root,
    is_published,
)
from topic_pipeline.pipeline.embedding.onnx_export import EXPORT_SETTINGS, QUANTIZATION_SETTINGS
from topic_pipeline.pipeline.embedding.source_model import SourceModel, read_source_model
from topic_pipeline.pipeline.embedding.static_backend import distill_settings

_ONNX_PIP = "pip install -c constraints.txt onnxruntime onnx"
# not model2vec[distill]: that extra caps transformers below 5.4, which the pinned 5.23 is not (distilling
# works with 5.23: tested)
_STATIC_PIP = "pip install -c constraints.txt model2vec skeletoken"
# what running an existing derived model needs, and what deriving it needs on top
_RUN_PACKAGES = {"onnx": ("onnxruntime", "tokenizers"), "onnx_int8": ("onnxruntime", "tokenizers"),
                 "static": ("model2vec",)}
_DERIVE_PACKAGES = {"onnx": ("onnx", "torch", "transformers"), "onnx_int8": ("onnx", "torch", "transformers"),
                    "static": ("skeletoken", "torch", "transformers")}
_PIP = {"onnx": _ONNX_PIP, "onnx_int8": _ONNX_PIP, "static": _STATIC_PIP}


def backend_settings(backend: str) -> dict[str, Any] | None:
    """What a backend's vectors depend on besides the source weights (None for torch, whose key stays as it was)."""
    if backend == "onnx":
        return {"export": EXPORT_SETTINGS}
    if backend == "onnx_int8":
        return {"export": EXPORT_SETTINGS, "quantization": QUANTIZATION_SETTINGS}
    if backend == "static":
        return {"distill": distill_settings()}
    return None


def require_packages(backend: str, *, deriving: bool = False) -> None:
    """Import the packages ``backend`` needs, or raise one EmbeddingError naming the first missing one."""
    for package in _RUN_PACKAGES[backend] + (_DERIVE_PACKAGES[backend] if deriving else ()):
        try:
            importlib.import_module(package)
        except ImportError as exc:
            raise EmbeddingError(f"embedding.backend {backend} needs the package {package!r}, which is not "
                                 f"installed: {_PIP[backend]}") from exc


def load_derived_encoder(name: str, folder: Path, source_fingerprint: str, backend: str) -> Any:
    """The encoder of ``backend`` for the model in ``folder``, deriving its model first if it was never derived.

    Raises
    ------
    EmbeddingError
        A missing package, a folder the backend cannot rebuild (``read_source_model``),
        or a derived-models folder that cannot be written.
    """
    if backend not in _RUN_PACKAGES:
        raise EmbeddingError(f"embedding.backend {backend!r} is not one of torch, {', '.join(_RUN_PACKAGES)}.")
    require_packages(backend)
    return _load_encoder(name, folder, source_fingerprint, backend, derived_models_root())


@functools.lru_cache(maxsize=4)
def _load_encoder(name: str, folder: Path, source_fingerprint: str, backend: str, root: Path) -> Any:
    """Once per process and (model, backend, cache folder): an ONNX session or static table is loaded once."""
    source = read_source_model(folder, backend)
    target = _derive(backend, name, source, source_fingerprint)
    if backend == "static":
        from topic_pipeline.pipeline.embedding.static_backend import StaticSentenceEncoder

        return StaticSentenceEncoder(target, name)
    from topic_pipeline.pipeline.embedding.onnx_encoder import OnnxSentenceEncoder

    return OnnxSentenceEncoder(target, name)


def _derive(backend: str, name: str, source: SourceModel, source_fingerprint: str) -> Path:
    """The published folder of ``backend``'s model of ``source`` (int8 is quantized from the fp32 export)."""
    settings = backend_settings(backend) or {}
    target = derived_model_folder(backend, name, source_fingerprint, settings)
    if is_published(target):
        return target
    require_packages(backend, deriving=True)
    record = {"backend": backend, "model": name, "source_folder": str(source.folder),
              "source_fingerprint": source_fingerprint, "settings": settings}
    megabytes = (source.transformer_folder / "model.safetensors").stat().st_size / 1e6
    if backend == "static":
        from topic_pipeline.pipeline.embedding.static_backend import distill_static

        return derive_once(target, lambda out: distill_static(source, out), record=record,
                           announce=f"distilling {name} into a static model2vec model (one time, "
                                    f"~{max(10, round(megabytes / 5))} s)")
    from topic_pipeline.pipeline.embedding.onnx_export import export_onnx, quantize_onnx

    if backend == "onnx":
        return derive_once(target, lambda out: export_onnx(source, out), record=record,
                           announce=f"exporting {name} to ONNX (one time, ~{max(5, round(megabytes / 9))} s)")
    exported = _derive("onnx", name, source, source_fingerprint)
    return derive_once(target, lambda out: quantize_onnx(exported, out), record=record,
                       announce=f"quantizing the ONNX export of {name} to int8 (one time, "
                                f"~{max(3, round(megabytes / 30))} s)")
