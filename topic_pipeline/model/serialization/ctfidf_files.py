"""Reading the c-TF-IDF: ``ctfidf.safetensors`` (the CSR matrix and idf) and ``ctfidf_config.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from topic_pipeline.errors import SavedModelError
from topic_pipeline.model.serialization.config_file import _ngram_range
from topic_pipeline.model.serialization.record import (
    CTFIDF_CONFIG_FILE,
    CTFIDF_FILE,
    CTFIDF_REQUIRED,
    TOPICS_FILE,
    SavedTopicModel,
)
from topic_pipeline.model.serialization.values import (
    _INTEGERS,
    _MAX_COUNT,
    _NUMBERS,
    _bool,
    _dict,
    _fail,
    _finite,
    _int,
    _key,
    _number,
    _one_line,
    _optional,
    _plain_json,
    _show,
    _strings,
)

_CTFIDF_TENSORS = {"data": (_NUMBERS, 1), "indices": (_INTEGERS, 1), "indptr": (_INTEGERS, 1),
                   "shape": (_INTEGERS, 1), "diag": (_NUMBERS, 1)}


def _attach_ctfidf(model: SavedTopicModel, folder: Path, tensors: dict[str, np.ndarray], raw_config: Any) -> None:
    """Attach the c-TF-IDF matrix, idf, vocabulary and settings, all checked against each other.

    ``tensors`` come from ``ctfidf.safetensors`` (already dtype- and rank-checked) and ``raw_config`` is
    the parsed ``ctfidf_config.json``. Rows must match the topics, columns the vocabulary, idf one value
    per term, and the CSR arrays must be well formed: scipy's compiled code indexes with them unchecked.
    """
    path, config_path = folder / CTFIDF_FILE, folder / CTFIDF_CONFIG_FILE
    params, ctfidf_params, vocabulary = _parse_ctfidf_config(raw_config, config_path)
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
