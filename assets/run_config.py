"""The launchpad config of a stage's asset: its params section as typed, documented, optional fields.

Built from the section's pydantic model, so the launchpad lists what a stage takes (type, default,
allowed values, the docstring's words about it) instead of ``config: {}``. Every field is optional
with no default: an empty config means "no overrides", and what a user sets is validated by
``PipelineParams.with_overrides`` exactly as the params file is, then becomes part of the store key.
The shape is permissive, so an unknown key reaches that validation and gets its "did you mean" hint.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from typing import Any, Literal

import dagster as dg
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from topic_pipeline.params import PipelineParams

SCALARS = {int: dg.Int, float: dg.Float, str: dg.String, bool: dg.Bool}
MAX_DOC_CHARS = 400


def _is_none(annotation: Any) -> bool:
    return annotation is type(None)


def config_type(annotation: Any) -> Any:
    """The Dagster config type of a pydantic field annotation (Any where config types cannot say it)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if not _is_none(arg)]
        inner = config_type(members[0]) if len(members) == 1 else dg.Any  # e.g. int | float: pydantic decides
        return dg.Noneable(inner) if len(members) < len(typing.get_args(annotation)) else inner
    if origin is Literal:
        values = typing.get_args(annotation)
        return dg.String if all(isinstance(v, str) for v in values) else dg.Any
    if origin in (list, tuple, set, frozenset):
        args = [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
        item = config_type(args[0]) if args and all(arg == args[0] for arg in args) else dg.Any
        return [item]
    if origin is dict or annotation is dict or (inspect.isclass(annotation) and issubclass(annotation, BaseModel)):
        return dg.Permissive()
    return SCALARS.get(annotation, dg.Any)


def _allowed_values(annotation: Any) -> list[Any]:
    """The values of the ``Literal`` inside ``annotation`` (also within an Optional/union)."""
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [value for arg in typing.get_args(annotation) for value in _allowed_values(arg)]
    return []


def _bounds(info: FieldInfo) -> str:
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return ", ".join(f"{words[name]} {getattr(item, name)}" for item in info.metadata
                     for name in words if getattr(item, name, None) is not None)


def _doc_sentences(model: type[BaseModel], name: str) -> str:
    """The sentences of the section's docstring that name ``name`` (written ````name```` there)."""
    text = " ".join(inspect.cleandoc(model.__doc__ or "").split())
    sentences = re.split(r"(?<=[.;])\s+(?=[A-Z`(])", text)
    found = " ".join(s for s in sentences if f"``{name}``" in s).replace("``", "`")
    return found if len(found) <= MAX_DOC_CHARS else found[: MAX_DOC_CHARS - 1].rstrip() + "…"


def field_description(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    """Type, default, allowed values and bounds, then the field's own description or the docstring's words."""
    default = info.get_default(call_default_factory=True)
    parts = [f"Default: {default!r}."]
    allowed = _allowed_values(info.annotation)
    if allowed:
        parts.append("One of: " + ", ".join(map(str, allowed)) + ".")
    if _bounds(info):
        parts.append(f"Must be {_bounds(info)}.")
    explained = info.description or _doc_sentences(model, name)
    if explained:
        parts.append(explained)
    return " ".join(parts)


def section_model(section: str) -> type[BaseModel]:
    return PipelineParams.model_fields[section].annotation


def section_config_schema(section: str | None, section_fields: tuple[str, ...] | None = None) -> dg.Field:
    """The config schema of a stage whose params section is ``section`` (None: an empty one, nothing to set);
    only its ``section_fields`` when the stage reads just those (an override of another would be ignored)."""
    if section is None:
        return dg.Field(dg.Shape({}), is_required=False, description="This stage has no params section to override.")
    model = section_model(section)
    fields = {
        name: dg.Field(config_type(info.annotation), is_required=False,
                       description=field_description(model, name, info))
        for name, info in model.model_fields.items() if section_fields is None or name in section_fields
    }
    summary = inspect.cleandoc(model.__doc__ or "").split("\n\n")[0].replace("\n", " ").replace("``", "`")
    return dg.Field(
        dg.Permissive(fields), is_required=False,
        description=(f"Overrides of params section '{section}' for this run: {summary} "
                     "Left out = the params file's value; overrides are part of the store key."),
    )
