"""From settings to a runnable ``RepresentationModel``: one builder per kind of settings.

Built-in settings get their own implementation; ``{class_path, params}`` is imported (after the allow-list
admits the path, or found registered in this process) and built as ``Class(**params)``;
``{in_process, settings}`` is the object this process holds. Objects with BERTopic's ``extract_topics``
instead of ``represent`` run through ``BERTopicAdapter``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from topic_pipeline.errors import ParamsError
from topic_pipeline.params.representation import (
    ClassPathRepresentation,
    InProcessRepresentation,
    KeyBERTInspired,
    MaximalMarginalRelevance,
    PartOfSpeech,
    RepresentationSpec,
    check_representation_class,
    class_path_of,
    registered_representation,
)
from topic_pipeline.representation.base import RepresentationModel
from topic_pipeline.representation.bertopic_adapter import BERTopicAdapter
from topic_pipeline.representation.keybert import KeyBERTModel
from topic_pipeline.representation.mmr import MMRModel
from topic_pipeline.representation.objects import held_model
from topic_pipeline.representation.pos import PartOfSpeechModel


def spec_name(spec: RepresentationSpec) -> str:
    """How messages name the model of ``spec``."""
    return getattr(spec, "type", None) or getattr(spec, "class_path", None) or spec.in_process


def build_model(spec: RepresentationSpec, trusted_modules: Sequence[str] = ()) -> RepresentationModel:
    """The model ``spec`` describes.

    Raises
    ------
    ParamsError
        A class path outside the allow-list, that cannot be imported, names no class, refuses its params,
        or names a class with neither ``represent`` nor ``extract_topics``.
    StageInputError
        An in-process object that this process does not hold.
    """
    return _BUILDERS[type(spec)](spec, tuple(trusted_modules))


def _from_class_path(spec: ClassPathRepresentation, trusted_modules: tuple[str, ...]) -> RepresentationModel:
    cls = registered_representation(spec.class_path) or _import_class(spec.class_path, trusted_modules)
    try:
        model = cls(**spec.params)
    except TypeError as exc:
        raise ParamsError(f"Representation model '{spec.class_path}' refused its params {spec.params}: {exc}") from exc
    return as_model(model, spec.class_path)


def _import_class(class_path: str, trusted_modules: tuple[str, ...]) -> type:
    where = f"representation class_path '{class_path}'"
    check_representation_class(class_path, trusted_modules, where="representation class_path")
    module_name, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ParamsError(f"{where} cannot be imported ({exc}); install its package or fix the path.") from exc
    if not inspect.isclass(cls):
        raise ParamsError(f"{where} names a {type(cls).__name__}, not a class.")
    # a class re-exported by an allowed module must also be defined inside the allow-list
    check_representation_class(class_path_of(cls), trusted_modules, where=f"{where} (defined as)")
    return cls


def _held(spec: InProcessRepresentation, trusted_modules: tuple[str, ...]) -> RepresentationModel:
    return as_model(held_model(spec), spec.in_process)


def as_model(model: Any, name: str) -> RepresentationModel:
    """``model`` itself when it has ``represent``; BERTopic's ``extract_topics`` through the adapter."""
    if isinstance(model, RepresentationModel):
        return model
    if callable(getattr(model, "extract_topics", None)):
        return BERTopicAdapter(model, name)
    raise ParamsError(f"Representation model '{name}' has neither represent(inputs, words) "
                      "(topic_pipeline.representation.base.RepresentationModel) nor BERTopic's extract_topics.")


_BUILDERS: dict[type, Callable[[Any, tuple[str, ...]], RepresentationModel]] = {
    KeyBERTInspired: lambda spec, _: KeyBERTModel(spec),
    MaximalMarginalRelevance: lambda spec, _: MMRModel(spec),
    PartOfSpeech: lambda spec, _: PartOfSpeechModel(spec),
    ClassPathRepresentation: _from_class_path,
    InProcessRepresentation: _held,
}
