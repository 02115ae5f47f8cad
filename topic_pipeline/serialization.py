"""Save and load a fitted topic model in BERTopic's safetensors directory layout.

The folder holds only JSON and safetensors, so loading it runs no code:
``topics.json`` (per-document topics, sizes, words, labels, mapper, aspects),
``config.json`` (BERTopic's hyperparameters plus the embedding model name),
``topic_embeddings.safetensors`` and, optionally, ``ctfidf.safetensors`` with
``ctfidf_config.json`` (vectorizer settings and vocabulary). ``BERTopic.load``
reads a folder we write, and we read one BERTopic writes. UMAP and HDBSCAN are
not part of this format: a loaded model assigns new documents to the topic
whose embedding is closest in cosine, as BERTopic does after such a load.

BERTopic's default format is a pickle, and unpickling a file runs whatever code
its author put in it. ``load_model`` therefore refuses pickle files, and any
folder holding one, instead of opening them.

The folder is hostile input in every other way too: ``load_model`` bounds file
sizes and JSON nesting, checks every JSON value's type and range, every tensor's
dtype, rank and finiteness, and the c-TF-IDF's CSR arrays and the shapes of all
arrays against each other before anything uses them, raising ``SavedModelError``
with one line that names the file and the field.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import stat
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn, get_args

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from topic_pipeline.errors import ParamsError, StageInputError, StoreError

logger = logging.getLogger(__name__)

Serialization = Literal["safetensors", "pickle", "pytorch"]

TOPICS_FILE = "topics.json"
CONFIG_FILE = "config.json"
EMBEDDINGS_FILE = "topic_embeddings.safetensors"
CTFIDF_FILE = "ctfidf.safetensors"
CTFIDF_CONFIG_FILE = "ctfidf_config.json"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".bin", ".pt", ".pth", ".joblib", ".ckpt")

# BERTopic's constructor arguments that config.json carries (those without "model" in the
# name), with BERTopic 0.17.4's defaults. BERTopic.load passes them to BERTopic(**config).
BERTOPIC_CONFIG_DEFAULTS: dict[str, Any] = {
    "calculate_probabilities": False, "language": "english", "low_memory": False, "min_topic_size": 10,
    "n_gram_range": (1, 1), "nr_topics": None, "seed_topic_list": None, "top_n_words": 10, "verbose": False,
    "zeroshot_min_similarity": 0.7, "zeroshot_topic_list": None,
}
# BERTopic.load reads exactly these two c-TF-IDF settings back; more keys are kept but unused.
CTFIDF_REQUIRED = ("bm25_weighting", "reduce_frequent_words")
# CountVectorizer settings that cannot be written as JSON (BERTopic drops them too).
_VECTORIZER_DROPPED = ("tokenizer", "preprocessor", "dtype")


@dataclass
class SavedTopicModel:
    """Everything the safetensors layout holds, with BERTopic's attribute meanings.

    Attributes
    ----------
    topics : list of int, length n_documents
        Topic of each training document (-1 = outlier).
    topic_sizes, topic_labels : dict of int to int, dict of int to str
        Documents per topic; default names (``"3_space_nasa_orbit_launch"``).
    topic_representations : dict of int to list of (str, float)
        Topic words with their weights, best first.
    topic_embeddings : ndarray of shape (n_topic_rows, embedding_dim), float32
        One row per topic in ascending id order, the -1 row first when present.
    topic_mapper : list of list of int, optional
        BERTopic's ``TopicMapper.mappings_`` (row = original topic, last column = current id).
        None (no renumbering) is written as each topic mapped to itself.
    custom_labels : list of str, optional
        User labels, one per topic in ascending id order.
    topic_aspects : dict of str to dict of int to list
        Extra representations per aspect name.
    ctfidf, idf, vocabulary : csr_matrix of shape (n_topic_rows, n_terms), ndarray of shape (n_terms,), list of str
        c-TF-IDF weights (rows like ``topic_embeddings``), fitted idf (seed boosts included)
        and the terms in column order; all three or none.
    vectorizer_params, ctfidf_params, config : dict
        ``CountVectorizer`` arguments, c-TF-IDF settings (``bm25_weighting``,
        ``reduce_frequent_words``; other keys are kept) and BERTopic hyperparameters by
        BERTopic's names. Missing vectorizer and config keys are written with the defaults.
    embedding_model : str, optional
        Name of the sentence-transformers model that embedded the documents.
    """

    topics: list[int]
    topic_sizes: dict[int, int]
    topic_representations: dict[int, list[tuple[str, float]]]
    topic_embeddings: np.ndarray
    topic_labels: dict[int, str]
    topic_mapper: list[list[int]] | None = None
    custom_labels: list[str] | None = None
    topic_aspects: dict[str, dict[int, Any]] = field(default_factory=dict)
    ctfidf: sp.csr_matrix | None = None
    idf: np.ndarray | None = None
    vocabulary: list[str] | None = None
    vectorizer_params: dict[str, Any] = field(default_factory=dict)
    ctfidf_params: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    embedding_model: str | None = None

    @property
    def outliers(self) -> int:
        """1 if the outlier topic -1 exists (its row comes first), else 0 (BERTopic's ``_outliers``)."""
        return 1 if -1 in self.topic_sizes else 0


def save_model(path: str | os.PathLike[str], model: SavedTopicModel, *, serialization: Serialization = "safetensors",
               save_ctfidf: bool = True, save_embedding_model: bool | str = True) -> Path:
    """Write ``model`` as a BERTopic safetensors folder at ``path``; return the folder.

    Parameters
    ----------
    path : str or PathLike
        The folder to create. It must not exist yet, so nothing is ever overwritten.
    model : SavedTopicModel
    serialization : {"safetensors"}
        Only safetensors: "pickle" and "pytorch" files run code when loaded.
    save_ctfidf : bool
        Also write ``ctfidf.safetensors`` and ``ctfidf_config.json`` (skipped with a warning
        when the model has no c-TF-IDF, e.g. after merging).
    save_embedding_model : bool or str
        True writes ``model.embedding_model``; a string writes that name instead (e.g.
        ``"sentence-transformers/all-MiniLM-L6-v2"``); False writes none.

    Raises
    ------
    ParamsError
        ``serialization`` is not "safetensors", or the config/vectorizer/c-TF-IDF settings
        have keys BERTopic cannot load.
    StageInputError
        ``path`` exists, or the model's arrays do not fit together.
    StoreError
        The folder cannot be written.
    """
    if serialization != "safetensors":
        raise ParamsError(
            f"serialization must be 'safetensors' (one of {get_args(Serialization)} in BERTopic); got "
            f"{serialization!r}. Only safetensors is written because pickle and pytorch files run code "
            "when they are loaded; use serialization='safetensors'.")
    target = Path(path)
    if target.exists() or target.is_symlink():
        raise StageInputError(f"Cannot save the topic model to {target}: the path already exists. "
                              "Pick a new path or remove the existing one first.")
    files = _layout(model, save_ctfidf=save_ctfidf, save_embedding_model=save_embedding_model)
    tmp = target.parent / f".{target.name}.partial-{uuid.uuid4().hex}"
    try:
        tmp.mkdir(parents=True)
        for name, content in files.items():
            (tmp / name).write_bytes(content if isinstance(content, bytes) else json.dumps(content, indent=2).encode())
        os.rename(tmp, target)
    except OSError as exc:
        raise StoreError(f"Could not write the topic model to {target} ({exc}); check that the parent "
                         "folder is writable and the path is still free.") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_model(path: str | os.PathLike[str]) -> SavedTopicModel:
    """Read a safetensors topic-model folder (ours or BERTopic's) without running any code.

    The folder is treated as untrusted input: every file is size-checked, every JSON value is
    type- and range-checked, and the arrays are checked against each other (topics, embedding
    rows, c-TF-IDF rows and columns, vocabulary, idf) before anything uses them. Compiled sparse
    code trusts its index arrays, so an unchecked column index would crash the process later.

    Raises
    ------
    StageInputError
        ``path`` is a file (BERTopic's pickle format) or the folder holds pickle-like files:
        they are refused, never opened.
    SavedModelError (a StoreError)
        The folder or one of its files is missing, too large or malformed; the one-line message
        names the file and the field.
    """
    folder = Path(path)
    if folder.is_file():
        raise StageInputError(
            f"{folder} is a file, not a safetensors model folder; BERTopic's pickle format saves a file. "
            "Pickles are not loaded here because unpickling runs code stored in the file. In an "
            "environment you trust, re-save it with BERTopic.load(file).save(folder, "
            "serialization='safetensors', save_ctfidf=True) and load that folder.")
    if not folder.is_dir():
        raise StoreError(f"Topic model folder {folder} does not exist; give the folder that save_model "
                         "or BERTopic.save(..., serialization='safetensors') wrote.")
    pickles = _pickle_like_files(folder)
    if pickles:
        raise StageInputError(
            f"{folder} holds pickle-like files {pickles}; the folder is refused and nothing in it is "
            "loaded, because unpickling runs code stored in the file. Re-save the model with "
            "serialization='safetensors' into a new folder (or remove those files if they are stray).")
    topics_path = folder / TOPICS_FILE
    topics = _read_json(topics_path)
    config = _read_json(folder / CONFIG_FILE)
    model = _parse_topics(topics, topics_path)
    model.topic_embeddings = _read_topic_embeddings(folder / EMBEDDINGS_FILE, model)
    model.config, model.embedding_model = _parse_config(config, folder / CONFIG_FILE)
    if (folder / CTFIDF_FILE).exists() or (folder / CTFIDF_CONFIG_FILE).exists():
        _parse_ctfidf(model, folder)  # both files or an error naming the missing one
    return model


# --- writing -------------------------------------------------------------------------------
def _layout(model: SavedTopicModel, *, save_ctfidf: bool, save_embedding_model: bool | str) -> dict[str, Any]:
    """File name -> JSON value or safetensors bytes, checked before anything touches the disk."""
    from safetensors.numpy import save as save_tensors

    embeddings = np.asarray(model.topic_embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise StageInputError(f"topic_embeddings must be 2-D (n_topics, dim); got shape {embeddings.shape}. "
                              "Pass one embedding row per topic.")
    files: dict[str, Any] = {
        EMBEDDINGS_FILE: save_tensors({"topic_embeddings": np.ascontiguousarray(embeddings)}),
        TOPICS_FILE: _topics_json(model),
        CONFIG_FILE: _config_json(model, save_embedding_model),
    }
    if save_ctfidf and model.ctfidf is None:
        logger.warning("The model has no c-TF-IDF (as after merging models), so %s is not written.", CTFIDF_FILE)
    elif save_ctfidf:
        files[CTFIDF_FILE] = save_tensors(_ctfidf_tensors(model))
        files[CTFIDF_CONFIG_FILE] = _ctfidf_config_json(model)
    try:
        json.dumps([content for content in files.values() if not isinstance(content, bytes)])
    except (TypeError, ValueError) as exc:
        raise ParamsError(f"The model holds a value JSON cannot store ({exc}); pass plain strings, numbers, "
                          "lists and dicts in config, vectorizer_params, ctfidf_params and topic_aspects.") from exc
    return files


def _topics_json(model: SavedTopicModel) -> dict[str, Any]:
    mapper = model.topic_mapper
    if mapper is None:
        mapper = [[topic, topic] for topic in sorted(set(model.topics))]
    return {
        "topic_representations": {int(t): [[str(w), float(s)] for w, s in words]
                                  for t, words in model.topic_representations.items()},
        "topics": [int(t) for t in model.topics],
        "topic_sizes": {int(t): int(n) for t, n in model.topic_sizes.items()},
        "topic_mapper": [[int(t) for t in row] for row in mapper],
        "topic_labels": {int(t): str(label) for t, label in model.topic_labels.items()},
        "custom_labels": None if model.custom_labels is None else [str(x) for x in model.custom_labels],
        "_outliers": model.outliers,
        "topic_aspects": {str(a): {int(t): _plain(v) for t, v in values.items()}
                          for a, values in model.topic_aspects.items()},
    }


def _config_json(model: SavedTopicModel, save_embedding_model: bool | str) -> dict[str, Any]:
    unknown = sorted(set(model.config) - set(BERTOPIC_CONFIG_DEFAULTS))
    if unknown:
        raise ParamsError(f"config has keys BERTopic's constructor does not take: {unknown}. Expected only "
                          f"{sorted(BERTOPIC_CONFIG_DEFAULTS)}; drop or rename the others.")
    config = {key: _plain(value) for key, value in sorted((BERTOPIC_CONFIG_DEFAULTS | model.config).items())}
    if isinstance(save_embedding_model, str):
        config["embedding_model"] = save_embedding_model
    elif save_embedding_model and model.embedding_model is not None:
        config["embedding_model"] = model.embedding_model
    else:
        logger.warning("Saving without an embedding model name: whoever loads %s must supply the "
                       "embedding model to embed new documents.", CONFIG_FILE)
    return config


def _ctfidf_tensors(model: SavedTopicModel) -> dict[str, np.ndarray]:
    matrix = sp.csr_matrix(model.ctfidf, dtype=np.float64)
    vocabulary, idf = model.vocabulary, model.idf
    if vocabulary is None or idf is None or not matrix.shape[1] == len(vocabulary) == len(idf):
        raise StageInputError(
            "ctfidf, idf and vocabulary must describe the same terms; got ctfidf with "
            f"{matrix.shape[1]} columns, {None if vocabulary is None else len(vocabulary)} vocabulary terms and "
            f"{None if idf is None else len(idf)} idf values. Pass all three from the same fit.")
    # scipy keeps int32 indices while they fit; BERTopic's files carry whatever scipy had.
    index_dtype = np.int32 if max(matrix.nnz, *matrix.shape) < np.iinfo(np.int32).max else np.int64
    return {
        "indptr": np.ascontiguousarray(matrix.indptr, dtype=index_dtype),
        "indices": np.ascontiguousarray(matrix.indices, dtype=index_dtype),
        "data": np.ascontiguousarray(matrix.data, dtype=np.float64),
        "shape": np.array(matrix.shape, dtype=np.int64),
        "diag": np.ascontiguousarray(idf, dtype=np.float64),
    }


def _ctfidf_config_json(model: SavedTopicModel) -> dict[str, Any]:
    missing = [key for key in CTFIDF_REQUIRED if key not in model.ctfidf_params]
    if missing:
        raise ParamsError(f"ctfidf_params lacks {missing}, which BERTopic.load reads; got "
                          f"{sorted(model.ctfidf_params)}. Pass both as booleans.")
    defaults = {k: v for k, v in CountVectorizer().get_params().items() if k not in _VECTORIZER_DROPPED}
    unknown = sorted(set(model.vectorizer_params) - set(defaults) - {"analyzer"})
    if unknown:
        raise ParamsError(f"vectorizer_params has keys CountVectorizer does not take: {unknown}. Expected a "
                          f"subset of {sorted(defaults)}; drop the others (e.g. our 'language').")
    params = dict(sorted((defaults | model.vectorizer_params).items()))
    if not isinstance(params.get("analyzer", "word"), str):  # a callable cannot go into JSON
        del params["analyzer"]
    return {
        "ctfidf_model": {key: _plain(value) for key, value in model.ctfidf_params.items()},
        "vectorizer_model": {
            "params": {key: _plain(value) for key, value in params.items()},
            "vocab": {str(term): index for index, term in enumerate(model.vocabulary or [])},
        },
    }


def _plain(value: Any) -> Any:
    """Numpy scalars and tuples -> JSON's ints, floats and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list | np.ndarray):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


# --- reading -------------------------------------------------------------------------------
# A saved folder is untrusted input: it may come from anyone. Everything below checks a value
# before numpy, scipy or the model sees it, and fails with one SavedModelError line that names
# the file and the field. The limits are module constants so a deployment can tune them.
MAX_FILE_BYTES: dict[str, int] = {
    TOPICS_FILE: 1 << 30, CONFIG_FILE: 16 << 20, CTFIDF_CONFIG_FILE: 256 << 20,
    EMBEDDINGS_FILE: 4 << 30, CTFIDF_FILE: 16 << 30,
}
MAX_JSON_DEPTH = 64  # BERTopic's files nest 5 levels (topic_aspects -> name -> topic -> words -> pair)
MAX_FOLDER_ENTRIES = 10_000  # a saved model holds 3-5 files, plus images/ for a visual aspect
MAX_FOLDER_DEPTH = 8
_MAX_ID = 2**31 - 1  # topic ids and hyperparameter counts
_MAX_COUNT = 2**62  # documents per topic
_MAX_NGRAM = 100
_TOPIC_KEY = re.compile(r"-1|0|[1-9][0-9]{0,9}")  # str(int) as json.dump writes dict keys; no "01" aliases
_FLOATS = frozenset({"F16", "F32", "F64"})
_INTEGERS = frozenset({"I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64"})
_NUMBERS = _FLOATS | _INTEGERS
_JSON_SCAN_CHUNK = 1 << 22


class SavedModelError(StoreError, ValueError):
    """A file of a saved model folder is missing, too large, or holds a value that does not fit.

    A StoreError like every other damaged-store case (so existing handlers keep working) and a
    ValueError because the content, not the disk, is at fault.
    """


def _fail(path: Path, problem: str) -> NoReturn:
    """Raise the one-line error for ``path``; ``problem`` names the field and what is wrong with it."""
    raise SavedModelError(f"{path}: {problem}. The file is damaged or was not written by BERTopic or "
                          "topic_pipeline; save the model again.")


def _show(value: Any) -> str:
    """A short one-line repr: a hostile file can put megabytes or newlines into any value."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _key(key: str) -> str:
    """A JSON key quoted for a field name, shortened like ``_show`` when it is long or odd."""
    return f"'{key}'" if len(key) <= 60 and key.isprintable() and "'" not in key else _show(key)


def _kind(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
             float: "a number", type(None): "null"}
    return f"{names.get(type(value), type(value).__name__)} {_show(value)}"


def _one_line(exc: BaseException) -> str:
    """A library's exception text squeezed onto one line (and cut short) for our message."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


# --- reading: files ----------------------------------------------------------------------------
def _pickle_like_files(folder: Path) -> list[str]:
    """Relative paths of pickle-like entries, walked iteratively without following links.

    ``Path.rglob`` recurses once per folder level, so a crafted folder nested thousands of levels
    deep would raise RecursionError; a folder with millions of entries would take minutes. The
    walk stops at MAX_FOLDER_DEPTH levels and MAX_FOLDER_ENTRIES entries instead.
    """
    found: list[str] = []
    pending, seen = [(folder, 0)], 0
    while pending:
        directory, depth = pending.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    seen += 1
                    if seen > MAX_FOLDER_ENTRIES:
                        _fail(folder, f"the folder holds more than {MAX_FOLDER_ENTRIES} files and folders; a "
                                      "saved model has a handful")
                    if Path(entry.name).suffix.lower() in PICKLE_SUFFIXES:
                        found.append(str(Path(entry.path).relative_to(folder)))
                    if entry.is_dir(follow_symlinks=False):
                        if depth + 1 > MAX_FOLDER_DEPTH:
                            _fail(folder, f"the folder nests sub-folders more than {MAX_FOLDER_DEPTH} levels deep")
                        pending.append((Path(entry.path), depth + 1))
        except SavedModelError:  # itself an OSError (a StoreError): let it through unwrapped
            raise
        except OSError as exc:
            raise SavedModelError(f"{directory} cannot be listed ({_one_line(exc)}); check its permissions.") from exc
    return sorted(found)


def _checked_size(path: Path) -> int:
    """Stat ``path`` (through links): it must be a regular file within its size limit.

    Reading /dev/zero, a pipe, or a 100 GB file would hang or exhaust memory before any content
    check could run, so the size is settled first.
    """
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise SavedModelError(
            f"{path} is missing, so the model folder is incomplete (it needs {TOPICS_FILE}, {CONFIG_FILE}, "
            f"{EMBEDDINGS_FILE}, and {CTFIDF_FILE} with {CTFIDF_CONFIG_FILE} together). Save the model again."
        ) from exc
    except OSError as exc:
        raise SavedModelError(f"{path} cannot be read ({_one_line(exc)}); check its permissions.") from exc
    if not stat.S_ISREG(info.st_mode):
        _fail(path, "the path is not a regular file (a folder, device or pipe)")
    limit = MAX_FILE_BYTES.get(path.name, 16 << 20)
    if info.st_size > limit:
        _fail(path, f"the file has {info.st_size} bytes, more than the {limit} allowed for {path.name}")
    return limit


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, never more than its limit (even if it grows after the stat)."""
    limit = _checked_size(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise SavedModelError(f"{path} cannot be read ({_one_line(exc)}); check its permissions.") from exc
    if len(data) > limit:
        _fail(path, f"the file grew past the {limit} bytes allowed for {path.name} while it was read")
    return data


def _read_json(path: Path) -> Any:
    """Parse a JSON file after bounding its size and nesting depth."""
    data = _read_bytes(path)
    _check_json_depth(data, path)
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError:  # a backstop: the depth scan should have refused this already
        _fail(path, "arrays and objects are nested too deeply to parse")
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, ints past Python's digit limit
        raise SavedModelError(f"{path} is not readable JSON ({_one_line(exc)}); the file is damaged. "
                              "Save the model again.") from exc


def _check_json_depth(data: bytes, path: Path) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH before ``json.loads`` sees it.

    The json parser recurses once per level: 100,000 nested lists raise RecursionError, and
    with a raised recursion limit they can overflow the C stack. The scan is linear and works on
    bounded chunks: escaped backslashes and then escaped quotes are removed (left to right, so
    every remaining quote delimits a string), the running quote parity tells which brackets are
    outside strings, and the running sum of those brackets is the depth.
    """
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return
    text = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    depth, in_string = 0, 0
    for start in range(0, len(text), _JSON_SCAN_CHUNK):
        chunk = np.frombuffer(text, dtype=np.uint8, count=min(_JSON_SCAN_CHUNK, len(text) - start), offset=start)
        inside = np.bitwise_xor.accumulate((chunk == ord('"')).view(np.uint8)) ^ in_string
        steps = ((chunk == ord("[")) | (chunk == ord("{"))).astype(np.int32)
        steps -= (chunk == ord("]")) | (chunk == ord("}"))
        steps[inside.astype(bool)] = 0
        running = np.cumsum(steps, dtype=np.int64) + depth
        if running.size and running.max() > MAX_JSON_DEPTH:
            _fail(path, f"arrays and objects are nested more than {MAX_JSON_DEPTH} levels deep; "
                        f"{path.name} needs at most a handful")
        depth, in_string = int(running[-1]), int(inside[-1])


# BERTopic saves np.array(None, dtype=float32), one NaN, when its model has no topic embeddings.
_RANK_HINTS = {("topic_embeddings", 0): " (BERTopic writes this when its model has no topic embeddings, e.g. "
                                        "after partial_fit on precomputed embeddings; such a model cannot be loaded)"}


def _read_tensors(path: Path, spec: dict[str, tuple[frozenset[str], int]]) -> dict[str, np.ndarray]:
    """The tensors named in ``spec`` (name -> allowed dtypes, rank), checked in the header first.

    safetensors itself refuses headers whose offsets do not match the file; the dtype (numbers
    only, no bool) and the rank are checked before any data is read, and other tensors are
    never read at all.
    """
    from safetensors import safe_open

    _checked_size(path)
    try:
        with safe_open(str(path), framework="np") as handle:
            names = list(handle.keys())
            missing = [key for key in spec if key not in names]
            if missing:
                raise SavedModelError(f"{path} has no tensor(s) {missing} (found {_show(sorted(names))}); "
                                      "save the model again.")
            for key, (dtypes, rank) in spec.items():
                header = handle.get_slice(key)
                dtype, shape = header.get_dtype(), header.get_shape()
                if dtype not in dtypes:
                    _fail(path, f"'{key}' has dtype {dtype}; expected one of {sorted(dtypes)}")
                if len(shape) != rank:
                    _fail(path, f"'{key}' has shape {_show(shape)}; expected {rank} dimension(s)"
                                + _RANK_HINTS.get((key, len(shape)), ""))
            return {key: handle.get_tensor(key) for key in spec}
    except SavedModelError:
        raise
    except Exception as exc:  # SafetensorError for damaged headers, truncated data, unknown dtypes
        raise SavedModelError(f"{path} is not a readable safetensors file ({_one_line(exc)}); "
                              "save the model again.") from exc


# --- reading: JSON values ----------------------------------------------------------------------
def _dict(value: Any, path: Path, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, f"{field} must be an object; got {_kind(value)}")
    return value


def _list(value: Any, path: Path, field: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(path, f"{field} must be an array; got {_kind(value)}")
    return value


def _str(value: Any, path: Path, field: str) -> str:
    if not isinstance(value, str):
        _fail(path, f"{field} must be a string; got {_kind(value)}")
    return value


def _bool(value: Any, path: Path, field: str) -> bool:
    if not isinstance(value, bool):
        _fail(path, f"{field} must be true or false; got {_kind(value)}")
    return value


def _int(value: Any, path: Path, field: str, low: int = -_MAX_ID, high: int = _MAX_ID) -> int:
    """An integer in [low, high]; JSON's true/false and 3.0 are not integers."""
    if type(value) is not int:
        _fail(path, f"{field} must be an integer; got {_kind(value)}")
    if not low <= value <= high:
        _fail(path, f"{field} is {value}, outside {low}..{high}")
    return value


def _number(value: Any, path: Path, field: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite number in [low, high]; Python's json reads NaN, Infinity and 1e999 as floats."""
    if type(value) not in (int, float):
        _fail(path, f"{field} must be a number; got {_kind(value)}")
    if not math.isfinite(value):
        _fail(path, f"{field} is {value}, not a finite number")
    if not low <= value <= high:
        _fail(path, f"{field} is {value}, outside [{low}, {high}]")
    return float(value)


def _strings(value: Any, path: Path, field: str) -> list[str]:
    return [_str(item, path, f"{field}[{i}]") for i, item in enumerate(_list(value, path, field))]


def _optional(check: Any) -> Any:
    """``check`` that also lets JSON null through (BERTopic writes None for unset settings)."""
    return lambda value, path, field: None if value is None else check(value, path, field)


def _plain_json(value: Any, path: Path, field: str) -> Any:
    """Free-form JSON (aspects, unknown settings): any shape, but every number finite.

    Recursion is bounded by the depth scan in ``_read_json``.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            _plain_json(item, path, f"{field}[{_key(key)}]")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _plain_json(item, path, f"{field}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        _fail(path, f"{field} is {value}, not a finite number")
    return value


def _topic_dict(value: Any, path: Path, field: str) -> dict[int, Any]:
    """A JSON object keyed by topic id ("-1", "0", "12") -> the same dict keyed by int."""
    result: dict[int, Any] = {}
    for key, item in _dict(value, path, field).items():
        if not _TOPIC_KEY.fullmatch(key):
            _fail(path, f"{field} has key {_show(key)}, which is not a topic id (-1 or a non-negative integer)")
        result[int(key)] = item
    return result


# --- reading: topics.json ----------------------------------------------------------------------
_TOPICS_REQUIRED = ("topics", "topic_sizes", "topic_representations", "topic_labels", "topic_mapper",
                    "custom_labels")


def _parse_topics(raw: Any, path: Path) -> SavedTopicModel:
    """topics.json -> a SavedTopicModel (embeddings still empty), every field type-checked.

    Cross-checks: the document topics, words and labels all name topics in ``topic_sizes``.
    """
    doc = _dict(raw, path, "the top level")
    for key in _TOPICS_REQUIRED:
        if key not in doc:
            raise SavedModelError(f"{path} has no key {key!r}; it is not a BERTopic/topic_pipeline topics file.")
    sizes = {topic: _int(count, path, f"'topic_sizes'[\"{topic}\"]", 0, _MAX_COUNT)
             for topic, count in _topic_dict(doc["topic_sizes"], path, "'topic_sizes'").items()}
    if not sizes:
        _fail(path, "'topic_sizes' is empty; a fitted model has at least one topic")
    representations = {topic: _words(words, path, f"'topic_representations'[\"{topic}\"]")
                       for topic, words in _topic_dict(doc["topic_representations"], path,
                                                       "'topic_representations'").items()}
    labels = {topic: _str(label, path, f"'topic_labels'[\"{topic}\"]")
              for topic, label in _topic_dict(doc["topic_labels"], path, "'topic_labels'").items()}
    _same_topics(path, sizes, representations, labels)
    model = SavedTopicModel(
        topics=_document_topics(doc["topics"], path, sizes),
        topic_sizes=sizes,
        topic_representations=representations,
        topic_embeddings=np.zeros((0, 0), dtype=np.float32),
        topic_labels=labels,
        topic_mapper=_mapper(doc["topic_mapper"], path),
        custom_labels=_optional(_strings)(doc["custom_labels"], path, "'custom_labels'"),
        topic_aspects=_aspects(doc.get("topic_aspects"), path),
    )
    flag = _int(doc.get("_outliers", model.outliers), path, "'_outliers'", 0, 1)
    if flag != model.outliers:
        _fail(path, f"'_outliers' is {flag} but topic -1 is {'' if model.outliers else 'not '}in 'topic_sizes'")
    return model


def _words(value: Any, path: Path, field: str) -> list[tuple[str, float]]:
    """A topic's [word, weight] pairs; weights finite."""
    pairs = []
    for i, pair in enumerate(_list(value, path, field)):
        if not isinstance(pair, list) or len(pair) != 2:
            _fail(path, f"{field}[{i}] must be a [word, weight] pair; got {_kind(pair)}")
        pairs.append((_str(pair[0], path, f"{field}[{i}][0]"), _number(pair[1], path, f"{field}[{i}][1]")))
    return pairs


def _same_topics(path: Path, sizes: dict[int, int], representations: dict[int, Any], labels: dict[int, str]) -> None:
    """Words and labels must describe counted topics, and every topic with words needs a label.

    ``topic_sizes`` may hold one topic more than the words: -1 of a model merged onto one
    without outliers is counted but has no words (BERTopic's merge_models does the same).
    """
    for name, values in (("topic_representations", representations), ("topic_labels", labels)):
        unknown = sorted(set(values) - set(sizes))
        if unknown:
            _fail(path, f"'{name}' has topic {unknown[0]}, which 'topic_sizes' does not count")
    unlabelled = sorted(set(representations) - set(labels))
    if unlabelled:
        _fail(path, f"'topic_labels' has no label for topic {unlabelled[0]}, which has words")


def _document_topics(value: Any, path: Path, sizes: dict[int, int]) -> list[int]:
    """One topic id per training document, each a topic that ``topic_sizes`` counts."""
    topics = _list(value, path, "'topics'")
    for position, topic in enumerate(topics):
        if type(topic) is not int:
            _fail(path, f"'topics'[{position}] must be an integer topic id; got {_kind(topic)}")
    unknown = set(topics) - set(sizes)
    if unknown:
        topic = min(unknown)
        _fail(path, f"'topics'[{topics.index(topic)}] is topic {_show(topic)}, which 'topic_sizes' does not count")
    return topics


def _mapper(value: Any, path: Path) -> list[list[int]]:
    """BERTopic's TopicMapper rows: a rectangular table of topic ids (-1 or more)."""
    rows: list[list[int]] = []
    for i, row in enumerate(_list(value, path, "'topic_mapper'")):
        field = f"'topic_mapper'[{i}]"
        row = _list(row, path, field)
        if not row or (rows and len(row) != len(rows[0])):
            _fail(path, f"{field} has {len(row)} columns; every row needs the same number (at least 1)")
        rows.append([_int(topic, path, f"{field}[{j}]", -1) for j, topic in enumerate(row)])
    return rows


def _aspects(value: Any, path: Path) -> dict[str, dict[int, Any]]:
    """Extra representations: aspect name -> topic id -> JSON (word pairs become tuples again).

    Images of a visual aspect live in images/ and are not read; BERTopic marks them with a
    ``"Visual_Aspect": true`` entry, which is skipped.
    """
    if not value:
        return {}
    aspects: dict[str, dict[int, Any]] = {}
    for name, per_topic in _dict(value, path, "'topic_aspects'").items():
        if name == "Visual_Aspect":
            continue
        field = f"'topic_aspects'[{_key(name)}]"
        aspects[name] = {topic: _pairs(_plain_json(words, path, f"{field}[\"{topic}\"]"))
                         for topic, words in _topic_dict(per_topic, path, field).items()}
    return aspects


def _read_topic_embeddings(path: Path, model: SavedTopicModel) -> np.ndarray:
    """topic_embeddings.safetensors: one finite row per topic with words, as float32.

    One known inconsistency is repaired rather than refused, because BERTopic itself writes it:
    ``update_topics`` after ``reduce_outliers`` removes topic -1 but keeps its embedding row
    (BERTopic 0.17.4 compares the new topics with ``topics_`` after already overwriting it, so
    its intended ``topic_embeddings_[1:]`` never runs). With no -1 topic and exactly one extra
    row, that first row is the stale outlier row and is dropped.
    """
    n_topics = len(model.topic_representations)
    array = _read_tensors(path, {"topic_embeddings": (_NUMBERS, 2)})["topic_embeddings"]
    rows, width = array.shape
    if rows == n_topics + 1 and -1 not in model.topic_sizes:
        logger.warning("%s has one row more than %s has topics, as BERTopic writes after reduce_outliers and "
                       "update_topics: dropping its first row (the removed outlier topic's).", path, TOPICS_FILE)
        array, rows = array[1:], rows - 1
    if rows != n_topics:
        _fail(path, f"'topic_embeddings' has {rows} rows but {TOPICS_FILE} has {n_topics} topics with words "
                    "(one row each)")
    if width == 0:
        _fail(path, "'topic_embeddings' has rows of width 0")
    _finite(array, path, "'topic_embeddings'")
    with np.errstate(over="ignore"):
        embeddings = array.astype(np.float32)
    _finite(embeddings, path, "'topic_embeddings' (as float32)")
    return embeddings


def _finite(array: np.ndarray, path: Path, field: str) -> None:
    """Refuse NaN and infinities, naming the first bad position."""
    if array.dtype.kind != "f":
        return
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        where = ", ".join(str(int(i)) for i in bad[0])
        _fail(path, f"{field} holds {array[tuple(bad[0])]} at [{where}]; every value must be a finite number")


# --- reading: config.json ----------------------------------------------------------------------
def _ngram_range(value: Any, path: Path, field: str) -> list[int]:
    low_high = _list(value, path, field)
    if len(low_high) != 2:
        _fail(path, f"{field} must be [low, high]; got {_kind(value)}")
    low = _int(low_high[0], path, f"{field}[0]", 1, _MAX_NGRAM)
    high = _int(low_high[1], path, f"{field}[1]", low, _MAX_NGRAM)
    return [low, high]


def _nr_topics(value: Any, path: Path, field: str) -> int | str | None:
    if value is None or value == "auto":
        return value
    return _int(value, path, field, 1)


def _seed_topics(value: Any, path: Path, field: str) -> list[list[str]]:
    return [_strings(seeds, path, f"{field}[{i}]") for i, seeds in enumerate(_list(value, path, field))]


def _model_name(value: Any, path: Path, field: str) -> str:
    """A sentence-transformers name or path: printable text of sane length."""
    name = _str(value, path, field)
    if not 0 < len(name) <= 1000 or not name.isprintable():
        _fail(path, f"{field} must be a printable model name of 1..1000 characters; got {_show(name)}")
    return name


_CONFIG_FIELDS: dict[str, Any] = {
    "calculate_probabilities": _bool, "low_memory": _bool,
    "verbose": lambda v, p, f: v if isinstance(v, bool) else _int(v, p, f, 0),  # BERTopic only tests its truth
    "language": _optional(_str), "embedding_model": _optional(_model_name),
    "min_topic_size": lambda v, p, f: _int(v, p, f, 1), "top_n_words": lambda v, p, f: _int(v, p, f, 1),
    "n_gram_range": _ngram_range, "nr_topics": _nr_topics, "seed_topic_list": _optional(_seed_topics),
    "zeroshot_topic_list": _optional(_strings),
    "zeroshot_min_similarity": lambda v, p, f: _number(v, p, f, -1.0, 1.0),
}


def _parse_config(raw: Any, path: Path) -> tuple[dict[str, Any], str | None]:
    """config.json -> (BERTopic hyperparameters, embedding model name); known keys type-checked.

    Unknown keys (other BERTopic versions) are kept as plain, finite JSON.
    """
    config = {key: _CONFIG_FIELDS.get(key, _plain_json)(value, path, _key(key))
              for key, value in _dict(raw, path, "the top level (hyperparameters)").items()}
    embedding_model = config.pop("embedding_model", None)
    config["n_gram_range"] = tuple(config.get("n_gram_range") or (1, 1))
    return config, embedding_model


# --- reading: ctfidf.safetensors and ctfidf_config.json ----------------------------------------
_CTFIDF_TENSORS = {"data": (_NUMBERS, 1), "indices": (_INTEGERS, 1), "indptr": (_INTEGERS, 1),
                   "shape": (_INTEGERS, 1), "diag": (_NUMBERS, 1)}


def _parse_ctfidf(model: SavedTopicModel, folder: Path) -> None:
    """Attach the c-TF-IDF matrix, idf, vocabulary and settings, all checked against each other.

    Rows must match the topics, columns the vocabulary, idf one value per term, and the CSR
    arrays must be well formed: scipy's compiled code indexes with them unchecked.
    """
    path, config_path = folder / CTFIDF_FILE, folder / CTFIDF_CONFIG_FILE
    tensors = _read_tensors(path, _CTFIDF_TENSORS)
    params, ctfidf_params, vocabulary = _parse_ctfidf_config(_read_json(config_path), config_path)
    if set(model.topic_representations) != set(model.topic_sizes):
        _fail(folder / TOPICS_FILE, "'topic_representations' and 'topic_sizes' name different topics, but "
                                    f"{CTFIDF_FILE} needs one row per topic for both")
    model.ctfidf = _csr_matrix(tensors, path, len(model.topic_sizes), len(vocabulary))
    model.idf = _idf(tensors["diag"], path, len(vocabulary))
    model.vocabulary, model.vectorizer_params, model.ctfidf_params = vocabulary, params, ctfidf_params


def _as_int64(array: np.ndarray, path: Path, field: str) -> np.ndarray:
    """Index arrays of any integer dtype as int64; uint64 values past int64 would wrap negative."""
    if array.dtype.kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
        _fail(path, f"'{field}' holds {int(array.max())}, too large for an index")
    return array.astype(np.int64)


def _csr_matrix(tensors: dict[str, np.ndarray], path: Path, n_topics: int, n_terms: int) -> sp.csr_matrix:
    """The c-TF-IDF CSR matrix, built only after shape, indptr, indices and data are proven sound."""
    shape = tensors["shape"]
    if shape.shape != (2,):
        _fail(path, f"'shape' must hold 2 numbers (rows, columns); got {shape.shape[0]}")
    rows, columns = (int(n) for n in shape)
    if rows != n_topics:
        _fail(path, f"'shape' says {rows} rows but {TOPICS_FILE} has {n_topics} topics (one row each)")
    if columns != n_terms:
        _fail(path, f"'shape' says {columns} columns but the vocabulary in {CTFIDF_CONFIG_FILE} has {n_terms} terms")
    indptr = _as_int64(tensors["indptr"], path, "indptr")
    indices = _as_int64(tensors["indices"], path, "indices")
    if len(indptr) != rows + 1:
        _fail(path, f"'indptr' has {len(indptr)} entries; a matrix of {rows} rows needs {rows + 1}")
    if indptr[0] != 0:
        _fail(path, f"'indptr' starts at {indptr[0]}; it must start at 0")
    drops = np.flatnonzero(np.diff(indptr) < 0)
    if drops.size:
        row = int(drops[0])
        _fail(path, f"'indptr' decreases at row {row} ({indptr[row]} then {indptr[row + 1]}); it must never decrease")
    if not int(indptr[-1]) == len(indices) == len(tensors["data"]):
        _fail(path, f"'indptr' ends at {indptr[-1]} but 'indices' has {len(indices)} and 'data' "
                    f"{len(tensors['data'])} entries; all three must agree")
    outside = np.flatnonzero((indices < 0) | (indices >= columns))
    if outside.size:
        _fail(path, f"'indices' has column {indices[outside[0]]} outside the vocabulary of {columns} terms")
    _finite(tensors["data"], path, "'data'")
    index_dtype = np.int32 if max(len(indices), rows, columns) < np.iinfo(np.int32).max else np.int64
    try:
        matrix = sp.csr_matrix((tensors["data"].astype(np.float64), indices.astype(index_dtype),
                                indptr.astype(index_dtype)), shape=(rows, columns))
        matrix.check_format(full_check=True)
    except ValueError as exc:
        _fail(path, f"the arrays do not form a valid CSR matrix ({_one_line(exc)})")
    return matrix


def _idf(diag: np.ndarray, path: Path, n_terms: int) -> np.ndarray:
    """The idf ('diag'): one finite value per vocabulary term."""
    if len(diag) != n_terms:
        _fail(path, f"'diag' (the idf) has {len(diag)} values but the vocabulary in {CTFIDF_CONFIG_FILE} "
                    f"has {n_terms} terms")
    _finite(diag, path, "'diag'")
    return diag.astype(np.float64)


def _parse_ctfidf_config(raw: Any, path: Path) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """ctfidf_config.json -> (CountVectorizer params, c-TF-IDF settings, vocabulary in column order)."""
    doc = _dict(raw, path, "the top level")
    for key in ("ctfidf_model", "vectorizer_model"):
        if key not in doc:
            raise SavedModelError(f"{path} has no key {key!r}; it is not a BERTopic c-TF-IDF config.")
    ctfidf_params = {key: (_bool if key in CTFIDF_REQUIRED else _plain_json)(value, path,
                                                                            f"'ctfidf_model'[{_key(key)}]")
                     for key, value in _dict(doc["ctfidf_model"], path, "'ctfidf_model'").items()}
    vectorizer = _dict(doc["vectorizer_model"], path, "'vectorizer_model'")
    for key in ("params", "vocab"):
        if key not in vectorizer:
            raise SavedModelError(f"{path} has no key 'vectorizer_model'['{key}']; it is not a BERTopic "
                                  "c-TF-IDF config.")
    params = _vectorizer_params(vectorizer["params"], path)
    return params, ctfidf_params, _vocabulary(vectorizer["vocab"], path)


def _document_frequency(value: Any, path: Path, field: str) -> int | float:
    """CountVectorizer's min_df/max_df: a document count, or a proportion in [0, 1]."""
    if type(value) is int:
        return _int(value, path, field, 0, _MAX_COUNT)
    return _number(value, path, field, 0.0, 1.0)


_VECTORIZER_FIELDS: dict[str, Any] = {
    "ngram_range": _ngram_range, "lowercase": _bool, "min_df": _document_frequency, "max_df": _document_frequency,
    "max_features": _optional(lambda v, p, f: _int(v, p, f, 1, _MAX_COUNT)),
    "stop_words": _optional(lambda v, p, f: v if isinstance(v, str) else _strings(v, p, f)),
}


def _vectorizer_params(raw: Any, path: Path) -> dict[str, Any]:
    """The CountVectorizer settings; those the model uses are type-checked, others kept as plain JSON."""
    params = {key: _VECTORIZER_FIELDS.get(key, _plain_json)(value, path, f"'vectorizer_model'['params'][{_key(key)}]")
              for key, value in _dict(raw, path, "'vectorizer_model'['params']").items()}
    params["ngram_range"] = tuple(params.get("ngram_range") or (1, 1))  # JSON has no tuples
    return params


def _vocabulary(raw: Any, path: Path) -> list[str]:
    """``vocab`` (term -> column) as the term list: the columns must be 0..n-1, each once."""
    vocab = _dict(raw, path, "'vectorizer_model'['vocab']")
    terms: list[str | None] = [None] * len(vocab)
    for term, column in vocab.items():
        field = f"'vectorizer_model'['vocab'][{_key(term)}]"
        column = _int(column, path, field, 0, len(vocab) - 1)
        if terms[column] is not None:
            _fail(path, f"{field} is column {column}, which {_show(terms[column])} already has; "
                        "each column must belong to one term")
        terms[column] = term
    return terms  # type: ignore[return-value]  # n distinct columns in 0..n-1: every slot is filled


def _pairs(value: Any) -> Any:
    """JSON turns (word, weight) tuples into lists; turn them back."""
    if isinstance(value, list) and all(isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) for v in value):
        return [(v[0], v[1]) for v in value]
    return value
