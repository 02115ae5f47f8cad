import json

import pandas as pd
import pytest

from topic_pipeline.corpus import hash_text, load_corpus
from topic_pipeline.errors import CorpusError
from topic_pipeline.params import CorpusParams

from conftest import NEWSGROUPS


def _write(tmp_path, name, rows):
    path = tmp_path / name
    frame = pd.DataFrame(rows)
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    elif name.endswith(".jsonl"):
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("name", ["docs.csv", "docs.jsonl", "docs.parquet"])
def test_reads_each_format_with_configured_columns(tmp_path, name):
    rows = [{"body": "first text", "key": "a", "when": "2024-01-02T03:04:05Z", "group": "x"},
            {"body": "second text", "key": "b", "when": "2024-02-01", "group": "y"}]
    path = _write(tmp_path, name, rows)
    params = CorpusParams(source=str(path), text_column="body", id_column="key", timestamp_column="when", label_column="group")
    frame = load_corpus(params)
    assert frame["doc_id"].tolist() == ["a", "b"]
    assert frame["text"].tolist() == ["first text", "second text"]
    assert frame["label"].tolist() == ["x", "y"]
    assert frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M").tolist() == ["2024-01-02 03:04", "2024-02-01 00:00"]
    assert frame["doc_hash"].tolist() == [hash_text("first text"), hash_text("second text")]


def test_glob_reads_several_files_and_names_rows_by_file(tmp_path):
    _write(tmp_path, "a.csv", [{"text": "one"}, {"text": "two"}])
    _write(tmp_path, "b.csv", [{"text": "three"}])
    frame = load_corpus(CorpusParams(source=str(tmp_path / "*.csv")))
    assert frame["doc_id"].tolist() == ["a.csv:0", "a.csv:1", "b.csv:0"]


def test_shared_newsgroups_parquet_and_limit():
    frame = load_corpus(CorpusParams(source=str(NEWSGROUPS), limit=50))
    assert len(frame) == 50
    assert frame["doc_id"].iloc[0] == "rec.sport.hockey/54367"
    assert frame["label"].iloc[0] == "rec.sport.hockey"


def test_same_doc_id_same_text_is_kept_once(tmp_path):
    path = _write(tmp_path, "d.csv", [{"doc_id": "1", "text": "same"}, {"doc_id": "1", "text": "same"}, {"doc_id": "2", "text": "x"}])
    assert load_corpus(CorpusParams(source=str(path)))["doc_id"].tolist() == ["1", "2"]


@pytest.mark.parametrize(
    ("rows", "name", "settings", "message"),
    [
        ([{"body": "x"}], "d.csv", {}, r"d\.csv: no text column 'text' \(columns: body\); set corpus\.text_column"),
        ([{"text": "x"}], "d.csv", {"label_column": "topic"}, r"no column 'topic' for corpus\.label_column"),
        ([{"text": "ok"}, {"text": 5}], "d.jsonl", {}, r"d\.jsonl, row 1, column 'text': expected text, got int 5"),
        ([{"text": "ok"}, {"text": None}], "d.parquet", {}, r"row 1, column 'text': expected text, got a missing value"),
        ([{"doc_id": "7", "text": "a"}, {"doc_id": "7", "text": "b"}], "d.csv", {},
         r"Corpus '7': duplicate doc_id with different texts at rows \[0, 1\]"),
        ([{"text": "a", "timestamp": "2024-01-01"}, {"text": "b", "timestamp": "yesterday-ish"}], "d.csv", {},
         r"d\.csv, row 1, column 'timestamp': cannot parse timestamp 'yesterday-ish'"),
    ],
)
def test_bad_input_names_file_column_and_row(tmp_path, rows, name, settings, message):
    path = _write(tmp_path, name, rows)
    with pytest.raises(CorpusError, match=message):
        load_corpus(CorpusParams(source=str(path), **settings))


def test_empty_unreadable_and_missing_sources(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("text\n")
    with pytest.raises(CorpusError, match="has no documents"):
        load_corpus(CorpusParams(source=str(empty)))
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(CorpusError, match=r"garbage\.parquet cannot be read"):
        load_corpus(CorpusParams(source=str(garbage)))
    with pytest.raises(CorpusError, match="matches no Parquet, CSV or JSON Lines files"):
        load_corpus(CorpusParams(source=str(tmp_path / "nothing*.csv")))
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(CorpusParams(source=str(tmp_path / "absent.csv")))


def test_20newsgroups_loader_reads_scikit_learn_cache(monkeypatch):
    from conftest import SHARED_DATA

    cache = SHARED_DATA / "sklearn_data"
    if not (cache / "20news-bydate_py3.pkz").exists():
        pytest.skip("no offline copy of 20 Newsgroups")
    frame = load_corpus(CorpusParams(data_home=str(cache), limit=3))
    reference = pd.read_parquet(NEWSGROUPS).head(3)
    assert frame["doc_id"].tolist() == reference["doc_id"].tolist()
    assert frame["text"].tolist() == reference["text"].tolist()
    assert frame["label"].tolist() == reference["label"].tolist()


def test_20newsgroups_offline_without_cache_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="point SCIKIT_LEARN_DATA or corpus.data_home"):
        load_corpus(CorpusParams(data_home=str(tmp_path / "nowhere")))
