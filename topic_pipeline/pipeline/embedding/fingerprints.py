"""Fingerprints of in-memory model objects: what a registered model's per-document cache key is made of."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from topic_pipeline.errors import EmbeddingError
from topic_pipeline.pipeline.embedding.checks import _one_line


def model_object_fingerprint(model: Any) -> str:
    """Fingerprint of an in-memory model's weights: its parameters when it has them, else probe vectors.

    A torch module (any SentenceTransformer) is hashed by every state_dict
    tensor's name, dtype, shape and bytes, plus the settings that change outputs
    without being tensors (module configs such as pooling mode, max_seq_length,
    prompts, truncate_dim, the tokenizer). This is exact and deterministic: the
    same weights give the same key on any device and in any process, and one
    changed weight gives another key. Probing (embedding fixed strings) would
    catch everything at once but depends on float noise across devices and
    library versions, so it is used only for objects without a state_dict (an
    API client, a custom encoder), with the vectors rounded to 4 decimals.
    """
    state_dict = getattr(model, "state_dict", None)
    if callable(state_dict):
        try:
            return "params:" + _parameters_digest(model, state_dict())
        except (TypeError, ValueError, RuntimeError, AttributeError):
            pass  # e.g. quantized or meta tensors: fall back to probing
    return "probes:" + _probe_digest(model)


def _parameters_digest(model: Any, tensors: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(_model_settings(model), sort_keys=True, default=_type_name).encode())
    for name in sorted(tensors):
        value = tensors[name]
        digest.update(f"\x00{name}\x00{getattr(value, 'dtype', '')}\x00{tuple(getattr(value, 'shape', ()))}".encode())
        digest.update(_tensor_bytes(value))
    return digest.hexdigest()[:32]


def _tensor_bytes(value: Any) -> memoryview:
    """The raw bytes of a torch tensor (any dtype, bfloat16 included) or an array."""
    if hasattr(value, "detach"):
        import torch

        flat = value.detach().cpu().contiguous().reshape(-1)
        return memoryview(flat.view(torch.uint8).numpy())
    return memoryview(np.ascontiguousarray(value).tobytes())


def _model_settings(model: Any) -> dict[str, Any]:
    """The non-tensor settings of a sentence-transformers model that change its vectors."""
    settings: dict[str, Any] = {"class": _type_name(model)}
    for attr in ("max_seq_length", "prompts", "default_prompt_name", "truncate_dim"):
        settings[attr] = _plain(getattr(model, attr, None))
    children = model.children() if callable(getattr(model, "children", None)) else []
    settings["modules"] = [[_type_name(child), _plain(child.get_config_dict())] for child in children
                           if callable(getattr(child, "get_config_dict", None))]
    settings["tokenizer"] = _tokenizer_digest(getattr(model, "tokenizer", None))
    return settings


def _tokenizer_digest(tokenizer: Any) -> str | None:
    """Hash of a tokenizer's definition (fast tokenizers) or vocabulary.

    The fast tokenizer's JSON minus ``truncation`` and ``padding``: those are
    set on it by each encode call, so they say what ran last, not what it is.
    """
    if tokenizer is None:
        return None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and callable(getattr(backend, "to_str", None)):
        definition = json.loads(backend.to_str())
        for transient in ("truncation", "padding"):
            definition.pop(transient, None)
        text = json.dumps(definition, sort_keys=True)
    elif callable(getattr(tokenizer, "get_vocab", None)):
        text = json.dumps(sorted(tokenizer.get_vocab().items()))
    else:
        return _type_name(tokenizer)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _plain(value: Any) -> Any:
    """JSON-able data with other objects replaced by their type name (a repr with an address is not stable)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return _type_name(value)


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


_PROBES = (
    "The quick brown fox jumps over the lazy dog.",
    "Topic models group documents that talk about the same things.",
    "GPU 3090 vs 4090: 24 GB, 450 W; price $1,599?",
    "short",
)


def _probe_digest(model: Any) -> str:
    """Hash of the model's vectors for fixed strings, rounded so float noise rarely changes it."""
    try:
        vectors = model.encode(list(_PROBES), batch_size=len(_PROBES), show_progress_bar=False,
                               normalize_embeddings=False, convert_to_numpy=True)
    except Exception as exc:
        raise EmbeddingError(
            f"The embedding model {type(model).__name__} has no state_dict and could not embed probe texts to "
            f"identify it for the cache ({_one_line(exc, 160)})."
        ) from exc
    rounded = np.round(np.asarray(vectors, dtype=np.float64), 4) + 0.0  # + 0.0 turns -0.0 into 0.0
    return hashlib.sha256(f"{_type_name(model)}{rounded.shape}".encode() + rounded.tobytes()).hexdigest()[:32]
