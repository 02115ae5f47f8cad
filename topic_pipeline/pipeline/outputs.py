"""The file formats inside one stage output folder, by name (``stage_outputs`` names the files).

Tables are Parquet (queryable from DuckDB), sparse matrices ``.npz``, dense
arrays ``.npy`` (memory-mapped on read).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from topic_pipeline.pipeline.store import MANIFEST, vectors_from_column, vectors_to_column


def table_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.parquet"


def array_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.npy"


def write_table(folder: Path, name: str, table: pd.DataFrame | pa.Table) -> Path:
    path = table_path(folder, name)
    arrow = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
    pq.write_table(arrow, path)
    return path


def read_table(folder: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pq.read_table(table_path(folder, name), columns=columns).to_pandas()


def write_vectors(folder: Path, name: str, doc_ids: pd.Series, vectors: np.ndarray, **extra: pd.Series) -> Path:
    """A Parquet table of doc_id (+ extra columns) and a ``FixedSizeList<float32>`` vector column."""
    columns = {"doc_id": pa.array(doc_ids.astype(str))}
    columns |= {key: pa.array(value) for key, value in extra.items()}
    columns["vector"] = vectors_to_column(vectors)
    return write_table(folder, name, pa.table(columns))


def read_vectors(folder: Path, name: str) -> np.ndarray:
    return vectors_from_column(pq.read_table(table_path(folder, name), columns=["vector"]).column("vector"))


def write_sparse(folder: Path, name: str, matrix: sp.spmatrix) -> None:
    sp.save_npz(folder / f"{name}.npz", sp.csr_matrix(matrix), compressed=False)


def read_sparse(folder: Path, name: str) -> sp.csr_matrix:
    return sp.csr_matrix(sp.load_npz(folder / f"{name}.npz"))


def write_array(folder: Path, name: str, array: np.ndarray) -> None:
    np.save(array_path(folder, name), array, allow_pickle=False)


def read_array(folder: Path, name: str) -> np.ndarray:
    return np.load(array_path(folder, name), mmap_mode="r", allow_pickle=False)


def read_manifest(folder: Path) -> dict:
    """The manifest of a stored stage output (its params, inputs and metadata)."""
    return json.loads((folder / MANIFEST).read_text())


def markdown_table(frame: pd.DataFrame, max_rows: int = 10) -> str:
    """A small markdown preview (Dagster renders it in the asset's metadata)."""
    shown = frame.head(max_rows)
    header = "| " + " | ".join(map(str, shown.columns)) + " |"
    rule = "|" + "---|" * len(shown.columns)
    body = ["| " + " | ".join(_cell(value) for value in row) + " |"
            for row in shown.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _cell(value: object) -> str:
    text = "" if value is None or (isinstance(value, float) and value != value) or value is pd.NA else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:80]
