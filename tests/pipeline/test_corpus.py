import json

import pandas as pd
import pytest
from conftest import NEWSGROUPS

from topic_pipeline.errors import CorpusError
from topic_pipeline.params import CorpusParams
from topic_pipeline.pipeline.corpus import hash_text, load_corpus, load_documents


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
         r"duplicate doc_id '7' with different texts in \S*d\.csv \(rows 0, 1\)"),
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


def test_20newsgroups_loader_reads_scikit_learn_cache(sklearn_data_home):
    frame = load_corpus(CorpusParams(data_home=str(sklearn_data_home), limit=3))
    reference = pd.read_parquet(NEWSGROUPS).head(3)
    assert frame["doc_id"].tolist() == reference["doc_id"].tolist()
    assert frame["text"].tolist() == reference["text"].tolist()
    assert frame["label"].tolist() == reference["label"].tolist()


def test_20newsgroups_offline_without_cache_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="point SCIKIT_LEARN_DATA or corpus.data_home"):
        load_corpus(CorpusParams(data_home=str(tmp_path / "nowhere")))


# --- bad input ends in one CorpusError naming the file and the line/row ---------------------------------------------


def test_latin1_csv_read_as_utf8_names_file_line_and_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes('doc_id,text\n1,"plain, then a\nquoted line break"\n2,café au lait\n'.encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin\.csv, line 4: not valid utf-8 text .*corpus\.encoding: latin-1"):
        load_corpus(CorpusParams(source=str(path)))
    frame = load_corpus(CorpusParams(source=str(path), encoding="latin-1"))
    assert frame["text"].tolist() == ["plain, then a\nquoted line break", "café au lait"]


def test_encoding_applies_to_json_lines_and_gzipped_csv(tmp_path):
    import gzip

    jsonl = tmp_path / "latin.jsonl"
    jsonl.write_bytes('{"text": "ok"}\n{"text": "naïve"}\n'.encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin\.jsonl, line 2: not valid utf-8 text"):
        load_corpus(CorpusParams(source=str(jsonl)))
    assert load_corpus(CorpusParams(source=str(jsonl), encoding="latin-1"))["text"].tolist() == ["ok", "naïve"]
    packed = tmp_path / "latin.csv.gz"
    packed.write_bytes(gzip.compress("text\nfirst\nsecond\ncrème\n".encode("latin-1")))
    with pytest.raises(CorpusError, match=r"latin\.csv\.gz, line 4: not valid utf-8"):
        load_corpus(CorpusParams(source=str(packed)))
    assert load_corpus(CorpusParams(source=str(packed), encoding="latin-1"))["text"].tolist()[-1] == "crème"


def test_unknown_encoding_and_byte_order_mark(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("text\nhello\n".encode("utf-8-sig"))
    assert load_corpus(CorpusParams(source=str(path)))["text"].tolist() == ["hello"]  # BOM is not in the header
    with pytest.raises(CorpusError, match=r"bom\.csv: corpus\.encoding 'klingon' is not a known text encoding"):
        load_corpus(CorpusParams(source=str(path), encoding="klingon"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "ok"}\n\n{"text": "broken",\n', r"d\.jsonl, line 3: not valid JSON \("),
        ('{"text": "ok"}\n[1, 2]\n', r"d\.jsonl, line 2: expected a JSON object .*got a JSON array"),
        ('{"text": "ok"}\n"just text"\n', r"d\.jsonl, line 2: expected a JSON object .*got a JSON string"),
        ('{"text": "ok"} {"text": "two on one line"}\n', r"d\.jsonl, line 1: not valid JSON \(Extra data"),
        ('{"text": "a", "doc_id": "1"}\n{"text": "b", "doc_id": null}\n', r"d\.jsonl, row 1, column 'doc_id': missing"),
        ('{"text": "a", "doc_id": "1"}\n{"text": "b", "doc_id": {"n": 2}}\n',
         r"d\.jsonl, row 1, column 'doc_id': .*dict"),
        ('{"text": "a", "label": "x"}\n{"text": "b", "label": ["x", "y"]}\n',
         r"d\.jsonl, row 1, column 'label': .*list"),
        ('{"text": "a"}\n{"text": null}\n', r"d\.jsonl, row 1, column 'text': expected text, got a missing value"),
    ],
)
def test_bad_json_lines_name_file_and_line_or_row(tmp_path, content, message):
    path = tmp_path / "d.jsonl"
    path.write_text(content)
    with pytest.raises(CorpusError, match=message):
        load_corpus(CorpusParams(source=str(path)))


def test_json_lines_blank_lines_are_skipped_and_text_na_survives(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('\n{"text": "NA", "doc_id": 1}\n   \n{"text": "null", "doc_id": 2}\n\n')
    frame = load_corpus(CorpusParams(source=str(path)))
    assert frame["text"].tolist() == ["NA", "null"] and frame["doc_id"].tolist() == ["1", "2"]


def test_csv_parse_error_names_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("doc_id,text\n1,fine\n2,too,many\n")
    with pytest.raises(CorpusError, match=r"ragged\.csv cannot be read: .*line 3"):
        load_corpus(CorpusParams(source=str(path)))


def test_duplicate_doc_id_across_files_names_both_files_and_rows(tmp_path):
    _write(tmp_path, "a.csv", [{"doc_id": "1", "text": "x"}, {"doc_id": "7", "text": "seven"}])
    _write(tmp_path, "b.csv", [{"doc_id": "7", "text": "another seven"}])
    with pytest.raises(CorpusError, match=r"doc_id '7' .*a\.csv \(row 1\) and \S*b\.csv \(row 0\)"):
        load_corpus(CorpusParams(source=str(tmp_path / "*.csv")))


def test_duplicate_doc_id_between_corpus_and_inbox_names_both_files(tmp_path):
    corpus = _write(tmp_path, "corpus.csv", [{"doc_id": "7", "text": "seven"}, {"doc_id": "8", "text": "eight"}])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    clash = _write(inbox, "new.csv", [{"doc_id": "9", "text": "nine"}, {"doc_id": "7", "text": "not seven"}])
    params = CorpusParams(source=str(corpus), inbox=str(inbox))
    loaded = load_documents(params)
    assert loaded.documents["doc_id"].tolist() == ["7", "8"]
    assert "doc_id '7'" in loaded.skipped_files[str(clash)]
    assert str(corpus) in loaded.skipped_files[str(clash)] and "new.csv (row 1)" in loaded.skipped_files[str(clash)]
    required = r"Inbox file \S*new\.csv: .*doc_id '7' .*corpus\.csv and \S*new\.csv \(row 1\)"
    with pytest.raises(CorpusError, match=required):
        load_documents(params, required_file=clash)


def test_empty_csv_text_cell_is_refused_like_a_missing_parquet_text(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('doc_id,text\n1,fine\n2,\n3,""\n')
    with pytest.raises(CorpusError, match=r"d\.csv, row 1, column 'text': expected text, got a missing value"):
        load_corpus(CorpusParams(source=str(path)))


def test_csv_texts_pandas_would_call_nan_are_kept(tmp_path):
    words = ["NA", "N/A", "null", "NULL", "nan", "NaN", "None", "#N/A", "n/a", "-nan", "<NA>"]
    path = tmp_path / "d.csv"
    path.write_text("text,label\n" + "".join(f"{word},{word}\n" for word in words) + "last,\n")
    frame = load_corpus(CorpusParams(source=str(path)))
    assert frame["text"].tolist() == [*words, "last"]
    assert frame["label"].tolist()[:-1] == words and frame["label"].isna().tolist()[-1]  # empty label: none
    assert frame["doc_id"].tolist() == [f"d.csv:{row}" for row in range(len(words) + 1)]


def test_csv_ids_na_is_an_id_but_an_empty_cell_is_refused(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("doc_id,text\nNA,first\nnull,second\n")
    assert load_corpus(CorpusParams(source=str(path)))["doc_id"].tolist() == ["NA", "null"]
    path.write_text("doc_id,text\nNA,first\n,second\n,third\n")
    with pytest.raises(CorpusError, match=r"ids\.csv, row 1, column 'doc_id': missing or invalid doc_id, got a miss"):
        load_corpus(CorpusParams(source=str(path)))


def test_missing_parquet_doc_id_names_file_and_row(tmp_path):
    path = _write(tmp_path, "d.parquet", [{"doc_id": "1", "text": "a"}, {"doc_id": None, "text": "b"}])
    with pytest.raises(CorpusError, match=r"d\.parquet, row 1, column 'doc_id': missing or invalid doc_id"):
        load_corpus(CorpusParams(source=str(path)))
