"""Exporting a sentence-transformers folder to ONNX (fp32), and the int8 copy of that export.

This is the one-time, torch-dependent half of the onnx backends (``onnx_encoder``
runs the result without torch). The graph is the transformer plus
sentence-transformers' mean pooling (masked sum over the tokens divided by
their count), so ONNX Runtime returns one pooled vector per text; the Normalize
module, when the folder has one, is applied by the encoder in numpy because
``embedding.normalize`` may ask for it as well. The folder's fast tokenizer is
saved beside the graph with the settings the encoder needs (``encoder.json``),
so an exported folder is all the encoder reads.

Weights are read from ``model.safetensors`` only (``use_safetensors=True``): no
pickle is ever loaded.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

from topic_pipeline.pipeline.embedding.derived_models import MANIFEST_NAME
from topic_pipeline.pipeline.embedding.source_model import SourceModel

ONNX_FILE = "model.onnx"
ENCODER_CONFIG = "encoder.json"
# part of the derived folder's fingerprint: a change here makes a new export, never reuses an old one
EXPORT_SETTINGS: dict[str, Any] = {"format": 1, "opset": 17, "attention": "eager", "pooling": "mean-in-graph"}
# MatMul weights only, one scale per output channel: per-tensor scales drop the mean cosine to torch's
# vectors to about 0.95 on 20 Newsgroups, per channel keeps it near 0.99; quantizing the embedding
# lookup (Gather) as well saves file size but no time. One text per call: see ``quantize_onnx``.
QUANTIZATION_SETTINGS: dict[str, Any] = {"weight_type": "QInt8", "per_channel": True, "op_types": ["MatMul"],
                                         "texts_per_call": 1}
_TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export_onnx(source: SourceModel, out: Path) -> None:
    """Write ``model.onnx``, the tokenizer and ``encoder.json`` for ``source`` into the folder ``out``."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source.transformer_folder), use_fast=True)
    if not getattr(tokenizer, "is_fast", False):
        raise RuntimeError(f"{source.transformer_folder} has no fast tokenizer")
    model = AutoModel.from_pretrained(str(source.transformer_folder), use_safetensors=True,
                                      attn_implementation="eager").eval()
    input_names = [name for name in _TEXT_INPUTS if name in tokenizer.model_input_names]
    example = tokenizer(["an example text", "a second, longer example text"], padding=True, return_tensors="pt")
    dynamic = {name: {0: "batch", 1: "tokens"} for name in input_names} | {"sentence_embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings of the TorchScript exporter
        torch.onnx.export(_mean_pooled(model, input_names), tuple(example[name] for name in input_names),
                          str(out / ONNX_FILE), dynamo=False, input_names=input_names,
                          output_names=["sentence_embedding"], dynamic_axes=dynamic,
                          opset_version=EXPORT_SETTINGS["opset"], do_constant_folding=True)
    tokenizer.save_pretrained(str(out))
    config = {"input_names": input_names, "max_seq_length": source.max_seq_length,
              "do_lower_case": source.do_lower_case, "normalize": source.normalize, "width": source.width,
              "pad_token": tokenizer.pad_token, "pad_token_id": tokenizer.pad_token_id}
    (out / ENCODER_CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")


def _mean_pooled(model: Any, input_names: list[str]) -> Any:
    """``model`` wrapped to return sentence-transformers' mean pooling of its last hidden state."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            named = dict(zip(input_names, inputs, strict=True))
            hidden = self.transformer(**named).last_hidden_state
            mask = named["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)

    return MeanPooled().eval()


def quantize_onnx(exported: Path, out: Path) -> None:
    """Write an int8 copy of the export in ``exported`` (graph, tokenizer, encoder.json) into ``out``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    for item in exported.iterdir():
        if item.is_file() and item.name not in (ONNX_FILE, MANIFEST_NAME, ENCODER_CONFIG):
            shutil.copy2(item, out / item.name)
    # dynamic quantization scales the activations of each call by the whole batch's range, so in a batch a
    # text's vector would depend on its batch mates (up to 0.02 per value): the encoder runs one text per call
    config = json.loads((exported / ENCODER_CONFIG).read_text(encoding="utf-8"))
    config["texts_per_call"] = QUANTIZATION_SETTINGS["texts_per_call"]
    (out / ENCODER_CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")
    quiet = _QuantizerChatter()
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(str(exported / ONNX_FILE), str(out / ONNX_FILE),
                         weight_type=getattr(QuantType, QUANTIZATION_SETTINGS["weight_type"]),
                         per_channel=QUANTIZATION_SETTINGS["per_channel"],
                         op_types_to_quantize=list(QUANTIZATION_SETTINGS["op_types"]))
    finally:
        logging.getLogger().removeFilter(quiet)


class _QuantizerChatter(logging.Filter):
    """Drops what the quantizer logs on the root logger below ERROR: a line per tensor, and advice on every call."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "onnxruntime" not in record.pathname
