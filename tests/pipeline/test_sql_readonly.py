"""`topic-pipeline sql` is read-only for real: every way to write, attach, load or reconfigure is refused.

Each attack names a target file; the test checks that no such file appears and
that no file of the store or of the Python installation changed.
"""

from __future__ import annotations

import hashlib
import sysconfig
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import newsgroups_slice_params

from assets.cli import main
from topic_pipeline.errors import QueryError
from topic_pipeline.pipeline.stage_outputs import RepresentationsOutput
from topic_pipeline.pipeline.store import StageStore
from topic_pipeline.pipeline.warehouse import database_path, query

VIEWS = ("documents", "document_topics", "topics", "topic_terms", "topic_quality", "topic_hierarchy", "topics_over_time",
         "topics_per_class", "document_links", "stage_runs", "stage_versions")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> StageStore:
    """One small run (PCA: no numba compile) shared by the module."""
    folder = tmp_path_factory.mktemp("sql")
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump(newsgroups_slice_params(200, reduction={"method": "pca"})))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOPIC_PIPELINE_PARAMS", str(params))
        patch.setenv("TOPIC_PIPELINE_DATA", str(folder / "warehouse"))
        patch.delenv("DAGSTER_HOME", raising=False)
        assert main(["run"]) == 0
    return StageStore(folder / "warehouse")


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _attacks(store: StageStore, outside: Path) -> list[tuple[str, str]]:
    """(why, sql) pairs; {out} paths lie outside the store, {parquet} is a stored output."""
    parquet = RepresentationsOutput(store.current_dir("topic_representations")).topics_file
    pth = _site_packages() / "zz_topic_pipeline_attack.pth"
    existing = outside / "existing.duckdb"
    return [
        ("COPY to a file outside the store", f"COPY (SELECT 1) TO '{outside / 'copied.csv'}'"),
        ("COPY a .pth into site-packages (runs code at the next Python start)",
         f"COPY (SELECT 'import os; os.system(''touch {outside / 'ran'}'')') TO '{pth}' (HEADER false, QUOTE '')"),
        ("COPY over a stored Parquet file (would rename every topic)",
         f"COPY (SELECT topic_id, size, 'pwned' AS name FROM topics) TO '{parquet}' (FORMAT parquet)"),
        ("EXPORT DATABASE", f"EXPORT DATABASE '{outside / 'exported'}'"),
        ("ATTACH a new file", f"ATTACH '{outside / 'new.duckdb'}' AS other"),
        ("ATTACH an existing file read-write", f"ATTACH '{existing}' AS other"),
        ("ATTACH an existing file read-only", f"ATTACH '{existing}' AS other (READ_ONLY)"),
        ("ATTACH in memory", "ATTACH ':memory:' AS other"),
        ("INSTALL an extension", "INSTALL httpfs"),
        ("LOAD an extension", "LOAD httpfs"),
        ("SET widens file access", "SET enable_external_access = true"),
        ("SET allowed directories", "SET allowed_directories = ['/']"),
        ("RESET the lock", "RESET lock_configuration"),
        ("PRAGMA", "PRAGMA enable_profiling"),
        ("CALL", "CALL pragma_version()"),
        ("two statements", "SELECT 1; SELECT 2"),
        ("a SELECT smuggling a COPY", f"SELECT 1; COPY (SELECT 1) TO '{outside / 'second.csv'}'"),
        ("CREATE", "CREATE TABLE t AS SELECT 1"),
        ("CREATE TEMP", "CREATE TEMP TABLE t AS SELECT 1"),
        ("DROP a view", "DROP VIEW topics"),
        ("INSERT", "INSERT INTO topics VALUES (1)"),
        ("reading a file outside the store", "SELECT * FROM read_csv('/etc/passwd')"),
        ("globbing outside the store", "SELECT * FROM glob('/etc/*')"),
        ("escaping the store with ..", f"SELECT * FROM read_text('{store.root}/../params.yaml')"),
    ]


def test_every_write_attach_load_or_setting_is_refused(store, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    with duckdb.connect(str(outside / "existing.duckdb")) as connection:
        connection.execute("CREATE TABLE kept AS SELECT 42 AS answer")
    before_store, before_outside = _digests(store.root), _digests(outside)
    site_before = sorted(p.name for p in _site_packages().iterdir())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOPIC_PIPELINE_DATA", str(store.root))
        for why, sql in _attacks(store, outside):
            capsys.readouterr()
            assert main(["sql", sql]) == 1, why
            err = capsys.readouterr().err
            assert err.startswith("error: ") and err.count("\n") == 1, (why, err)
    assert _digests(store.root) == before_store
    assert _digests(outside) == before_outside
    assert sorted(p.name for p in _site_packages().iterdir()) == site_before


@pytest.mark.parametrize("sql, message", [
    ("COPY (SELECT 1) TO 'x.csv'", "Only SELECT queries are allowed (got COPY)"),
    ("SELECT 1; SELECT 2", "exactly one SELECT statement (got 2)"),
    ("ATTACH ':memory:' AS m", "(got ATTACH)"),
    ("SET threads = 1", "(got SET)"),
])
def test_refusals_say_why(store, sql, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        query(store, sql)


def test_every_view_reads_from_the_cli_and_from_duckdb_itself(store, capsys, monkeypatch):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOPIC_PIPELINE_DATA", str(store.root))
        for view in VIEWS:
            capsys.readouterr()
            assert main(["sql", f"SELECT count(*) AS n FROM {view}", "--format", "csv"]) == 0, view
            assert int(capsys.readouterr().out.split()[1]) >= 0
    assert query(store, "SELECT count(*) AS n FROM documents")["n"].item() == 200
    assert query(store, "SHOW TABLES")["name"].tolist() == sorted(VIEWS)
    assert query(store, "WITH t AS (SELECT * FROM topics) SELECT count(*) AS n FROM t")["n"].item() > 1
    # a user's own client, from another working directory
    monkeypatch.chdir(store.root.parent.parent)
    with duckdb.connect(str(database_path(store)), read_only=True) as connection:
        for view in VIEWS:
            connection.execute(f"SELECT count(*) FROM {view}").fetchone()
        assert connection.execute("SELECT count(*) FROM documents").fetchone() == (200,)


def test_the_python_helper_is_as_strict_as_the_command(store):
    with pytest.raises(QueryError):
        query(store, f"COPY (SELECT 1) TO '{store.root / 'x.csv'}'")
    assert not (store.root / "x.csv").exists()


def test_stage_versions_lists_published_outputs_only(store):
    """Folders being written (.tmp-) or deleted (.trash-) are not outputs; reading them could fail mid-rename."""
    before = query(store, "SELECT count(*) AS n FROM stage_versions")["n"].item()
    extra = [store.root / "clusters" / ".tmp-abc~run~1234", store.root / "clusters" / ".trash-1234-abc"]
    try:
        for folder in extra:
            folder.mkdir()
            (folder / "manifest.json").write_text('{"stage": "clusters", "key": "abc"}')
        assert query(store, "SELECT count(*) AS n FROM stage_versions")["n"].item() == before > 0
    finally:
        for folder in extra:
            (folder / "manifest.json").unlink()
            folder.rmdir()
