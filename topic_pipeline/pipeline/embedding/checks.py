"""The one check every embedding matrix passes where it comes in, and the row names its errors use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from topic_pipeline.errors import EmbeddingError


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
