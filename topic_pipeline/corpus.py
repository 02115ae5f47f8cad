"""Reading and validating corpora into one table: doc_id, text, timestamp, label, doc_hash.

Sources: scikit-learn's 20 Newsgroups loader (BERTopic's quick-start corpus) or
Parquet, CSV and JSON Lines files given as a path, a folder or a glob. Every
problem is reported with the file, column and row it was found in.

CSV and JSON Lines files are decoded with ``corpus.encoding``; a byte that is
not valid there is reported with its (1-based, physical) line. In CSV only an
empty cell is a missing value: "NA", "null" or "None" are texts like any other.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from topic_pipeline.errors import CorpusError
from topic_pipeline.params import CorpusParams

TWENTY_NEWSGROUPS = "20newsgroups"
DOCUMENT_COLUMNS = ("doc_id", "text", "timestamp", "label", "doc_hash", "ingested_at", "source", "corpus_row")
LINK_COLUMNS = ("doc_id", "duplicate_of", "source", "timestamp", "ingested_at")
_DEFAULT_OPTIONAL_COLUMNS = {"id_column": "doc_id", "timestamp_column": "timestamp", "label_column": "label"}


def load_corpus(params: CorpusParams) -> pd.DataFrame:
    """Read the corpus ``params`` names and return the validated documents table.

    Returns
    -------
    DataFrame with columns doc_id (str), text (str), timestamp (UTC datetime,
    may be missing), label (str, may be missing) and doc_hash (hex content hash).

    Raises
    ------
    CorpusError
        The source is unreadable, lacks the text column, is empty, holds
        non-text values, bad timestamps or one doc_id with two different texts.
    """
    if params.source == TWENTY_NEWSGROUPS:
        frame = _load_20newsgroups(params)
    else:
        frames = [_with_file_rows(_read_file(path, params)) for path in resolve_files(params.source)]
        frame = pd.concat(frames, ignore_index=True)
    if params.limit is not None:
        frame = frame.iloc[: params.limit].reset_index(drop=True)
    if frame.empty:
        raise CorpusError(f"Corpus {params.source!r} has no documents.")
    frame["corpus_row"] = np.arange(len(frame), dtype=np.int64)  # aligns row-wise precomputed embeddings
    frame = _drop_repeated_rows(frame)
    frame["doc_hash"] = [hash_text(text) for text in frame["text"]]
    return frame.loc[:, list(DOCUMENT_COLUMNS)]


@dataclass(frozen=True)
class LoadedDocuments:
    """The corpus plus the inbox: documents to model, repeats linked to a first copy, skipped files."""

    documents: pd.DataFrame
    links: pd.DataFrame
    skipped_files: dict[str, str]
    corpus_size: int


def source_signature(params: CorpusParams) -> tuple:
    """(path, size, mtime) of every file the corpus and the inbox read: equal signatures, equal documents."""
    if params.source == TWENTY_NEWSGROUPS:
        from sklearn.datasets import get_data_home

        files = [Path(get_data_home(params.data_home)) / "20news-bydate_py3.pkz"]
    else:
        try:
            files = resolve_files(params.source)
        except CorpusError:
            files = []
    stats = []
    for path in [*files, *inbox_files(params)]:
        stat = path.stat() if path.exists() else None
        stats.append((str(path), stat.st_size if stat else -1, stat.st_mtime_ns if stat else -1))
    return tuple(stats)


def inbox_files(params: CorpusParams) -> list[Path]:
    """Supported files in the inbox folder, sorted (none if the folder is missing)."""
    folder = Path(params.inbox) if params.inbox else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and _reader_for(p) is not None)


def load_documents(params: CorpusParams, *, required_file: Path | None = None) -> LoadedDocuments:
    """``load_corpus`` plus every readable inbox file, with repeated texts linked per ``deduplicate``.

    An unreadable or invalid inbox file is skipped (and reported) so that one
    bad file never blocks the pipeline; if it is ``required_file`` (the file a
    run was started for) its error is raised instead.
    """
    frames = [load_corpus(params)]
    corpus_size = int(frames[0]["corpus_row"].max()) + 1
    skipped: dict[str, str] = {}
    for path in inbox_files(params):
        try:
            frame = _read_file(path, params)
            frame["doc_hash"] = [hash_text(text) for text in frame["text"]]
            frame["corpus_row"] = -1  # not part of the corpus source
            _drop_repeated_rows(pd.concat([*frames, _with_file_rows(frame)], ignore_index=True))  # id clashes
            frames.append(frame.loc[:, list(DOCUMENT_COLUMNS)])
        except CorpusError as exc:
            if required_file is not None and path.resolve() == Path(required_file).resolve():
                raise CorpusError(f"Inbox file {path}: {exc}") from exc
            skipped[str(path)] = str(exc)
    if required_file is not None and str(required_file) not in {str(p) for p in inbox_files(params)}:
        if not Path(required_file).exists():
            raise CorpusError(f"Inbox file {required_file} does not exist any more.")
    combined = _drop_repeated_rows(pd.concat(frames, ignore_index=True))
    documents, links = _link_repeated_texts(combined, params.deduplicate, first_inbox_row=len(frames[0]))
    return LoadedDocuments(documents, links, skipped, corpus_size)


def _link_repeated_texts(frame: pd.DataFrame, mode: str, *, first_inbox_row: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off rows whose text appeared earlier (as ``mode`` says) as links to the first copy."""
    repeated = frame["doc_hash"].duplicated(keep="first").to_numpy().copy()
    if mode == "inbox":
        repeated &= np.arange(len(frame)) >= first_inbox_row
    elif mode == "none":
        repeated[:] = False
    first_id = frame.drop_duplicates("doc_hash").set_index("doc_hash")["doc_id"]
    links = frame.loc[repeated, ["doc_id", "source", "timestamp", "ingested_at"]].reset_index(drop=True)
    links["duplicate_of"] = first_id.loc[frame.loc[repeated, "doc_hash"]].to_numpy()
    links = links.loc[:, list(LINK_COLUMNS)]
    return frame.loc[~repeated].reset_index(drop=True), links


def hash_text(text: str) -> str:
    """Content hash of a document's text: the key of the per-document embedding cache."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


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


def _with_file_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row's 0-based position in its file, so a doc_id clash across files can name file and row."""
    return frame.assign(file_row=np.arange(len(frame), dtype=np.int64))


def _drop_repeated_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep one row per doc_id; the same id with two different texts is an error."""
    repeated = frame["doc_id"].duplicated(keep=False)
    if not repeated.any():
        return frame
    groups = frame.loc[repeated].groupby("doc_id", sort=False)["text"]
    conflicting = groups.nunique()
    conflicting = conflicting[conflicting > 1]
    if not conflicting.empty:
        doc_id = conflicting.index[0]
        raise CorpusError(
            f"Corpus: duplicate doc_id {doc_id!r} with different texts in "
            f"{_places(frame.loc[frame['doc_id'] == doc_id])}; "
            "doc_ids must identify one text (fix the id column or set corpus.id_column)."
        )
    return frame.drop_duplicates("doc_id", keep="first").reset_index(drop=True)


def _places(rows: pd.DataFrame) -> str:
    """'a.csv (rows 0, 3) and b.csv (row 1)': where one doc_id occurs, by file and row where known."""
    sources = rows["source"] if "source" in rows else pd.Series("the corpus", index=rows.index)
    file_rows = rows["file_row"] if "file_row" in rows else pd.Series(np.nan, index=rows.index)
    places = []
    for source, numbers in file_rows.groupby(sources, sort=False):
        known = [str(int(n)) for n in numbers.dropna()][:5]
        label = "row" if len(known) == 1 else "rows"
        places.append(f"{source} ({label} {', '.join(known)})" if known else str(source))
    return " and ".join(places)


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
