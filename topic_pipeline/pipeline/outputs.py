"""The file formats inside one stage output folder, by name (``stage_outputs`` names the files).

Tables are Parquet (queryable from DuckDB), sparse matrices ``.npz``, dense
arrays ``.npy`` (memory-mapped on read).
"""

from __future__ import annotations

import html
import json
from datetime import datetime
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


CELL_CHARS = 200  # a representative document's first lines, not its first words
_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]~|"})  # shown as typed, not markdown


def markdown_table(frame: pd.DataFrame, max_rows: int = 10, *, max_chars: int = CELL_CHARS) -> str:
    """A small markdown preview (Dagster renders it in the asset's metadata).

    Each cell is one line of at most ``max_chars`` characters, numbers rounded and timestamps to the
    second (``format_value``); a document's ``|``, newline, markdown or HTML is shown as text, so the
    table stays a table and nothing in a document becomes markup.
    """
    shown = frame.head(max_rows)
    header = "| " + " | ".join(_cell(column, max_chars) for column in shown.columns) + " |"
    rule = "|" + "---|" * len(shown.columns)
    body = ["| " + " | ".join(_cell(value, max_chars) for value in row) + " |"
            for row in shown.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def is_empty(value: object) -> bool:
    """None, a blank string, NaN, NaT or pd.NA: nothing to show."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    if isinstance(value, str | bytes | dict | list | tuple | set | np.ndarray):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def round_number(value: float) -> float | int:
    """4 significant digits, whole numbers of 10,000 and more to the unit: what a reader compares."""
    if value != value or value in (float("inf"), float("-inf")):
        return value
    if abs(value) >= 1e4:
        return round(value)
    return float(f"{value:.4g}")


def format_value(value: object) -> str:
    """One value as short plain text: rounded numbers, timestamps to the second, lists joined."""
    if isinstance(value, np.ndarray | list | tuple):
        return ", ".join(format_value(item) for item in value)
    if is_empty(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(round_number(float(value)))
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).isoformat(timespec="seconds")
    return str(value)


def _cell(value: object, max_chars: int) -> str:
    text = " ".join(format_value(value).split())  # newlines and tabs would end the table row
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return html.escape(text, quote=False).translate(_MARKDOWN_SPECIAL)
