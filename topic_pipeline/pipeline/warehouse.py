"""DuckDB views over the published stage outputs, and read-only queries.

The ``warehouse`` stage stores its view definitions (``WarehouseOutput``) with paths
relative to the store root. At the end of each run the DuckDB file is built
from the published definitions for the store's own location, in a new file
renamed over the old one: a reader holding the old file keeps a consistent
snapshot, and no writer waits on a reader. Its views hold absolute paths (so
any DuckDB client can open it read-only) and refuse to run once the file has
been moved or copied elsewhere, instead of reading another store's files.

``query`` never touches that file: it rebuilds the views in memory for the
store's actual location, then locks the connection down (no file outside the
store, no writes, no ATTACH, no extensions, no settings) and runs exactly one
SELECT.

For a store on object storage the views read the Parquet from there
(``s3://...``) through the store's own fsspec filesystem, registered on the
connection, so the SQL sees exactly what every machine sees; the DuckDB file
stays on this machine (a database file cannot live on S3).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TypeVar

import duckdb
import pandas as pd

from topic_pipeline.errors import QueryError, StoreError
from topic_pipeline.pipeline.stage_outputs import (
    AssignmentsOutput,
    DocumentsOutput,
    HierarchyOutput,
    OverTimeOutput,
    PerClassOutput,
    RepresentationsOutput,
    StageOutput,
    WarehouseOutput,
)
from topic_pipeline.pipeline.store import MANIFEST, TMP_PREFIX, StageStore

OutputT = TypeVar("OutputT", bound=StageOutput)

DATABASE_NAME = "topics.duckdb"

_STAGE_RUN_COLUMNS = (
    "{'run_id': 'VARCHAR', 'stage': 'VARCHAR', 'partition': 'VARCHAR', 'key': 'VARCHAR', 'computed': 'BOOLEAN', "
    "'seconds': 'DOUBLE', 'started_at': 'TIMESTAMPTZ'}"
)


def database_path(store: StageStore) -> Path:
    return store.root / DATABASE_NAME


STORE_ROOT = "@STORE@"  # stands for the store's root in stored view definitions


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literal(store: StageStore, path: Path | str) -> str:
    """A path inside the store (local, or relative) as a SQL literal relative to ``@STORE@``.

    DDL cannot take bound parameters, hence a literal.
    """
    relative = Path(os.path.relpath(Path(path).absolute(), store.root.absolute())).as_posix() \
        if Path(path).is_absolute() else str(path)
    return _sql_text(f"{STORE_ROOT}/{relative}")


def view_statements(store: StageStore, inputs: dict[str, list[Path]]) -> list[str]:
    """``CREATE VIEW`` statements for every table users query, over the given stage outputs.

    A view reads the Parquet file its output class names, in every partition of its input.
    """
    def parquet(files: list[Path]) -> str:
        return f"read_parquet([{', '.join(_literal(store, path) for path in files)}], union_by_name=true)"

    def outputs(kind: type[OutputT]) -> list[OutputT]:
        return kind.of(inputs[kind.stage])

    documents, representations = outputs(DocumentsOutput), outputs(RepresentationsOutput)
    runs = _literal(store, f"{store.runs_dir.name}/*.json")
    # published outputs only: not .tmp-/.trash- folders (being written or deleted) nor _runs, _logs, ...
    manifests = _literal(store, f"[!._]*/[!._]*/{MANIFEST}")
    return [
        "CREATE OR REPLACE VIEW documents AS SELECT doc_id, text, timestamp, label "
        f"FROM {parquet([d.documents_file for d in documents])}",
        "CREATE OR REPLACE VIEW document_links AS SELECT doc_id, duplicate_of, source "
        f"FROM {parquet([d.links_file for d in documents])}",
        "CREATE OR REPLACE VIEW document_topics AS SELECT doc_id, topic_id, probability "
        f"FROM {parquet([a.table_file for a in outputs(AssignmentsOutput)])}",
        "CREATE OR REPLACE VIEW topics AS SELECT topic_id, size, name, representation, representative_docs "
        f"FROM {parquet([r.topics_file for r in representations])}",
        "CREATE OR REPLACE VIEW topic_terms AS SELECT topic_id, aspect, rank, term, weight "
        f"FROM {parquet([r.terms_file for r in representations])}",
        "CREATE OR REPLACE VIEW topic_quality AS SELECT metric, topic_id, value, "
        f"{_sql_text(representations[0].folder.name)} AS stage_key FROM {parquet([r.quality_file for r in representations])}",
        "CREATE OR REPLACE VIEW topic_hierarchy AS SELECT parent_id, parent_name, left_child_id, right_child_id, "
        f"distance, topic_ids FROM {parquet([h.table_file for h in outputs(HierarchyOutput)])}",
        "CREATE OR REPLACE VIEW topics_over_time AS SELECT topic_id, timestamp, frequency, words "
        f"FROM {parquet([o.table_file for o in outputs(OverTimeOutput)])}",
        'CREATE OR REPLACE VIEW topics_per_class AS SELECT topic_id, "class", frequency, words '
        f"FROM {parquet([p.table_file for p in outputs(PerClassOutput)])}",
        "CREATE OR REPLACE VIEW stage_runs AS SELECT run_id, stage, partition, key, computed, seconds, started_at "
        f"FROM read_json({runs}, columns={_STAGE_RUN_COLUMNS}, format='auto')",
        "CREATE OR REPLACE VIEW stage_versions AS SELECT stage, key, CAST(params AS JSON) AS params, "
        f"CAST(created_at AS TIMESTAMPTZ) AS created_at, rows FROM read_json({manifests}, union_by_name=true)",
    ]


def render(statements: list[str], root: Path | str) -> list[str]:
    """Stored view definitions with ``@STORE@`` replaced by ``root`` (absolute, or an object storage URL)."""
    prefix = _sql_text(STORE_ROOT + "/")[:-1]
    location = str(root) if "://" in str(root) else str(Path(root).absolute())
    target = _sql_text(location.rstrip("/") + "/")[:-1]
    return [statement.replace(prefix, target) for statement in statements]


def _connect(store: StageStore, database: str, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that reads a remote store through the store's own fsspec filesystem."""
    connection = duckdb.connect(database, config=config or {})
    if store.remote:
        connection.register_filesystem(store.shared.fs)
    return connection


def read_views(warehouse_dir: Path) -> list[str]:
    """The view definitions a ``warehouse`` output stored."""
    return WarehouseOutput(warehouse_dir).views()


def _guarded(statement: str, database: Path) -> str:
    """A view that refuses to run unless this file is opened where it was built.

    DuckDB reports the path each attached database was opened at; a copy or a
    moved file has another one, and its views would otherwise read the
    original store's Parquet files.
    """
    head, sep, select = statement.partition(" AS ")
    expected = sorted({str(database.absolute()), str(database.resolve())})
    paths = ", ".join(_sql_text(p) for p in expected)
    message = _sql_text(
        f"This warehouse file was built for {database.absolute()} and has been moved or copied: query it with "
        "`topic-pipeline sql` (TOPIC_PIPELINE_DATA=<its folder>) or rebuild it with "
        "`topic-pipeline run --select warehouse`.")
    return (f"{head}{sep}SELECT * FROM ({select}) WHERE "
            f"EXISTS (SELECT 1 FROM duckdb_databases() WHERE path IN ({paths})) OR error({message})")


def prepare_database(store: StageStore, warehouse_dir: Path) -> Path:
    """Build the DuckDB file for a ``warehouse`` output under a temporary name; ``commit_database`` installs it."""
    target = database_path(store)
    statements = render(read_views(warehouse_dir), store.shared_location)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{DATABASE_NAME}")
    try:
        with _connect(store, str(tmp)) as connection:
            for statement in statements:
                connection.execute(_guarded(statement, target))
    except BaseException:
        discard_database(tmp)
        raise
    Path(f"{tmp}.wal").unlink(missing_ok=True)
    return tmp


def commit_database(store: StageStore, tmp: Path) -> Path:
    """Rename a prepared DuckDB file over the warehouse's (readers holding the old one keep their snapshot)."""
    target = database_path(store)
    os.replace(tmp, target)
    return target


def discard_database(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)
    Path(f"{tmp}.wal").unlink(missing_ok=True)


_READ_STATEMENTS = {duckdb.StatementType.SELECT}


def readonly_connection(store: StageStore, statements: list[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the views, that can read the store's files and nothing else.

    After the views are created: external access off except the store's
    folder, extensions neither installed nor loaded automatically, and the
    configuration locked, so no statement can widen it again.
    """
    root = store.shared_location
    connection = _connect(store, ":memory:", {"autoinstall_known_extensions": False,
                                              "autoload_known_extensions": False})
    try:
        for statement in render(statements, root):
            connection.execute(statement)
        connection.execute("SET temp_directory = ''")  # a big sort must not spill files anywhere
        connection.execute("SET allowed_directories = [?]", [root + "/"])
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
    except BaseException:
        connection.close()
        raise
    return connection


def check_read_only(connection: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    """The one SELECT in ``sql``; anything else is refused before it runs.

    Raises
    ------
    QueryError
        Not exactly one statement, or a statement that is not a read
        (COPY, EXPORT, ATTACH, INSTALL/LOAD, SET/PRAGMA/CALL, CREATE, DROP, INSERT, ...).
    """
    try:
        statements = connection.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"Query failed: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise QueryError(f"Give exactly one SELECT statement (got {len(statements)}); the warehouse is read-only.")
    kind = statements[0].type
    if kind not in _READ_STATEMENTS:
        name = str(kind).rsplit(".", 1)[-1]
        raise QueryError(f"Only SELECT queries are allowed (got {name}); the warehouse is read-only.")
    return statements[0]


def query(store: StageStore, sql: str) -> pd.DataFrame:
    """Run one read-only SELECT over the published views and return the result.

    Raises
    ------
    QueryError
        No warehouse yet, a statement that is not one SELECT, or DuckDB
        rejected the query (its first line is kept).
    """
    try:
        warehouse_dir = store.current_dir("warehouse")
    except StoreError:
        raise QueryError(f"No warehouse under {store.location}; run `topic-pipeline run` first.") from None
    try:
        with readonly_connection(store, read_views(warehouse_dir)) as connection:
            statement = check_read_only(connection, sql)
            return connection.execute(statement).fetchdf()
    except duckdb.Error as exc:
        raise QueryError(f"Query failed: {str(exc).splitlines()[0]}") from exc
