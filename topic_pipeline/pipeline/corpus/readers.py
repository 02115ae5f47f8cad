"""Corpus sources and their readers: Parquet, CSV and JSON Lines files (a path, a folder or a glob), and 20 Newsgroups.

CSV and JSON Lines files are decoded with ``corpus.encoding``; a byte that is
not valid there is reported with its (1-based, physical) line. In CSV only an
empty cell is a missing value: "NA", "null" or "None" are texts like any other.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from topic_pipeline.errors import CorpusError
from topic_pipeline.params import CorpusParams
from topic_pipeline.pipeline.corpus.columns import _normalize_columns

TWENTY_NEWSGROUPS = "20newsgroups"


def resolve_files(source: str) -> list[Path]:
    """Files named by a path, a folder (its supported files) or a glob, sorted."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if _reader_for(p) is not None)
    elif any(char in source for char in "*?["):
        files = sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file())
    else:
        files = [path]
    if not files:
        raise CorpusError(f"Corpus source {source!r} matches no Parquet, CSV or JSON Lines files.")
    return files


def _reader_for(path: Path) -> Callable[[Path, CorpusParams], pd.DataFrame] | None:
    """The reader for a file's type, or None: also decides which files a folder or the inbox offers."""
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith(".parquet"):
        return lambda p, _params: pd.read_parquet(p)
    if suffixes.endswith((".csv", ".csv.gz")):
        return _read_csv
    if suffixes.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".json")):
        return _read_json_lines
    return None


def _read_csv(path: Path, params: CorpusParams) -> pd.DataFrame:
    """All cells as strings; only an empty cell is missing, so a text "NA" or "null" stays a text."""
    text = _read_text(path, params.encoding)
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])


def _read_json_lines(path: Path, params: CorpusParams) -> pd.DataFrame:
    """One JSON object per line; every line is checked first so a bad one is named, not a parser offset."""
    text = _read_text(path, params.encoding)
    _check_json_lines(text, path)
    return pd.read_json(io.StringIO(text), lines=True, dtype=False)


def _check_json_lines(text: str, path: Path) -> None:
    """Refuse the first line that is not a JSON object (blank lines are skipped, as pandas does)."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(
                f"{path}, line {number}: not valid JSON ({exc.msg} at column {exc.colno}); "
                "JSON Lines files hold one JSON object per line."
            ) from None
        if not isinstance(value, dict):
            raise CorpusError(
                f"{path}, line {number}: expected a JSON object ({{...}}), got a JSON {_json_kind(value)}."
            )


def _json_kind(value: object) -> str:
    """JSON's name for a parsed value's type, as the user wrote it in the file."""
    kinds = {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def _read_text(path: Path, encoding: str) -> str:
    """A (possibly gzipped) file's text in ``encoding``; an undecodable byte is reported by line."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CorpusError(
            f"{path}: corpus.encoding {encoding!r} is not a known text encoding; use a Python codec name "
            "such as utf-8, latin-1 or cp1252."
        ) from None
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _decoding_error(path, data, encoding, exc) from None
    except LookupError as exc:  # a codec such as rot13 that does not turn bytes into text
        raise CorpusError(f"{path}: corpus.encoding {encoding!r} cannot decode files ({exc}).") from None
    return text.removeprefix("\ufeff")  # a byte order mark is not part of the first column's name


def _decoding_error(path: Path, data: bytes, encoding: str, exc: UnicodeDecodeError) -> CorpusError:
    """Name the physical line of the first bad byte: the one place a user can look at in an editor."""
    before = data[: exc.start].decode(encoding, errors="replace")
    line = len(re.findall(r"\r\n|\r|\n", before)) + 1
    byte = data[exc.start : exc.start + 1].hex()
    suggestion = "latin-1" if codecs.lookup(encoding).name != "iso8859-1" else "utf-8"
    return CorpusError(
        f"{path}, line {line}: not valid {encoding} text (byte 0x{byte}); "
        f"set corpus.encoding to the file's encoding (e.g. corpus.encoding: {suggestion})."
    )


def read_corpus_file(path: Path, params: CorpusParams) -> pd.DataFrame:
    """One file's rows, validated like the corpus (doc_id, text, timestamp, label, ingested_at, source)."""
    return _read_file(path, params)


def _read_file(path: Path, params: CorpusParams) -> pd.DataFrame:
    reader = _reader_for(path)
    if reader is None:
        raise CorpusError(f"Corpus file {path}: unsupported type; use .parquet, .csv or .jsonl.")
    if not path.exists():
        raise CorpusError(f"Corpus file {path} does not exist.")
    try:
        raw = reader(path, params)
    except CorpusError:
        raise
    except Exception as exc:  # any parser failure becomes one actionable line
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise CorpusError(f"Corpus file {path} cannot be read: {first}") from exc
    frame = _normalize_columns(raw, params, origin=str(path), default_id_prefix=f"{path.name}:")
    frame["ingested_at"] = _modified_at(path)
    frame["source"] = str(path)
    return frame


def _modified_at(path: Path) -> pd.Timestamp:
    """A file's modification time: the ingest time of its undated documents."""
    return pd.Timestamp(path.stat().st_mtime_ns, unit="ns", tz="UTC").as_unit("us")


def _load_20newsgroups(params: CorpusParams) -> pd.DataFrame:
    """BERTopic's quick-start corpus through scikit-learn's own loader (cached offline copy if present)."""
    from sklearn.datasets import fetch_20newsgroups, get_data_home

    try:
        bunch = fetch_20newsgroups(
            subset="all", remove=("headers", "footers", "quotes"), data_home=params.data_home, download_if_missing=True
        )
    except Exception as exc:
        raise CorpusError(
            f"20 Newsgroups could not be loaded ({type(exc).__name__}: {str(exc)[:120]}); without internet, "
            "point SCIKIT_LEARN_DATA or corpus.data_home at a folder holding 20news-bydate_py3.pkz."
        ) from exc
    doc_ids = [f"{Path(name).parent.name}/{Path(name).name}" for name in bunch.filenames]
    frame = pd.DataFrame(
        {
            "doc_id": doc_ids,
            "text": list(bunch.data),
            "timestamp": pd.Series(pd.NaT, index=range(len(doc_ids)), dtype="datetime64[us, UTC]"),
            "label": pd.Series([bunch.target_names[t] for t in bunch.target], dtype="string"),
        }
    )
    cache = Path(get_data_home(params.data_home)) / "20news-bydate_py3.pkz"
    frame["ingested_at"] = _modified_at(cache) if cache.exists() else pd.Timestamp.now(tz="UTC").as_unit("us")
    frame["source"] = TWENTY_NEWSGROUPS
    return frame
