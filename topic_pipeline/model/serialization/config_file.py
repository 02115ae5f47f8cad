"""Reading ``config.json``: BERTopic's hyperparameters and the embedding model name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from topic_pipeline.model.serialization.values import (
    _MAX_NGRAM,
    _bool,
    _dict,
    _fail,
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
)


def _ngram_range(value: Any, path: Path, field: str) -> list[int]:
    low_high = _list(value, path, field)
    if len(low_high) != 2:
        _fail(path, f"{field} must be [low, high]; got {_kind(value)}")
    low = _int(low_high[0], path, f"{field}[0]", 1, _MAX_NGRAM)
    high = _int(low_high[1], path, f"{field}[1]", low, _MAX_NGRAM)
    return [low, high]


def _nr_topics(value: Any, path: Path, field: str) -> int | str | None:
    if value is None or value == "auto":
        return value
    return _int(value, path, field, 1)


def _seed_topics(value: Any, path: Path, field: str) -> list[list[str]]:
    return [_strings(seeds, path, f"{field}[{i}]") for i, seeds in enumerate(_list(value, path, field))]


def _model_name(value: Any, path: Path, field: str) -> str:
    """A sentence-transformers name or path: printable text of sane length."""
    name = _str(value, path, field)
    if not 0 < len(name) <= 1000 or not name.isprintable():
        _fail(path, f"{field} must be a printable model name of 1..1000 characters; got {_show(name)}")
    return name


_CONFIG_FIELDS: dict[str, Any] = {
    "calculate_probabilities": _bool, "low_memory": _bool,
    "verbose": lambda v, p, f: v if isinstance(v, bool) else _int(v, p, f, 0),  # BERTopic only tests its truth
    "language": _optional(_str), "embedding_model": _optional(_model_name),
    "min_topic_size": lambda v, p, f: _int(v, p, f, 1), "top_n_words": lambda v, p, f: _int(v, p, f, 1),
    "n_gram_range": _ngram_range, "nr_topics": _nr_topics, "seed_topic_list": _optional(_seed_topics),
    "zeroshot_topic_list": _optional(_strings),
    "zeroshot_min_similarity": lambda v, p, f: _number(v, p, f, -1.0, 1.0),
}


def _parse_config(raw: Any, path: Path) -> tuple[dict[str, Any], str | None]:
    """config.json -> (BERTopic hyperparameters, embedding model name); known keys type-checked.

    Unknown keys (other BERTopic versions) are kept as plain, finite JSON.
    """
    config = {key: _CONFIG_FIELDS.get(key, _plain_json)(value, path, _key(key))
              for key, value in _dict(raw, path, "the top level (hyperparameters)").items()}
    embedding_model = config.pop("embedding_model", None)
    config["n_gram_range"] = tuple(config.get("n_gram_range") or (1, 1))
    return config, embedding_model
