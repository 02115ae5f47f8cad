"""Mapping a file's columns onto ours and checking every value, naming the file, row and column of a bad one."""

from __future__ import annotations

import pandas as pd

from topic_pipeline.errors import CorpusError
from topic_pipeline.params import CorpusParams

_DEFAULT_OPTIONAL_COLUMNS = {"id_column": "doc_id", "timestamp_column": "timestamp", "label_column": "label"}


def _normalize_columns(raw: pd.DataFrame, params: CorpusParams, *, origin: str, default_id_prefix: str) -> pd.DataFrame:
    """Map user column names onto ours and check every value's type."""
    columns = list(map(str, raw.columns))
    if params.text_column not in columns:
        raise CorpusError(
            f"{origin}: no text column {params.text_column!r} (columns: {', '.join(columns) or 'none'}); "
            "set corpus.text_column in params.yaml."
        )
    chosen = {}
    for setting, default in _DEFAULT_OPTIONAL_COLUMNS.items():
        name = getattr(params, setting)
        if name is not None and name not in columns:
            raise CorpusError(f"{origin}: no column {name!r} for corpus.{setting} (columns: {', '.join(columns)}).")
        chosen[setting] = name if name is not None else (default if default in columns else None)

    frame = pd.DataFrame(index=raw.index)
    frame["text"] = _check_texts(raw[params.text_column], origin, params.text_column)
    if chosen["id_column"]:
        frame["doc_id"] = _check_ids(raw[chosen["id_column"]], origin, chosen["id_column"])
    else:
        frame["doc_id"] = [f"{default_id_prefix}{row}" for row in range(len(raw))]
    frame["timestamp"] = (
        _parse_timestamps(raw[chosen["timestamp_column"]], origin, chosen["timestamp_column"])
        if chosen["timestamp_column"]
        else pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    )
    label_column = chosen["label_column"]
    frame["label"] = _check_labels(raw[label_column], origin, label_column) if label_column else pd.NA
    frame["label"] = frame["label"].astype("string")
    return frame.reset_index(drop=True)


def _check_texts(values: pd.Series, origin: str, column: str) -> pd.Series:
    """Every text must be a string: a number or a missing value (an empty CSV cell) is never a document."""
    for row, value in enumerate(values):
        if not isinstance(value, str):
            raise CorpusError(f"{origin}, row {row}, column {column!r}: expected text, got {_describe(value)}.")
    return values.astype(str)


def _check_ids(values: pd.Series, origin: str, column: str) -> pd.Series:
    """doc_ids as strings; a missing or nested id would silently become 'nan' or "{'a': 1}"."""
    for row, value in enumerate(values):
        if _is_missing(value) or not pd.api.types.is_scalar(value):
            raise CorpusError(
                f"{origin}, row {row}, column {column!r}: missing or invalid doc_id, got {_describe(value)}."
            )
    return values.astype(str)


def _check_labels(values: pd.Series, origin: str, column: str) -> pd.Series:
    """Labels as strings, empty ones missing; a list or object label cannot name one class."""
    for row, value in enumerate(values):
        if not pd.api.types.is_scalar(value):
            raise CorpusError(f"{origin}, row {row}, column {column!r}: expected a label, got {_describe(value)}.")
    return values.astype("string").replace("", pd.NA)


def _is_missing(value: object) -> bool:
    """True for None and NaN/NA/NaT scalars, which is what readers put in empty cells."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _describe(value: object) -> str:
    """A short, user-facing name for a wrong value (type and value, or 'a missing value')."""
    if _is_missing(value):
        return "a missing value (empty cell or null)"
    return f"{type(value).__name__} {value!r}"[:80]


def _parse_timestamps(values: pd.Series, origin: str, column: str) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        parsed = pd.to_datetime(values, utc=True)
    else:
        blank = values.isna() | (values.astype(str).str.strip() == "")
        parsed = pd.to_datetime(values.where(~blank), utc=True, errors="coerce", format="mixed")
        bad = parsed.isna() & ~blank
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise CorpusError(
                f"{origin}, row {row}, column {column!r}: cannot parse timestamp {values.iloc[row]!r}; "
                "use ISO 8601 (e.g. 2024-03-01T12:00:00Z)."
            )
    return parsed.astype("datetime64[us, UTC]")
