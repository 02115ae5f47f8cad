"""What a local sentence-transformers folder computes, read from its JSON files, for the backends that rebuild it.

The onnx and static backends do not run sentence-transformers: they rebuild
its forward pass (tokenize, transformer, mean pooling, optional Normalize) from
the folder's ``modules.json``, ``1_Pooling/config.json`` and
``sentence_bert_config.json``. A folder with any other module (Dense, CLS or max
pooling, prompts) would give other vectors than torch does, so it is refused
with one line naming what is unsupported instead of being embedded wrongly.
Only safetensors weights are accepted: a ``pytorch_model.bin`` is a pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topic_pipeline.errors import EmbeddingError

# encoder-only architectures whose forward takes input_ids + attention_mask (+ token_type_ids) and
# returns last_hidden_state: what the ONNX export and model2vec's distillation handle
BERT_LIKE_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "mpnet", "distilbert", "electra", "camembert"})
_MODULE_KINDS = {"Transformer": "transformer", "Pooling": "pooling", "Normalize": "normalize"}
_OTHER_POOLING_MODES = ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                        "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


@dataclass(frozen=True)
class SourceModel:
    """A sentence-transformers folder the derived backends can rebuild: BERT-like transformer + mean pooling."""

    folder: Path
    transformer_folder: Path  # where config.json, the tokenizer and model.safetensors are
    model_type: str
    max_seq_length: int  # tokens kept per text, as sentence-transformers truncates
    do_lower_case: bool
    normalize: bool  # the folder ends in a Normalize module (unit vectors whatever embedding.normalize says)
    width: int


def read_source_model(folder: Path, backend: str) -> SourceModel:
    """The folder's pipeline, or an EmbeddingError naming the first thing ``backend`` cannot rebuild.

    Raises
    ------
    EmbeddingError
        A module other than Transformer, mean Pooling and Normalize; a model type
        that is not BERT-like; prompts; no safetensors weights.
    """
    where = f"embedding.backend {backend} cannot use the model in {folder}"
    kinds = _module_kinds(folder, where)
    transformer_folder = folder / kinds.get("transformer", "")
    config = _read_json(transformer_folder / "config.json", where)
    model_type = str(config.get("model_type", ""))
    if model_type not in BERT_LIKE_TYPES:
        raise EmbeddingError(f"{where}: model type {model_type or 'unknown'!r} is not supported "
                             f"(supported: {', '.join(sorted(BERT_LIKE_TYPES))}); use embedding.backend torch.")
    if not (transformer_folder / "model.safetensors").is_file():
        raise EmbeddingError(f"{where}: it has no model.safetensors (a pytorch_model.bin is a pickle and is never "
                             "loaded by these backends); save the model with safetensors or use backend torch.")
    _check_pooling(folder / kinds["pooling"] if "pooling" in kinds else None, where)
    _check_no_prompt(folder, where)
    settings = _read_json(transformer_folder / "sentence_bert_config.json", where, missing_ok=True) or \
        _read_json(folder / "sentence_bert_config.json", where, missing_ok=True)
    return SourceModel(folder=folder, transformer_folder=transformer_folder, model_type=model_type,
                       max_seq_length=_max_seq_length(settings, config, transformer_folder, where),
                       do_lower_case=bool(settings.get("do_lower_case", False)), normalize="normalize" in kinds,
                       width=int(config.get("hidden_size") or config.get("dim") or 0))


def _module_kinds(folder: Path, where: str) -> dict[str, str]:
    """kind -> module path of ``modules.json`` (no file: a bare transformer, which sentence-transformers mean-pools)."""
    modules = _read_json(folder / "modules.json", where, missing_ok=True, expect=list)
    if not modules:
        return {"transformer": ""}
    kinds: dict[str, str] = {}
    for position, module in enumerate(modules):
        type_name = str(module.get("type", "")).rsplit(".", 1)[-1] if isinstance(module, dict) else ""
        kind = _MODULE_KINDS.get(type_name)
        expected = ("transformer", "pooling", "normalize")[position] if position < 3 else None
        if kind is None or kind != expected:
            described = module.get("type") if isinstance(module, dict) else module
            raise EmbeddingError(f"{where}: module {position} ({described}) is not supported; only Transformer, "
                                 "mean Pooling and Normalize, in that order, are; use embedding.backend torch.")
        kinds[kind] = str(module.get("path", ""))
    if "pooling" not in kinds:
        raise EmbeddingError(f"{where}: modules.json has no Pooling module; use embedding.backend torch.")
    return kinds


def _check_pooling(pooling_folder: Path | None, where: str) -> None:
    if pooling_folder is None:
        return
    config = _read_json(pooling_folder / "config.json", where)
    others = [mode for mode in _OTHER_POOLING_MODES if config.get(mode)]
    if not config.get("pooling_mode_mean_tokens") or others:
        used = ", ".join(others) or "no mean pooling"
        raise EmbeddingError(f"{where}: pooling {used} is not supported, only mean pooling is; "
                             "use embedding.backend torch.")
    if config.get("include_prompt") is False:
        raise EmbeddingError(f"{where}: pooling with include_prompt false is not supported; "
                             "use embedding.backend torch.")


def _check_no_prompt(folder: Path, where: str) -> None:
    settings = _read_json(folder / "config_sentence_transformers.json", where, missing_ok=True)
    if settings.get("default_prompt_name"):
        raise EmbeddingError(f"{where}: a default prompt ({settings['default_prompt_name']!r}) is not supported; "
                             "use embedding.backend torch.")


def _max_seq_length(settings: dict[str, Any], config: dict[str, Any], transformer_folder: Path, where: str) -> int:
    """sentence_bert_config's max_seq_length, else the tokenizer's limit, capped by the position embeddings."""
    length = settings.get("max_seq_length")
    if not isinstance(length, int) or length <= 0:
        tokenizer = _read_json(transformer_folder / "tokenizer_config.json", where, missing_ok=True)
        limit = tokenizer.get("model_max_length")
        length = limit if isinstance(limit, int) and 0 < limit < 100_000 else 512
    positions = config.get("max_position_embeddings")
    return min(length, positions) if isinstance(positions, int) and positions > 0 else length


def _read_json(path: Path, where: str, *, missing_ok: bool = False, expect: type = dict) -> Any:
    if not path.is_file():
        if missing_ok:
            return expect()
        raise EmbeddingError(f"{where}: {path.name} is missing ({path}).")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmbeddingError(f"{where}: {path} cannot be read ({type(exc).__name__}: {exc}).") from exc
    if not isinstance(value, expect):
        raise EmbeddingError(f"{where}: {path} should hold a JSON {expect.__name__}.")
    return value
