"""Checks for the values read from a saved folder, and the one-line errors that name file and field.

A saved folder is untrusted input: it may come from anyone. Every value is checked here before numpy,
scipy or the model sees it, and a bad one fails with one ``SavedModelError`` line that names the file
and the field.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from topic_pipeline.errors import SavedModelError

_MAX_ID = 2**31 - 1  # topic ids and hyperparameter counts
_MAX_COUNT = 2**62  # documents per topic
_MAX_NGRAM = 100
_TOPIC_KEY = re.compile(r"-1|0|[1-9][0-9]{0,9}")  # str(int) as json.dump writes dict keys; no "01" aliases
_FLOATS = frozenset({"F16", "F32", "F64"})
_INTEGERS = frozenset({"I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64"})
_NUMBERS = _FLOATS | _INTEGERS


def _fail(path: Path, problem: str) -> NoReturn:
    """Raise the one-line error for ``path``; ``problem`` names the field and what is wrong with it."""
    raise SavedModelError(f"{path}: {problem}. The file is damaged or was not written by BERTopic or "
                          "topic_pipeline; save the model again.")


def _show(value: Any) -> str:
    """A short one-line repr: a hostile file can put megabytes or newlines into any value."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _key(key: str) -> str:
    """A JSON key quoted for a field name, shortened like ``_show`` when it is long or odd."""
    return f"'{key}'" if len(key) <= 60 and key.isprintable() and "'" not in key else _show(key)


def _kind(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
             float: "a number", type(None): "null"}
    return f"{names.get(type(value), type(value).__name__)} {_show(value)}"


def _one_line(exc: BaseException) -> str:
    """A library's exception text squeezed onto one line (and cut short) for our message."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def _dict(value: Any, path: Path, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, f"{field} must be an object; got {_kind(value)}")
    return value


def _list(value: Any, path: Path, field: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(path, f"{field} must be an array; got {_kind(value)}")
    return value


def _str(value: Any, path: Path, field: str) -> str:
    if not isinstance(value, str):
        _fail(path, f"{field} must be a string; got {_kind(value)}")
    return value


def _bool(value: Any, path: Path, field: str) -> bool:
    if not isinstance(value, bool):
        _fail(path, f"{field} must be true or false; got {_kind(value)}")
    return value


def _int(value: Any, path: Path, field: str, low: int = -_MAX_ID, high: int = _MAX_ID) -> int:
    """An integer in [low, high]; JSON's true/false and 3.0 are not integers."""
    if type(value) is not int:
        _fail(path, f"{field} must be an integer; got {_kind(value)}")
    if not low <= value <= high:
        _fail(path, f"{field} is {value}, outside {low}..{high}")
    return value


def _number(value: Any, path: Path, field: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite number in [low, high]; Python's json reads NaN, Infinity and 1e999 as floats."""
    if type(value) not in (int, float):
        _fail(path, f"{field} must be a number; got {_kind(value)}")
    if not math.isfinite(value):
        _fail(path, f"{field} is {value}, not a finite number")
    if not low <= value <= high:
        _fail(path, f"{field} is {value}, outside [{low}, {high}]")
    return float(value)


def _strings(value: Any, path: Path, field: str) -> list[str]:
    return [_str(item, path, f"{field}[{i}]") for i, item in enumerate(_list(value, path, field))]


def _optional(check: Any) -> Any:
    """``check`` that also lets JSON null through (BERTopic writes None for unset settings)."""
    return lambda value, path, field: None if value is None else check(value, path, field)


def _plain_json(value: Any, path: Path, field: str) -> Any:
    """Free-form JSON (aspects, unknown settings): any shape, but every number finite.

    Recursion is bounded by the depth scan in ``_read_json``.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            _plain_json(item, path, f"{field}[{_key(key)}]")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _plain_json(item, path, f"{field}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        _fail(path, f"{field} is {value}, not a finite number")
    return value


def _topic_dict(value: Any, path: Path, field: str) -> dict[int, Any]:
    """A JSON object keyed by topic id ("-1", "0", "12") -> the same dict keyed by int."""
    result: dict[int, Any] = {}
    for key, item in _dict(value, path, field).items():
        if not _TOPIC_KEY.fullmatch(key):
            _fail(path, f"{field} has key {_show(key)}, which is not a topic id (-1 or a non-negative integer)")
        result[int(key)] = item
    return result


def _finite(array: np.ndarray, path: Path, field: str) -> None:
    """Refuse NaN and infinities, naming the first bad position."""
    if array.dtype.kind != "f":
        return
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        where = ", ".join(str(int(i)) for i in bad[0])
        _fail(path, f"{field} holds {array[tuple(bad[0])]} at [{where}]; every value must be a finite number")
