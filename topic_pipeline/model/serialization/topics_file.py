"""Reading ``topics.json`` and checking the topic embeddings against it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from topic_pipeline.errors import SavedModelError
from topic_pipeline.model.serialization.record import TOPICS_FILE, SavedTopicModel
from topic_pipeline.model.serialization.values import (
    _MAX_COUNT,
    _dict,
    _fail,
    _finite,
    _int,
    _key,
    _kind,
    _list,
    _number,
    _optional,
    _plain_json,
    _show,
    _str,
    _strings,
    _topic_dict,
)

logger = logging.getLogger(__package__)  # one logger for the whole format, named like the public module

_TOPICS_REQUIRED = ("topics", "topic_sizes", "topic_representations", "topic_labels", "topic_mapper",
                    "custom_labels")


def _parse_topics(raw: Any, path: Path) -> SavedTopicModel:
    """topics.json -> a SavedTopicModel (embeddings still empty), every field type-checked.

    Cross-checks: the document topics, words and labels all name topics in ``topic_sizes``.
    """
    doc = _dict(raw, path, "the top level")
    for key in _TOPICS_REQUIRED:
        if key not in doc:
            raise SavedModelError(f"{path} has no key {key!r}; it is not a BERTopic/topic_pipeline topics file.")
    sizes = {topic: _int(count, path, f"'topic_sizes'[\"{topic}\"]", 0, _MAX_COUNT)
             for topic, count in _topic_dict(doc["topic_sizes"], path, "'topic_sizes'").items()}
    if not sizes and _list(doc["topics"], path, "'topics'"):  # no topics and no documents: an unfitted model's save
        _fail(path, "'topic_sizes' is empty but 'topics' is not; a fitted model has at least one topic")
    representations = {topic: _words(words, path, f"'topic_representations'[\"{topic}\"]")
                       for topic, words in _topic_dict(doc["topic_representations"], path,
                                                       "'topic_representations'").items()}
    labels = {topic: _str(label, path, f"'topic_labels'[\"{topic}\"]")
              for topic, label in _topic_dict(doc["topic_labels"], path, "'topic_labels'").items()}
    _same_topics(path, sizes, representations, labels)
    model = SavedTopicModel(
        topics=_document_topics(doc["topics"], path, sizes),
        topic_sizes=sizes,
        topic_representations=representations,
        topic_embeddings=np.zeros((0, 0), dtype=np.float32),
        topic_labels=labels,
        topic_mapper=_mapper(doc["topic_mapper"], path),
        custom_labels=_optional(_strings)(doc["custom_labels"], path, "'custom_labels'"),
        topic_aspects=_aspects(doc.get("topic_aspects"), path),
    )
    flag = _int(doc.get("_outliers", model.outliers), path, "'_outliers'", 0, 1)
    if flag != model.outliers:
        _fail(path, f"'_outliers' is {flag} but topic -1 is {'' if model.outliers else 'not '}in 'topic_sizes'")
    return model


def _words(value: Any, path: Path, field: str) -> list[tuple[str, float]]:
    """A topic's [word, weight] pairs; weights finite."""
    pairs = []
    for i, pair in enumerate(_list(value, path, field)):
        if not isinstance(pair, list) or len(pair) != 2:
            _fail(path, f"{field}[{i}] must be a [word, weight] pair; got {_kind(pair)}")
        pairs.append((_str(pair[0], path, f"{field}[{i}][0]"), _number(pair[1], path, f"{field}[{i}][1]")))
    return pairs


def _same_topics(path: Path, sizes: dict[int, int], representations: dict[int, Any], labels: dict[int, str]) -> None:
    """Words and labels must describe counted topics, and every topic with words needs a label.

    ``topic_sizes`` may hold one topic more than the words: -1 of a model merged onto one
    without outliers is counted but has no words (BERTopic's merge_models does the same).
    """
    for name, values in (("topic_representations", representations), ("topic_labels", labels)):
        unknown = sorted(set(values) - set(sizes))
        if unknown:
            _fail(path, f"'{name}' has topic {unknown[0]}, which 'topic_sizes' does not count")
    unlabelled = sorted(set(representations) - set(labels))
    if unlabelled:
        _fail(path, f"'topic_labels' has no label for topic {unlabelled[0]}, which has words")


def _document_topics(value: Any, path: Path, sizes: dict[int, int]) -> list[int]:
    """One topic id per training document, each a topic that ``topic_sizes`` counts."""
    topics = _list(value, path, "'topics'")
    for position, topic in enumerate(topics):
        if type(topic) is not int:
            _fail(path, f"'topics'[{position}] must be an integer topic id; got {_kind(topic)}")
    unknown = set(topics) - set(sizes)
    if unknown:
        topic = min(unknown)
        _fail(path, f"'topics'[{topics.index(topic)}] is topic {_show(topic)}, which 'topic_sizes' does not count")
    return topics


def _mapper(value: Any, path: Path) -> list[list[int]]:
    """BERTopic's TopicMapper rows: a rectangular table of topic ids (-1 or more)."""
    rows: list[list[int]] = []
    for i, row in enumerate(_list(value, path, "'topic_mapper'")):
        field = f"'topic_mapper'[{i}]"
        row = _list(row, path, field)
        if not row or (rows and len(row) != len(rows[0])):
            _fail(path, f"{field} has {len(row)} columns; every row needs the same number (at least 1)")
        rows.append([_int(topic, path, f"{field}[{j}]", -1) for j, topic in enumerate(row)])
    return rows


def _aspects(value: Any, path: Path) -> dict[str, dict[int, Any]]:
    """Extra representations: aspect name -> topic id -> JSON (word pairs become tuples again).

    Images of a visual aspect live in images/ and are not read; BERTopic marks them with a
    ``"Visual_Aspect": true`` entry, which is skipped.
    """
    if not value:
        return {}
    aspects: dict[str, dict[int, Any]] = {}
    for name, per_topic in _dict(value, path, "'topic_aspects'").items():
        if name == "Visual_Aspect":
            continue
        field = f"'topic_aspects'[{_key(name)}]"
        aspects[name] = {topic: _pairs(_plain_json(words, path, f"{field}[\"{topic}\"]"))
                         for topic, words in _topic_dict(per_topic, path, field).items()}
    return aspects


def _pairs(value: Any) -> Any:
    """JSON turns (word, weight) tuples into lists; turn them back."""
    if isinstance(value, list) and all(isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) for v in value):
        return [(v[0], v[1]) for v in value]
    return value


def _checked_topic_embeddings(array: np.ndarray, path: Path, model: SavedTopicModel) -> np.ndarray:
    """The topic_embeddings tensor (already read, 2-D) as one finite float32 row per topic with words.

    One known inconsistency is repaired rather than refused, because BERTopic itself writes it:
    ``update_topics`` after ``reduce_outliers`` removes topic -1 but keeps its embedding row
    (BERTopic 0.17.4 compares the new topics with ``topics_`` after already overwriting it, so
    its intended ``topic_embeddings_[1:]`` never runs). With no -1 topic and exactly one extra
    row, that first row is the stale outlier row and is dropped.
    """
    n_topics = len(model.topic_representations)
    rows, width = array.shape
    if rows == n_topics + 1 and -1 not in model.topic_sizes:
        logger.warning("%s has one row more than %s has topics, as BERTopic writes after reduce_outliers and "
                       "update_topics: dropping its first row (the removed outlier topic's).", path, TOPICS_FILE)
        array, rows = array[1:], rows - 1
    if rows != n_topics:
        _fail(path, f"'topic_embeddings' has {rows} rows but {TOPICS_FILE} has {n_topics} topics with words "
                    "(one row each)")
    if width == 0 and n_topics:
        _fail(path, "'topic_embeddings' has rows of width 0")
    _finite(array, path, "'topic_embeddings'")
    with np.errstate(over="ignore"):
        embeddings = array.astype(np.float32)
    _finite(embeddings, path, "'topic_embeddings' (as float32)")
    return embeddings
