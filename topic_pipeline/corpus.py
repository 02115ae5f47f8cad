"""Reading and validating corpora into one table: doc_id, text, timestamp, label, doc_hash.

Sources: scikit-learn's 20 Newsgroups loader (BERTopic's quick-start corpus) or
Parquet, CSV and JSON Lines files given as a path, a folder or a glob. Every
problem is reported with the file, column and row it was found in.
"""

from __future__ import annotations

import glob
import hashlib
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
        frame = pd.concat([_read_file(path, params) for path in resolve_files(params.source)], ignore_index=True)
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
            _drop_repeated_rows(pd.concat([*frames, frame], ignore_index=True))  # id clashes with earlier rows
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


def _reader_for(path: Path) -> Callable[[Path], pd.DataFrame] | None:
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith(".parquet"):
        return pd.read_parquet
    if suffixes.endswith((".csv", ".csv.gz")):
        return lambda p: pd.read_csv(p, dtype=str, keep_default_na=False)
    if suffixes.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".json")):
        return lambda p: pd.read_json(p, lines=True, dtype=False)
    return None


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
        raw = reader(path)
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
        ids = raw[chosen["id_column"]]
        missing = ids.isna()
        if missing.any():
            row = int(missing.to_numpy().nonzero()[0][0])
            raise CorpusError(f"{origin}, row {row}, column {chosen['id_column']!r}: missing doc_id.")
        frame["doc_id"] = ids.astype(str)
    else:
        frame["doc_id"] = [f"{default_id_prefix}{row}" for row in range(len(raw))]
    frame["timestamp"] = (
        _parse_timestamps(raw[chosen["timestamp_column"]], origin, chosen["timestamp_column"])
        if chosen["timestamp_column"]
        else pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    )
    label_column = chosen["label_column"]
    frame["label"] = raw[label_column].astype("string").replace("", pd.NA) if label_column else pd.NA
    frame["label"] = frame["label"].astype("string")
    return frame.reset_index(drop=True)


def _check_texts(values: pd.Series, origin: str, column: str) -> pd.Series:
    for row, value in enumerate(values):
        if not isinstance(value, str):
            shown = "a missing value" if value is None or (isinstance(value, float) and pd.isna(value)) else (
                f"{type(value).__name__} {value!r}"[:80]
            )
            raise CorpusError(f"{origin}, row {row}, column {column!r}: expected text, got {shown}.")
    return values.astype(str)


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
        rows = frame.index[frame["doc_id"] == doc_id].tolist()
        raise CorpusError(
            f"Corpus {doc_id!r}: duplicate doc_id with different texts at rows {rows[:5]}; "
            "doc_ids must identify one text (fix the id column or set corpus.id_column)."
        )
    return frame.drop_duplicates("doc_id", keep="first").reset_index(drop=True)


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
