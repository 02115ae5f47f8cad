"""DuckDB views over the current stage outputs, and read-only queries.

Only runs write the DuckDB file, and only by building a new file beside it and
renaming it over the old one: a reader that holds the old file open keeps a
consistent snapshot, and no writer ever waits on a reader's lock. The views
read the Parquet files in place, so the file itself stays tiny.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from topic_pipeline.errors import TopicPipelineError
from topic_pipeline.store import MANIFEST, StageStore

DATABASE_NAME = "topics.duckdb"

_STAGE_RUN_COLUMNS = (
    "{'run_id': 'VARCHAR', 'stage': 'VARCHAR', 'partition': 'VARCHAR', 'key': 'VARCHAR', 'computed': 'BOOLEAN', "
    "'seconds': 'DOUBLE', 'started_at': 'TIMESTAMPTZ'}"
)


class QueryError(TopicPipelineError, ValueError):
    """A SQL query failed or the warehouse does not exist yet."""


def database_path(store: StageStore) -> Path:
    return store.root / DATABASE_NAME


def _literal(path: Path | str) -> str:
    """A file path as a SQL string literal (DDL cannot take bound parameters)."""
    return "'" + str(Path(path).resolve()).replace("'", "''") + "'"


def _files(folders: list[Path], name: str) -> str:
    """``read_parquet`` argument for one file per folder (every partition of an input)."""
    return "[" + ", ".join(_literal(folder / f"{name}.parquet") for folder in folders) + "]"


def view_statements(store: StageStore, inputs: dict[str, list[Path]]) -> list[str]:
    """``CREATE VIEW`` statements for every table users query, over the given stage outputs."""
    def parquet(stage: str, name: str | None = None) -> str:
        return f"read_parquet({_files(inputs[stage], name or stage)}, union_by_name=true)"

    runs = _literal(store.runs_dir / "*.json")
    manifests = _literal(store.root / "*" / "*" / MANIFEST)
    return [
        f"CREATE OR REPLACE VIEW documents AS SELECT doc_id, text, timestamp, label FROM {parquet('documents')}",
        "CREATE OR REPLACE VIEW document_links AS SELECT doc_id, duplicate_of, source "
        f"FROM {parquet('documents', 'links')}",
        "CREATE OR REPLACE VIEW document_topics AS SELECT doc_id, topic_id, probability "
        f"FROM {parquet('topic_assignments')}",
        "CREATE OR REPLACE VIEW topics AS SELECT topic_id, size, name, representation, representative_docs "
        f"FROM {parquet('topic_representations', 'topics')}",
        "CREATE OR REPLACE VIEW topic_terms AS SELECT topic_id, aspect, rank, term, weight "
        f"FROM {parquet('topic_representations', 'topic_terms')}",
        "CREATE OR REPLACE VIEW topic_hierarchy AS SELECT parent_id, parent_name, left_child_id, right_child_id, "
        f"distance, topic_ids FROM {parquet('topic_hierarchy')}",
        "CREATE OR REPLACE VIEW topics_over_time AS SELECT topic_id, timestamp, frequency, words "
        f"FROM {parquet('topics_over_time')}",
        f'CREATE OR REPLACE VIEW topics_per_class AS SELECT topic_id, "class", frequency, words '
        f"FROM {parquet('topics_per_class')}",
        "CREATE OR REPLACE VIEW stage_runs AS SELECT run_id, stage, partition, key, computed, seconds, started_at "
        f"FROM read_json({runs}, columns={_STAGE_RUN_COLUMNS}, format='auto')",
        "CREATE OR REPLACE VIEW stage_versions AS SELECT stage, key, CAST(params AS JSON) AS params, "
        f"CAST(created_at AS TIMESTAMPTZ) AS created_at, rows FROM read_json({manifests}, union_by_name=true)",
    ]


def build_database(store: StageStore, statements: list[str]) -> Path:
    """Write a fresh DuckDB file with ``statements`` and rename it over the old one."""
    target = database_path(store)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{uuid.uuid4().hex}-{DATABASE_NAME}")
    try:
        with duckdb.connect(str(tmp)) as connection:
            for statement in statements:
                connection.execute(statement)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return target


def query(store: StageStore, sql: str) -> pd.DataFrame:
    """Run one query against the warehouse, read-only, and close it at once.

    Raises
    ------
    QueryError
        No warehouse yet, or DuckDB rejected the query (its message is kept).
    """
    path = database_path(store)
    if not path.exists():
        raise QueryError(f"No warehouse at {path}; run `topic-pipeline run` first.")
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            return connection.execute(sql).fetchdf()
    except duckdb.Error as exc:
        raise QueryError(f"Query failed: {str(exc).splitlines()[0]}") from exc
