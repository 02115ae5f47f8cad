"""The static backend: a model2vec model distilled from a sentence-transformers folder, and running it.

Distillation (model2vec's ``distill_from_model``) passes every token of the
vocabulary through the transformer once, keeps one vector per token, reduces
them with PCA and weights them (SIF) by token frequency; embedding a text is
then a lookup and a mean, no network. It is done once per source model (about
15 s for all-MiniLM-L6-v2 on 2 cores) and saved in model2vec's safetensors
format; loading reads only safetensors and JSON.

``pca_dims`` is 256: model2vec's default, two thirds of MiniLM's 384
dimensions. The token vectors' variance is concentrated in their leading
components, so the cut costs little quality, while the model file, the stored
embeddings and the neighbour search of UMAP downstream all shrink by a third.

Texts are cut at 512 tokens (model2vec's default; MiniLM on torch reads 256):
a lookup costs little per token, so the static model reads more of a long post.

The model is loaded with ``AutoModel.from_pretrained(use_safetensors=True)``
and handed to ``distill_from_model`` (what ``distill(model_name=folder)`` does
itself), so a folder's ``pytorch_model.bin``, a pickle, is never loaded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from topic_pipeline.pipeline.embedding.source_model import SourceModel

ENCODER_CONFIG = "encoder.json"


def distill_settings() -> dict[str, Any]:
    """The distillation's settings, part of the derived folder's fingerprint and of the vectors' cache key.

    model2vec's version is included: a new distiller may give other vectors, and
    they must not be read back from the cache as the old one's.
    """
    try:
        version = metadata.version("model2vec")
    except metadata.PackageNotFoundError:
        version = None
    return {"format": 1, "pca_dims": 256, "sif_coefficient": 1e-4, "quantize_to": "float16", "model2vec": version}


def distill_static(source: SourceModel, out: Path) -> None:
    """Distill ``source`` into a model2vec model saved in the folder ``out``."""
    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    settings = distill_settings()
    folder = str(source.transformer_folder)
    model = AutoModel.from_pretrained(folder, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, use_fast=True)
    static = distill_from_model(model=model, tokenizer=tokenizer, device="cpu", pca_dims=settings["pca_dims"],
                                sif_coefficient=settings["sif_coefficient"], quantize_to=settings["quantize_to"])
    static.save_pretrained(str(out))
    config = {"normalize": source.normalize, "width": int(static.dim)}
    (out / ENCODER_CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")


class StaticSentenceEncoder:
    """``encode`` and ``get_sentence_embedding_dimension`` of a SentenceTransformer, run by a model2vec model.

    The vectors are unit length when the source model ends in Normalize (as
    all-MiniLM-L6-v2 does) or ``normalize_embeddings`` asks, like torch's.
    ``batch_size`` is not used: a lookup needs no batches of the network's size
    (model2vec takes 1,024 texts at a time).
    """

    def __init__(self, folder: Path, name: str) -> None:
        from model2vec import StaticModel

        self.folder = folder
        self.name = name
        self.config = json.loads((folder / ENCODER_CONFIG).read_text(encoding="utf-8"))
        # float16 on disk, float32 in memory: the mean over a text's tokens is taken in float32
        self._model = StaticModel.from_pretrained(folder, quantize_to="float32")

    def __repr__(self) -> str:
        return f"StaticSentenceEncoder({self.name!r}, folder={str(self.folder)!r})"

    def get_sentence_embedding_dimension(self) -> int:
        return int(self._model.dim)

    def encode(self, texts: Sequence[str], batch_size: int = 32, show_progress_bar: bool = False,
               normalize_embeddings: bool = False, convert_to_numpy: bool = True, **_: Any) -> np.ndarray:
        """A float32 matrix of shape (len(texts), 256), rows in the order of ``texts``."""
        texts = [str(text) for text in texts]
        if not texts:
            return np.zeros((0, self.get_sentence_embedding_dimension()), dtype=np.float32)
        vectors = self._model.encode(texts, show_progress_bar=show_progress_bar, use_multiprocessing=False,
                                     normalize=bool(self.config["normalize"] or normalize_embeddings))
        return np.asarray(vectors, dtype=np.float32)
