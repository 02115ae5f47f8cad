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

This module reads the files (so its size and depth limits can be tuned here) and
checks the folder as a whole; ``record`` holds the record and file names,
``writing`` the writer, ``values`` the JSON value checks, and ``topics_file``,
``config_file`` and ``ctfidf_files`` the per-file checks. Every public name is
importable from here.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from topic_pipeline.errors import SavedModelError, StageInputError, StoreError
from topic_pipeline.model.serialization.config_file import _parse_config
from topic_pipeline.model.serialization.ctfidf_files import _CTFIDF_TENSORS, _attach_ctfidf
from topic_pipeline.model.serialization.record import (
    BERTOPIC_CONFIG_DEFAULTS,
    CONFIG_FILE,
    CTFIDF_CONFIG_FILE,
    CTFIDF_FILE,
    CTFIDF_REQUIRED,
    EMBEDDINGS_FILE,
    PICKLE_SUFFIXES,
    TOPICS_FILE,
    SavedTopicModel,
    Serialization,
)
from topic_pipeline.model.serialization.topics_file import _checked_topic_embeddings, _parse_topics
from topic_pipeline.model.serialization.values import _NUMBERS, _fail, _one_line, _show
from topic_pipeline.model.serialization.writing import save_model

__all__ = [
    "BERTOPIC_CONFIG_DEFAULTS", "CONFIG_FILE", "CTFIDF_CONFIG_FILE", "CTFIDF_FILE", "CTFIDF_REQUIRED",
    "EMBEDDINGS_FILE", "MAX_FILE_BYTES", "MAX_FOLDER_DEPTH", "MAX_FOLDER_ENTRIES", "MAX_JSON_DEPTH",
    "PICKLE_SUFFIXES", "TOPICS_FILE", "SavedTopicModel", "Serialization", "load_model", "save_model",
]

# The limits are constants of this module so a deployment can tune them (the readers below look
# them up here at each call).
MAX_FILE_BYTES: dict[str, int] = {
    TOPICS_FILE: 1 << 30, CONFIG_FILE: 16 << 20, CTFIDF_CONFIG_FILE: 256 << 20,
    EMBEDDINGS_FILE: 4 << 30, CTFIDF_FILE: 16 << 30,
}
MAX_JSON_DEPTH = 64  # BERTopic's files nest 5 levels (topic_aspects -> name -> topic -> words -> pair)
MAX_FOLDER_ENTRIES = 10_000  # a saved model holds 3-5 files, plus images/ for a visual aspect
MAX_FOLDER_DEPTH = 8
_JSON_SCAN_CHUNK = 1 << 22


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


# --- reading files -----------------------------------------------------------------------------
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


def _read_topic_embeddings(path: Path, model: SavedTopicModel) -> np.ndarray:
    """topic_embeddings.safetensors: one finite row per topic with words, as float32."""
    array = _read_tensors(path, {"topic_embeddings": (_NUMBERS, 2)})["topic_embeddings"]
    return _checked_topic_embeddings(array, path, model)


def _parse_ctfidf(model: SavedTopicModel, folder: Path) -> None:
    """Read ctfidf.safetensors, then ctfidf_config.json, and attach both to ``model`` once checked."""
    tensors = _read_tensors(folder / CTFIDF_FILE, _CTFIDF_TENSORS)
    _attach_ctfidf(model, folder, tensors, _read_json(folder / CTFIDF_CONFIG_FILE))
