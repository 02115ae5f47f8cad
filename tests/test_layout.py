"""Size limits of the code outside tests: no module over 400 lines, no function or method over 60.

STYLE.md caps modules at 400 lines; one outlier module or function is how a god object starts
(BERTopic's ``_bertopic.py``). A function's length is ``end_lineno - lineno + 1`` of its ``def``
(docstring included, decorators not), nested functions counted on their own as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("topic_pipeline", "assets", "resources", "benchmarks", "examples")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(path for folder in CHECKED for path in (ROOT / folder).rglob("*.py"))


def _too_long(path: Path) -> list[str]:
    """One line per limit that ``path`` breaks, naming the module or the function and its length."""
    source = path.read_text(encoding="utf-8")
    name = path.relative_to(ROOT).as_posix()
    problems = []
    n_lines = len(source.splitlines())
    if n_lines > MAX_MODULE_LINES:
        problems.append(f"{name}: module has {n_lines} lines (limit {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                problems.append(f"{name}:{node.lineno}: {node.name} has {length} lines (limit {MAX_FUNCTION_LINES})")
    return problems


def test_the_checked_folders_hold_modules():
    """Guard against a walk that silently checks nothing (a renamed folder, a wrong root)."""
    counts = {folder: len(list((ROOT / folder).rglob("*.py"))) for folder in CHECKED}
    assert all(counts.values()), counts


def test_no_module_or_function_is_too_long():
    problems = [problem for path in _modules() for problem in _too_long(path)]
    assert not problems, "Split these (STYLE.md section 2):\n" + "\n".join(problems)


@pytest.mark.parametrize(("source", "expected"), [
    # a 61-line function is one over the limit; 60 is allowed
    ("def f():\n" + "    x = 1\n" * 60, ["f has 61 lines"]),
    ("def f():\n" + "    x = 1\n" * 59, []),
    # a method counts like a function
    ("class C:\n    def m(self):\n" + "        x = 1\n" * 60, ["m has 61 lines"]),
    # a long module is reported even when its functions are short
    ("x = 1\n" * 401, ["module has 401 lines"]),
])
def test_the_limits_are_measured_as_documented(tmp_path, monkeypatch, source, expected):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    path = tmp_path / "module.py"
    path.write_text(source)
    problems = _too_long(path)
    assert len(problems) == len(expected) and all(e in p for e, p in zip(expected, problems, strict=True)), problems


def test_topic_model_mixins_do_not_shadow_each_others_methods():
    """TopicModel is assembled from mixins; a private helper defined in two of them silently takes the
    first one's behaviour in the other (this happened: two ``_topic_vectors`` with different returns)."""
    from topic_pipeline.model.topic_model import TopicModel

    owners: dict[str, list[str]] = {}
    for base in TopicModel.__mro__:
        if base.__module__.startswith("topic_pipeline."):
            for name, value in vars(base).items():
                if callable(value) or isinstance(value, property):
                    owners.setdefault(name, []).append(base.__name__)
    shadowed = {name: classes for name, classes in owners.items() if len(classes) > 1 and not name.startswith("__")}
    assert not shadowed, shadowed
