"""Precomputed embedding files (``embedding.precomputed``): a row-aligned ``.npy`` or a Parquet of doc_id + vector.

Both are read without unpickling anything and every vector is checked (``check_embeddings``) before it is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline.errors import EmbeddingError
from topic_pipeline.pipeline.embedding.checks import _describe_rows, _one_line, check_embeddings

_PRECOMPUTED_SUFFIXES = (".npy", ".parquet")


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
