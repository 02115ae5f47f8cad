"""Reading and validating corpora into one table: doc_id, text, timestamp, label, doc_hash.

Sources: scikit-learn's 20 Newsgroups loader (BERTopic's quick-start corpus) or
Parquet, CSV and JSON Lines files given as a path, a folder or a glob. Every
problem is reported with the file, column and row it was found in.

CSV and JSON Lines files are decoded with ``corpus.encoding``; a byte that is
not valid there is reported with its (1-based, physical) line. In CSV only an
empty cell is a missing value: "NA", "null" or "None" are texts like any other.

``readers`` finds and parses the sources, ``columns`` checks their values, and
this module joins the corpus with the inbox and links repeated texts; every
public name is importable from here.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from topic_pipeline.errors import CorpusError
from topic_pipeline.params import CorpusParams
from topic_pipeline.pipeline.corpus.readers import (
    TWENTY_NEWSGROUPS,
    _load_20newsgroups,
    _read_file,
    _reader_for,
    read_corpus_file,
    resolve_files,
)

__all__ = [
    "DOCUMENT_COLUMNS", "LINK_COLUMNS", "TWENTY_NEWSGROUPS", "LoadedDocuments", "files_signature", "hash_text",
    "inbox_files",
    "load_corpus", "load_documents", "read_corpus_file", "resolve_files", "source_signature",
]

DOCUMENT_COLUMNS = ("doc_id", "text", "timestamp", "label", "doc_hash", "ingested_at", "source", "corpus_row")
LINK_COLUMNS = ("doc_id", "duplicate_of", "source", "timestamp", "ingested_at")


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


_EDGE_BYTES = 1 << 20


def files_signature(params: CorpusParams) -> list:
    """``source_signature`` plus each file's inode and a digest of its first and last megabyte.

    Cheap at any size, and it tells a file rewritten in place with the same size
    and modification time apart in all but contrived cases (an edit in the
    middle of a file over 2 MB that also restores the mtime).
    """
    signature = []
    for path, size, mtime in source_signature(params):
        digest = hashlib.blake2b(digest_size=16)
        inode = -1
        try:
            with open(path, "rb") as handle:
                inode = os.fstat(handle.fileno()).st_ino
                digest.update(handle.read(_EDGE_BYTES))
                if size > 2 * _EDGE_BYTES:
                    handle.seek(size - _EDGE_BYTES)
                    digest.update(handle.read(_EDGE_BYTES))
        except OSError:
            pass
        signature.append([path, size, mtime, inode, digest.hexdigest()])
    return signature


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
