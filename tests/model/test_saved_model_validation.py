"""``TopicModel.load`` treats a saved folder as hostile input: each tampered file gives one clean error.

One small model (1,000 20 Newsgroups posts, precomputed embeddings, 40 topics and -1) is fitted and saved
once per module; every case copies that folder, damages one file in one way, and expects a
``SavedModelError`` (a ``StoreError``) whose single-line message names the file and the field.
The untampered copy must still load with the same topics.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import NEWSGROUPS, NEWSGROUPS_EMBEDDINGS
from safetensors.numpy import load_file, save_file

from topic_pipeline import TopicModel
from topic_pipeline.errors import SavedModelError, StoreError, TopicPipelineError
from topic_pipeline.model import serialization

TOPICS, CONFIG = "topics.json", "config.json"
EMBEDDINGS, CTFIDF, CTFIDF_CONFIG = "topic_embeddings.safetensors", "ctfidf.safetensors", "ctfidf_config.json"
N_DOCS = 1000


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[TopicModel, Path, list[str]]:
    """A TopicModel fitted on precomputed embeddings and saved with its c-TF-IDF (the files load reads)."""
    texts = pd.read_parquet(NEWSGROUPS, columns=["text"])["text"].iloc[:N_DOCS].tolist()
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:N_DOCS].copy()
    model = TopicModel(min_topic_size=5, cache_dir=tmp_path_factory.mktemp("cache"))
    model.fit(texts, embeddings)
    path = tmp_path_factory.mktemp("saved") / "model"
    model.save(path, save_ctfidf=True, save_embedding_model=False)
    assert -1 in model.topic_sizes_ and len(model.topic_sizes_) > 10  # outliers and enough rows to tamper with
    return model, path, texts


@pytest.fixture
def folder(fitted, tmp_path) -> Path:
    """A fresh copy of the saved model for one case to damage."""
    return Path(shutil.copytree(fitted[1], tmp_path / "copy"))


# --- tampering helpers ------------------------------------------------------------------------------
def edit_json(name: str, change: Callable[[Any], Any]) -> Callable[[Path], None]:
    """Rewrite one JSON file after ``change`` edits the parsed document in place (its result is ignored)."""
    return replace_json(name, lambda doc: (change(doc), doc)[1])


def replace_json(name: str, change: Callable[[Any], Any]) -> Callable[[Path], None]:
    """Rewrite one JSON file as ``change(document)``; json.dumps writes NaN and Infinity as Python reads them."""
    def tamper(folder: Path) -> None:
        (folder / name).write_text(json.dumps(change(json.loads((folder / name).read_text()))))
    return tamper


def set_json(name: str, keys: list[Any], value: Any) -> Callable[[Path], None]:
    """Set one nested value of a JSON file; a callable ``value`` gets the old value."""
    def change(doc: Any) -> None:
        for key in keys[:-1]:
            doc = doc[key]
        doc[keys[-1]] = value(doc[keys[-1]]) if callable(value) else value
    return edit_json(name, change)


def raw_json(name: str, key: str, text: str) -> Callable[[Path], None]:
    """Replace one top-level value of a JSON file by raw text (for what json.dumps cannot write)."""
    def tamper(folder: Path) -> None:
        doc = json.loads((folder / name).read_text())
        doc[key] = "@@HERE@@"
        (folder / name).write_text(json.dumps(doc).replace('"@@HERE@@"', text))
    return tamper


def edit_tensors(name: str, change: Callable[[dict[str, np.ndarray]], None]) -> Callable[[Path], None]:
    """Rewrite a safetensors file after ``change`` edits its tensors (a dict of writable arrays)."""
    def tamper(folder: Path) -> None:
        tensors = {key: np.array(value) for key, value in load_file(folder / name).items()}
        change(tensors)
        save_file({key: np.ascontiguousarray(value) for key, value in tensors.items()}, folder / name)
    return tamper


def set_tensor(name: str, key: str, change: Callable[[np.ndarray], np.ndarray | None]) -> Callable[[Path], None]:
    """Replace (or edit in place) one tensor of a safetensors file."""
    def edit(tensors: dict[str, np.ndarray]) -> None:
        result = change(tensors[key])
        if result is not None:
            tensors[key] = result
    return edit_tensors(name, edit)


def assign(array: np.ndarray, index: Any, value: Any) -> None:
    array[index] = value


def swap_indptr(indptr: np.ndarray) -> None:
    indptr[5], indptr[6] = indptr[6], indptr[5]


def set_vocab(changes: Callable[[list[str]], dict[str, Any]]) -> Callable[[Path], None]:
    """Change some term -> column entries of ctfidf_config.json's vocabulary (terms listed in column order)."""
    def change(doc: dict) -> None:
        vocab = doc["vectorizer_model"]["vocab"]
        vocab.update(changes(list(vocab)))
    return edit_json(CTFIDF_CONFIG, change)


def rewrite_bytes(name: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        (folder / name).write_bytes(change((folder / name).read_bytes()))
    return tamper


def edit_header(name: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    """Edit a safetensors file's JSON header in place, leaving the data bytes as they were."""
    def tamper(folder: Path) -> None:
        data = (folder / name).read_bytes()
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + size])
        change(header)
        encoded = json.dumps(header).encode()
        (folder / name).write_bytes(len(encoded).to_bytes(8, "little") + encoded + data[8 + size:])
    return tamper


def remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


def link_to_device(name: str) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        (folder / name).unlink()
        os.symlink("/dev/zero", folder / name)
    return tamper


def replace_by_folder(name: str) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()
    return tamper


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@dataclass(frozen=True)
class Case:
    file: str  # the file the message must name
    tamper: Callable[[Path], None]
    match: str  # what the message must say after the file name
    why: str


CASES: dict[str, Case] = {
    # ctfidf.safetensors: compiled sparse code trusts these arrays, so they are checked before any use.
    "ctfidf-column-out-of-range": Case(CTFIDF, set_tensor(CTFIDF, "indices", lambda a: assign(a, slice(None, None, 7),
                                                                                              10_000_000)),
        r": 'indices' has column 10000000 outside the vocabulary of \d+ terms",
        "the known bug: this file used to load and then segfault approximate_distribution and hierarchical_topics"),
    "ctfidf-negative-column": Case(CTFIDF, set_tensor(CTFIDF, "indices", lambda a: assign(a, 3, -1)),
        r": 'indices' has column -1 outside the vocabulary", "a negative index reads before the row's memory"),
    "ctfidf-huge-unsigned-column": Case(CTFIDF, set_tensor(CTFIDF, "indices",
                                                           lambda a: a.astype(np.uint64) + np.uint64(2**63)),
        r": 'indices' holds \d+, too large for an index", "uint64 past int64 would wrap to a negative index"),
    "ctfidf-indptr-decreasing": Case(CTFIDF, set_tensor(CTFIDF, "indptr", swap_indptr),
        r": 'indptr' decreases at row 5 ", "a decreasing indptr makes a row of negative length"),
    "ctfidf-indptr-short": Case(CTFIDF, set_tensor(CTFIDF, "indptr", lambda a: a[:-1]),
        r": 'indptr' has \d+ entries; a matrix of \d+ rows needs", "one row's bounds would be read past the array"),
    "ctfidf-indptr-not-from-zero": Case(CTFIDF, set_tensor(CTFIDF, "indptr", lambda a: assign(a, 0, 1)),
        r": 'indptr' starts at 1", "CSR rows start at offset 0"),
    "ctfidf-data-truncated": Case(CTFIDF, set_tensor(CTFIDF, "data", lambda a: a[:-1]),
        r": 'indptr' ends at \d+ but 'indices' has \d+ and 'data' \d+ entries", "the last row would read past 'data'"),
    "ctfidf-data-nan": Case(CTFIDF, set_tensor(CTFIDF, "data", lambda a: assign(a, 10, np.nan)),
        r": 'data' holds nan at \[10\]", "NaN weights poison distances and distributions silently"),
    "ctfidf-data-inf": Case(CTFIDF, set_tensor(CTFIDF, "data", lambda a: assign(a, 11, np.inf)),
        r": 'data' holds inf at \[11\]", "infinite weights turn normalisation into NaN"),
    "ctfidf-data-bool": Case(CTFIDF, set_tensor(CTFIDF, "data", lambda a: a > 0),
        r": 'data' has dtype BOOL; expected one of", "weights must be numbers"),
    "ctfidf-indices-float": Case(CTFIDF, set_tensor(CTFIDF, "indices", lambda a: a.astype(np.float64)),
        r": 'indices' has dtype F64", "column numbers must be integers"),
    "ctfidf-extra-row": Case(CTFIDF, set_tensor(CTFIDF, "shape", lambda a: assign(a, 0, a[0] + 1)),
        r": 'shape' says \d+ rows but topics.json has \d+ topics", "rows are looked up by topic position"),
    "ctfidf-columns-not-vocabulary": Case(CTFIDF, set_tensor(CTFIDF, "shape", lambda a: assign(a, 1, a[1] - 1)),
        r": 'shape' says \d+ columns but the vocabulary in ctfidf_config.json has \d+ terms",
        "columns are words: both files must describe the same terms"),
    "ctfidf-shape-three-numbers": Case(CTFIDF, set_tensor(CTFIDF, "shape", lambda a: np.append(a, 1)),
        r": 'shape' must hold 2 numbers", "a matrix has rows and columns, nothing else"),
    "ctfidf-shape-2d": Case(CTFIDF, set_tensor(CTFIDF, "shape", lambda a: a.reshape(1, 2)),
        r": 'shape' has shape \[1, 2\]; expected 1 dimension", "ranks are checked from the header before reading"),
    "idf-short": Case(CTFIDF, set_tensor(CTFIDF, "diag", lambda a: a[:-1]),
        r": 'diag' \(the idf\) has \d+ values but the vocabulary in ctfidf_config.json has \d+ terms",
        "one idf value per term, or the product with new documents fails or misaligns"),
    "idf-nan": Case(CTFIDF, set_tensor(CTFIDF, "diag", lambda a: assign(a, 0, np.nan)),
        r": 'diag' holds nan at \[0\]", "a NaN idf spreads to every topic"),
    "ctfidf-missing-tensor": Case(CTFIDF, edit_tensors(CTFIDF, lambda t: t.pop("diag")),
        r" has no tensor\(s\) \['diag'\]", "every tensor BERTopic writes is needed"),
    "ctfidf-truncated": Case(CTFIDF, rewrite_bytes(CTFIDF, lambda b: b[: len(b) // 2]),
        r" is not a readable safetensors file", "a half-written file must not load"),
    "ctfidf-garbage": Case(CTFIDF, rewrite_bytes(CTFIDF, lambda b: os.urandom(len(b))),
        r" is not a readable safetensors file", "random bytes, with a random header length"),
    "ctfidf-header-length-huge": Case(CTFIDF, rewrite_bytes(CTFIDF, lambda b: (2**60).to_bytes(8, "little") + b[8:]),
        r" is not a readable safetensors file", "a header length past the file must not allocate or read it"),
    "ctfidf-header-shape-lies": Case(CTFIDF, edit_header(CTFIDF, lambda h: h["indices"].update(shape=[10**12])),
        r" is not a readable safetensors file \(.*invalid shape", "a header promising 10^12 indices must not allocate"),
    # topic_embeddings.safetensors
    "embeddings-nan": Case(EMBEDDINGS, set_tensor(EMBEDDINGS, "topic_embeddings", lambda a: assign(a, (2, 7), np.nan)),
        r": 'topic_embeddings' holds nan at \[2, 7\]", "NaN similarities make every assignment arbitrary"),
    "embeddings-inf": Case(EMBEDDINGS, set_tensor(EMBEDDINGS, "topic_embeddings", lambda a: assign(a, (0, 0), -np.inf)),
        r": 'topic_embeddings' holds -inf at \[0, 0\]", "infinite vectors have no direction"),
    "embeddings-overflow-float32": Case(EMBEDDINGS, set_tensor(EMBEDDINGS, "topic_embeddings",
                                                               lambda a: a.astype(np.float64) * 1e300),
        r": 'topic_embeddings' \(as float32\) holds -?inf", "finite float64 values can become inf as float32"),
    "embeddings-row-missing": Case(EMBEDDINGS, set_tensor(EMBEDDINGS, "topic_embeddings", lambda a: a[:-1]),
        r": 'topic_embeddings' has \d+ rows but topics.json has \d+ topics with words",
        "predictions index topics by row: one row short shifts or drops a topic"),
    "embeddings-1d": Case(EMBEDDINGS, set_tensor(EMBEDDINGS, "topic_embeddings", lambda a: a.ravel()),
        r": 'topic_embeddings' has shape \[\d+\]; expected 2 dimension", "one vector per topic"),
    "embeddings-zero-width": Case(EMBEDDINGS, set_tensor(EMBEDDINGS, "topic_embeddings", lambda a: a[:, :0]),
        r": 'topic_embeddings' has rows of width 0", "empty vectors cannot be compared"),
    "embeddings-bool": Case(EMBEDDINGS, set_tensor(EMBEDDINGS, "topic_embeddings", lambda a: a > 0),
        r": 'topic_embeddings' has dtype BOOL", "vectors must be numbers"),
    "embeddings-truncated": Case(EMBEDDINGS, rewrite_bytes(EMBEDDINGS, lambda b: b[:-100]),
        r" is not a readable safetensors file", "the header promises more bytes than the file has"),
    # topics.json: JSON types, ranges and cross-references
    "topic-id-string": Case(TOPICS, set_json(TOPICS, ["topics", 3], "3"),
        r": 'topics'\[3\] must be an integer", "a string where an int is expected"),
    "topic-id-float": Case(TOPICS, set_json(TOPICS, ["topics", 4], 1.0), r": 'topics'\[4\] must be an integer",
        "1.0 is not a topic id"),
    "topic-id-unknown": Case(TOPICS, set_json(TOPICS, ["topics", 9], 999),
        r": 'topics'\[9\] is topic 999, which 'topic_sizes' does not count", "documents must point at real topics"),
    "sizes-list-not-dict": Case(TOPICS, set_json(TOPICS, ["topic_sizes"], lambda sizes: list(sizes.values())),
        r": 'topic_sizes' must be an object; got an array", "a list where a dict is expected"),
    "sizes-negative": Case(TOPICS, set_json(TOPICS, ["topic_sizes", "0"], -5),
        r": 'topic_sizes'\[\"0\"\] is -5, outside 0\.\.", "a topic cannot have fewer than no documents"),
    "sizes-boolean": Case(TOPICS, set_json(TOPICS, ["topic_sizes", "0"], True),
        r": 'topic_sizes'\[\"0\"\] must be an integer; got a boolean", "true is not a count"),
    "sizes-key-not-topic-id": Case(TOPICS, set_json(TOPICS, ["topic_sizes", "zero"], 5),
        r": 'topic_sizes' has key 'zero', which is not a topic id", "keys are topic ids"),
    "sizes-key-alias": Case(TOPICS, set_json(TOPICS, ["topic_sizes", "01"], 5),
        r": 'topic_sizes' has key '01', which is not a topic id", "'01' would silently overwrite topic 1"),
    "words-dict-not-list": Case(TOPICS, set_json(TOPICS, ["topic_representations", "0"], {"space": 0.5}),
        r": 'topic_representations'\[\"0\"\] must be an array; got an object", "a dict where a list is expected"),
    "word-weight-nan": Case(TOPICS, set_json(TOPICS, ["topic_representations", "0", 0, 1], float("nan")),
        r": 'topic_representations'\[\"0\"\]\[0\]\[1\] is nan, not a finite number", "json reads NaN as a float"),
    "word-weight-string": Case(TOPICS, set_json(TOPICS, ["topic_representations", "1", 2, 1], "0.5"),
        r": 'topic_representations'\[\"1\"\]\[2\]\[1\] must be a number; got a string", "weights are numbers"),
    "word-not-string": Case(TOPICS, set_json(TOPICS, ["topic_representations", "1", 0, 0], 7),
        r": 'topic_representations'\[\"1\"\]\[0\]\[0\] must be a string", "words are strings"),
    "word-not-pair": Case(TOPICS, set_json(TOPICS, ["topic_representations", "1", 0], ["a", 0.1, "b"]),
        r": 'topic_representations'\[\"1\"\]\[0\] must be a \[word, weight\] pair", "pairs have two items"),
    "words-unknown-topic": Case(TOPICS, set_json(TOPICS, ["topic_representations", "77"], [["x", 0.1]]),
        r": 'topic_representations' has topic 77, which 'topic_sizes' does not count",
        "a topic with words but no documents would shift the embedding rows"),
    "label-not-string": Case(TOPICS, set_json(TOPICS, ["topic_labels", "0"], 0),
        r": 'topic_labels'\[\"0\"\] must be a string; got an integer", "labels are strings"),
    "label-missing": Case(TOPICS, edit_json(TOPICS, lambda d: d["topic_labels"].pop("3")),
        r": 'topic_labels' has no label for topic 3", "every topic with words has a label"),
    "mapper-ragged": Case(TOPICS, set_json(TOPICS, ["topic_mapper", 2], [1]),
        r": 'topic_mapper'\[2\] has 1 columns; every row needs the same number", "the mapper is a table"),
    "mapper-string": Case(TOPICS, set_json(TOPICS, ["topic_mapper", 1, 0], "0"),
        r": 'topic_mapper'\[1\]\[0\] must be an integer", "mapped ids are ints"),
    "custom-labels-dict": Case(TOPICS, set_json(TOPICS, ["custom_labels"], {"0": "space"}),
        r": 'custom_labels' must be an array; got an object", "custom labels are a list (or null)"),
    "outlier-flag-wrong": Case(TOPICS, set_json(TOPICS, ["_outliers"], 0),
        r": '_outliers' is 0 but topic -1 is in 'topic_sizes'", "the flag shifts every embedding row by one"),
    "aspect-infinity": Case(TOPICS, set_json(TOPICS, ["topic_aspects"], {"KeyBERT": {"0": [["w", float("inf")]]}}),
        r": 'topic_aspects'\['KeyBERT'\]\[\"0\"\]\[0\]\[1\] is inf, not a finite number",
        "free-form values still hold only finite numbers"),
    "deep-nesting": Case(TOPICS, raw_json(TOPICS, "topic_aspects", nested(100_000)),
        r": arrays and objects are nested more than 64 levels deep", "json.loads would raise RecursionError"),
    "deep-nesting-just-over": Case(TOPICS, raw_json(TOPICS, "topic_aspects", nested(64)),
        r": arrays and objects are nested more than 64 levels deep", "the limit counts the top-level object too"),
    "huge-integer": Case(TOPICS, raw_json(TOPICS, "_outliers", "9" * 5000), r" is not readable JSON",
        "an int past Python's digit limit raises ValueError inside json"),
    "not-json": Case(TOPICS, rewrite_bytes(TOPICS, lambda b: b[: len(b) // 2]), r" is not readable JSON",
        "a truncated file"),
    "not-utf8": Case(TOPICS, rewrite_bytes(TOPICS, lambda b: b"\xff\xfe" + b), r" is not readable JSON",
        "bytes that are not UTF-8"),
    "top-level-array": Case(TOPICS, replace_json(TOPICS, lambda d: [d]), r": the top level must be an object",
        "a list where a dict is expected"),
    "topics-key-missing": Case(TOPICS, edit_json(TOPICS, lambda d: d.pop("topic_labels")),
        r" has no key 'topic_labels'", "required keys are named"),
    # config.json
    "config-int-as-string": Case(CONFIG, set_json(CONFIG, ["min_topic_size"], "5"),
        r": 'min_topic_size' must be an integer; got a string", "a string where an int is expected"),
    "config-ngram-reversed": Case(CONFIG, set_json(CONFIG, ["n_gram_range"], [3, 1]),
        r": 'n_gram_range'\[1\] is 1, outside 3\.\.", "low <= high"),
    "config-similarity-nan": Case(CONFIG, set_json(CONFIG, ["zeroshot_min_similarity"], float("nan")),
        r": 'zeroshot_min_similarity' is nan, not a finite number", "a NaN threshold matches nothing, silently"),
    "config-similarity-range": Case(CONFIG, set_json(CONFIG, ["zeroshot_min_similarity"], 3),
        r": 'zeroshot_min_similarity' is 3, outside \[-1\.0, 1\.0\]", "cosine similarities lie in [-1, 1]"),
    "config-seeds-dict": Case(CONFIG, set_json(CONFIG, ["seed_topic_list"], {"a": ["b"]}),
        r": 'seed_topic_list' must be an array; got an object", "a dict where a list is expected"),
    "config-flag-string": Case(CONFIG, set_json(CONFIG, ["calculate_probabilities"], "false"),
        r": 'calculate_probabilities' must be true or false", "bool('false') is True"),
    "config-model-name-newline": Case(CONFIG, set_json(CONFIG, ["embedding_model"], "all-MiniLM\nevil"),
        r": 'embedding_model' must be a printable model name", "the name is later handed to sentence-transformers"),
    "config-unknown-key-nan": Case(CONFIG, set_json(CONFIG, ["future_setting"], [1.0, float("-inf")]),
        r": 'future_setting'\[1\] is -inf, not a finite number", "unknown keys are kept, but only as plain JSON"),
    "config-array": Case(CONFIG, replace_json(CONFIG, lambda d: list(d)),
        r": the top level \(hyperparameters\) must be an object", "hyperparameters are a dict"),
    # ctfidf_config.json
    "vocab-duplicate-column": Case(CTFIDF_CONFIG, set_vocab(lambda terms: {terms[0]: 1}),  # terms[1] has column 1
        r": 'vectorizer_model'\['vocab'\]\['\w+'\] is column 1, which '\w+' already has",
        "two terms on one column leave another column without a word"),
    "vocab-column-string": Case(CTFIDF_CONFIG, set_vocab(lambda terms: {terms[0]: "0"}),
        r": 'vectorizer_model'\['vocab'\]\['\w+'\] must be an integer; got a string", "columns are ints"),
    "vocab-column-out-of-range": Case(CTFIDF_CONFIG, set_vocab(lambda terms: {terms[0]: 10**9}),
        r": 'vectorizer_model'\['vocab'\]\['\w+'\] is 1000000000, outside 0\.\.\d+", "columns are 0..n-1"),
    "vocab-list": Case(CTFIDF_CONFIG, set_json(CTFIDF_CONFIG, ["vectorizer_model", "vocab"], lambda v: list(v)),
        r": 'vectorizer_model'\['vocab'\] must be an object; got an array", "a list where a dict is expected"),
    "ctfidf-flag-string": Case(CTFIDF_CONFIG, set_json(CTFIDF_CONFIG, ["ctfidf_model", "bm25_weighting"], "yes"),
        r": 'ctfidf_model'\['bm25_weighting'\] must be true or false", "the weighting flag is a bool"),
    "min-df-negative": Case(CTFIDF_CONFIG, set_json(CTFIDF_CONFIG, ["vectorizer_model", "params", "min_df"], -1),
        r": 'vectorizer_model'\['params'\]\['min_df'\] is -1, outside 0\.\.", "a document count"),
    "max-df-proportion-over-one": Case(CTFIDF_CONFIG, set_json(CTFIDF_CONFIG, ["vectorizer_model", "params", "max_df"],
                                                               1.5),
        r": 'vectorizer_model'\['params'\]\['max_df'\] is 1.5, outside \[0\.0, 1\.0\]", "a proportion of documents"),
    "vectorizer-missing": Case(CTFIDF_CONFIG, edit_json(CTFIDF_CONFIG, lambda d: d.pop("vectorizer_model")),
        r" has no key 'vectorizer_model'", "required keys are named"),
    "ctfidf-config-deep": Case(CTFIDF_CONFIG, raw_json(CTFIDF_CONFIG, "ctfidf_model", '{"x": ' + nested(5000) + "}"),
        r": arrays and objects are nested more than 64 levels deep", "every JSON file is depth-checked"),
    # missing or unreadable files
    "topics-missing": Case(TOPICS, remove(TOPICS), r" is missing, so the model folder is incomplete", "required file"),
    "embeddings-missing": Case(EMBEDDINGS, remove(EMBEDDINGS), r" is missing", "required file"),
    "ctfidf-missing-config-present": Case(CTFIDF, remove(CTFIDF), r" is missing",
        "c-TF-IDF needs both of its files"),
    "config-is-a-folder": Case(CONFIG, replace_by_folder(CONFIG), r": the path is not a regular file",
        "a folder in the file's place"),
    "topics-links-to-device": Case(TOPICS, link_to_device(TOPICS), r": the path is not a regular file",
        "reading /dev/zero would never end"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_tampered_file_is_refused_with_its_name(folder, case):
    case.tamper(folder)
    with pytest.raises(SavedModelError, match=re.escape(case.file) + case.match) as caught:
        TopicModel.load(folder)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 600, message  # one line, whatever the file held
    assert isinstance(caught.value, StoreError) and isinstance(caught.value, TopicPipelineError)


def test_untampered_save_loads_with_the_same_topics(fitted, folder):
    model, _, texts = fitted
    loaded = TopicModel.load(folder)
    assert loaded.topics_ == model.topics_
    assert loaded.topic_sizes_ == model.topic_sizes_
    assert loaded.topic_representations_ == {t: [(w, float(s)) for w, s in words]
                                             for t, words in model.topic_representations_.items()}
    assert loaded.topic_labels_ == model.topic_labels_
    columns = ["Topic", "Count", "Name", "Representation"]
    pd.testing.assert_frame_equal(loaded.get_topic_info()[columns], model.get_topic_info()[columns])
    np.testing.assert_array_equal(loaded.topic_embeddings_, np.asarray(model.topic_embeddings_, dtype=np.float32))
    assert loaded.c_tf_idf_.shape == model.c_tf_idf_.shape and (loaded.c_tf_idf_ != model.c_tf_idf_).nnz == 0
    # The c-TF-IDF paths that crashed on a crafted file work on the checked one.
    distribution, _ = loaded.approximate_distribution(texts[:20])
    assert distribution.shape == (20, len(model.topic_sizes_) - 1) and np.isfinite(distribution).all()
    assert distribution.sum() > 0
    assert len(loaded.hierarchical_topics(texts)) == len(model.topic_sizes_) - 2


def test_brackets_and_quotes_inside_strings_do_not_count_as_nesting(folder):
    """The depth scan must skip strings, including escaped quotes and backslashes right before a quote."""
    tricky = ['[[[[' * 40, '\\"[[[[' * 40, 'ends with a backslash \\', '\\\\"' + '{' * 80]
    edit_json(TOPICS, lambda d: d.update(custom_labels=[tricky[i % 4] for i in range(len(d["topic_sizes"]))],
                                         topic_aspects={"Deep": {"0": json.loads(nested(30))}}))(folder)
    loaded = TopicModel.load(folder)
    assert loaded.custom_labels_[:4] == tricky
    assert loaded.topic_aspects_["Deep"][0] == json.loads(nested(30))


def test_oversized_files_are_refused_before_reading(folder, monkeypatch):
    monkeypatch.setitem(serialization.MAX_FILE_BYTES, TOPICS, 100)
    with pytest.raises(SavedModelError, match=r"topics\.json: the file has \d+ bytes, more than the 100 allowed"):
        TopicModel.load(folder)
    monkeypatch.setitem(serialization.MAX_FILE_BYTES, CTFIDF, 100)
    monkeypatch.setitem(serialization.MAX_FILE_BYTES, TOPICS, 1 << 30)
    with pytest.raises(SavedModelError, match=r"ctfidf\.safetensors: the file has \d+ bytes, more than the 100"):
        TopicModel.load(folder)


def test_folder_walk_is_bounded(folder, monkeypatch):
    """The pickle scan walks the folder without recursion and stops on crafted trees."""
    deep = folder / "images"
    for level in range(serialization.MAX_FOLDER_DEPTH + 1):
        deep = deep / f"l{level}"
    deep.mkdir(parents=True)
    with pytest.raises(SavedModelError, match=r"copy: the folder nests sub-folders more than \d+ levels deep"):
        TopicModel.load(folder)
    shutil.rmtree(folder / "images")
    for i in range(6):
        (folder / f"stray{i}.txt").write_text("")
    monkeypatch.setattr(serialization, "MAX_FOLDER_ENTRIES", 8)
    with pytest.raises(SavedModelError, match=r"copy: the folder holds more than 8 files and folders"):
        TopicModel.load(folder)
    monkeypatch.setattr(serialization, "MAX_FOLDER_ENTRIES", 100)
    assert TopicModel.load(folder).topics_  # stray non-pickle files are fine within the limits


def test_equivalent_encodings_still_load(fitted, folder):
    """Valid variants BERTopic or other writers produce: int64 indices, float32 data, unsorted columns."""
    def variants(tensors: dict[str, np.ndarray]) -> None:
        tensors["indices"] = tensors["indices"].astype(np.int64)
        tensors["indptr"] = tensors["indptr"].astype(np.uint32)
        tensors["data"] = tensors["data"].astype(np.float32)
        start, stop = tensors["indptr"][0:2]
        tensors["indices"][start:stop] = tensors["indices"][start:stop][::-1].copy()
        tensors["data"][start:stop] = tensors["data"][start:stop][::-1].copy()
    edit_tensors(CTFIDF, variants)(folder)
    loaded = TopicModel.load(folder)
    expected = fitted[0].c_tf_idf_
    assert abs(loaded.c_tf_idf_ - expected).max() < 1e-6


def random_json(rng, depth: int) -> Any:
    """A value nested exactly ``depth`` levels, with strings full of brackets, quotes and backslashes."""
    def text() -> str:
        return "".join(rng.choice('[]{}"\\\\ab\u00e9\u4e2d\n,:') for _ in range(rng.randrange(8)))
    if depth == 0:
        return rng.choice([text(), rng.random(), rng.randrange(-5, 5), None, True])
    inner = random_json(rng, depth - 1)
    siblings = [random_json(rng, rng.randrange(min(depth, 3))) for _ in range(rng.randrange(3))]
    if rng.random() < 0.5:
        return [*siblings[:1], inner, *siblings[1:]]
    return {text(): s for s in siblings} | {text() + "!": inner}


@pytest.mark.parametrize("chunk", [None, 7])  # 7 bytes: strings and escapes straddle the scan's chunks
@pytest.mark.parametrize("seed", range(4))
def test_depth_scan_agrees_with_the_parser(seed, chunk, monkeypatch):
    """Fuzz: the byte-level scan refuses exactly the documents nested past MAX_JSON_DEPTH."""
    import random

    if chunk is not None:
        monkeypatch.setattr(serialization, "_JSON_SCAN_CHUNK", chunk)
    rng = random.Random(seed)
    limit = serialization.MAX_JSON_DEPTH
    for depth in [*range(limit - 3, limit + 4), *(rng.randrange(1, 2 * limit) for _ in range(10))]:
        value = random_json(rng, depth)
        for ensure_ascii in (True, False):
            data = json.dumps(value, ensure_ascii=ensure_ascii).encode()
            assert json.loads(data) == value
            if depth > limit:
                with pytest.raises(SavedModelError, match="nested more than"):
                    serialization._check_json_depth(data, Path("fuzz.json"))
            else:
                serialization._check_json_depth(data, Path("fuzz.json"))


def test_settings_past_the_pipeline_limits_name_the_files(folder):
    """A well-formed value our params refuse (BERTopic allows top_n_words > 100) still names where it came from."""
    from topic_pipeline.errors import ParamsError

    set_json(CONFIG, ["top_n_words"], 500)(folder)
    with pytest.raises(ParamsError, match=r"config\.json / ctfidf_config\.json settings\): invalid value for "
                                          r"'representation\.top_n_words'"):
        TopicModel.load(folder)


def bertopic_after_reduce_outliers(folder: Path) -> None:
    """What BERTopic 0.17.4 saves after reduce_outliers + update_topics: no topic -1 anywhere but in the
    embeddings, whose first row is the old outlier row (its update_topics never drops it)."""
    def without_outliers(doc: dict) -> None:
        doc["topics"] = [0 if t == -1 else t for t in doc["topics"]]
        doc["topic_sizes"]["0"] += doc["topic_sizes"].pop("-1")
        del doc["topic_representations"]["-1"], doc["topic_labels"]["-1"]
        doc["_outliers"] = 0

    def drop_first_row(tensors: dict[str, np.ndarray]) -> None:
        start = tensors["indptr"][1]
        tensors["indices"], tensors["data"] = tensors["indices"][start:], tensors["data"][start:]
        tensors["indptr"] = tensors["indptr"][1:] - start
        tensors["shape"][0] -= 1
    edit_json(TOPICS, without_outliers)(folder)
    edit_tensors(CTFIDF, drop_first_row)(folder)


def test_bertopics_stale_outlier_row_is_dropped_not_refused(fitted, folder, caplog):
    model, _, texts = fitted
    bertopic_after_reduce_outliers(folder)
    loaded = TopicModel.load(folder)
    assert "dropping its first row" in caplog.text
    np.testing.assert_array_equal(loaded.topic_embeddings_, np.asarray(model.topic_embeddings_, np.float32)[1:])
    assert -1 not in loaded.topic_sizes_ and loaded.c_tf_idf_.shape[0] == len(loaded.topic_sizes_)
    embeddings = np.load(NEWSGROUPS_EMBEDDINGS, mmap_mode="r")[:20].copy()
    topics, _ = loaded.transform(texts[:20], embeddings)
    assert set(topics) <= set(loaded.topic_sizes_)
    # Only that one case is repaired: two rows too many is still refused.
    set_tensor(EMBEDDINGS, "topic_embeddings", lambda a: np.vstack([a, a[:1]]))(folder)
    topics = len(loaded.topic_sizes_)  # depends on the fit (UMAP's floating point differs between CPUs)
    with pytest.raises(SavedModelError, match=rf"topic_embeddings\.safetensors: 'topic_embeddings' has {topics + 2} "
                                              rf"rows but topics\.json has {topics} topics with words"):
        TopicModel.load(folder)


def test_a_merged_model_whose_outliers_have_no_words_still_loads(fitted, folder):
    """merge_models onto a base without outliers counts -1's documents but gives -1 no words, label or
    embedding row (and writes no c-TF-IDF): topic_sizes may hold that one topic more."""
    model = fitted[0]

    def merged_shape(doc: dict) -> None:
        del doc["topic_representations"]["-1"], doc["topic_labels"]["-1"]
    edit_json(TOPICS, merged_shape)(folder)
    set_tensor(EMBEDDINGS, "topic_embeddings", lambda a: a[1:])(folder)
    (folder / CTFIDF).unlink()
    (folder / CTFIDF_CONFIG).unlink()
    loaded = TopicModel.load(folder)
    assert loaded.topic_sizes_ == model.topic_sizes_ and -1 not in loaded.topic_representations_
    assert loaded.topic_embeddings_.shape[0] == len(model.topic_sizes_) - 1 and loaded.c_tf_idf_ is None
