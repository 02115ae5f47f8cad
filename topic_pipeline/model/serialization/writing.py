"""Writing a ``SavedTopicModel`` as a BERTopic safetensors folder, atomically and only as JSON and tensors.

Every file's content is built and checked in memory first (``_layout``), so a model BERTopic could not
load is refused before anything touches the disk.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, get_args

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from topic_pipeline.errors import ParamsError, StageInputError, StoreError
from topic_pipeline.model.serialization.record import (
    BERTOPIC_CONFIG_DEFAULTS,
    CONFIG_FILE,
    CTFIDF_CONFIG_FILE,
    CTFIDF_FILE,
    CTFIDF_REQUIRED,
    EMBEDDINGS_FILE,
    TOPICS_FILE,
    SavedTopicModel,
    Serialization,
)

logger = logging.getLogger(__package__)  # one logger for the whole format, named like the public module

# CountVectorizer settings that cannot be written as JSON (BERTopic drops them too).
_VECTORIZER_DROPPED = ("tokenizer", "preprocessor", "dtype")


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
