"""Python objects given as ``representation_model`` become settings, so they key the cache like any setting.

``representation_specs`` walks what ``TopicModel(representation_model=...)`` takes (one model, a chain,
a dict of aspects) and replaces each object:

- our settings classes, dicts and names stay as they are;
- BERTopic's own ``KeyBERTInspired`` and ``MaximalMarginalRelevance`` (exactly those classes) become ours
  with the same arguments, read from their attributes, and so give BERTopic's words. BERTopic samples
  representative documents with seed 42 whatever its ``random_state`` says; so do the converted ones;
- an object with ``represent`` (a ``RepresentationModel``) becomes ``{class_path, params}``: its settings
  (pydantic fields, dataclass init fields or ``get_params()``) must be JSON-like and rebuild it, and its
  class is registered in this process (code is trusted, a params file is not);
- any other object with BERTopic's ``extract_topics`` becomes ``{in_process, settings}``: ``settings``
  describes its ``vars()`` for the cache key, and this process holds a copy of the object under that key.
  It cannot be rebuilt elsewhere, so it runs only where ``TopicModel`` was given it (fit, update_topics).

An object whose settings cannot be described raises a ParamsError naming the setting.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np

from topic_pipeline.errors import ParamsError, RepresentationError
from topic_pipeline.params import fingerprint
from topic_pipeline.params.representation import (
    SPEC_CLASSES,
    ClassPathRepresentation,
    InProcessRepresentation,
    RepresentationSpec,
    class_path_of,
    is_spec_mapping,
    parse_chain,
    register_representation,
)

_PLAIN = (type(None), bool, int, float, str)
# BERTopic classes that are ours under the same name: the attributes read from their objects
_BERTOPIC_EQUIVALENTS = {
    "KeyBERTInspired": ("top_n_words", "nr_repr_docs", "nr_samples", "nr_candidate_words"),
    "MaximalMarginalRelevance": ("diversity", "top_n_words"),
}
_HELD: dict[str, Any] = {}


def representation_specs(value: Any) -> Any:
    """``value`` (None, a model, a list, or a dict of aspects) with every object replaced by settings.

    Raises
    ------
    ParamsError
        An object whose settings cannot be read, are not JSON-like, or do not rebuild it.
    """
    if isinstance(value, Mapping) and not is_spec_mapping(value):
        return {name: _chain_specs(chain) for name, chain in value.items()}
    return _chain_specs(value)


def _chain_specs(chain: Any) -> Any:
    if isinstance(chain, (list, tuple)):
        return [as_spec(item) for item in chain]
    return None if chain is None else as_spec(chain)


def as_spec(item: Any) -> Any:
    """One model as settings; what is not an object we know is returned for the parser to judge."""
    if isinstance(item, (str, Mapping, *SPEC_CLASSES)) or inspect.isclass(item):  # a class, not an object: refused
        return item
    converted = bertopic_equivalent(item)
    if converted is not None:
        return converted
    if callable(getattr(item, "represent", None)):
        return class_path_spec(item)
    if callable(getattr(item, "extract_topics", None)):
        return hold(item)
    return item


def bertopic_equivalent(item: Any) -> RepresentationSpec | None:
    """Our settings for a BERTopic ``KeyBERTInspired`` or ``MaximalMarginalRelevance`` (not a subclass)."""
    cls = type(item)
    if not cls.__module__.startswith("bertopic.") or cls.__name__ not in _BERTOPIC_EQUIVALENTS:
        return None
    import bertopic.representation

    if cls is not getattr(bertopic.representation, cls.__name__, None):
        return None
    settings = {"type": cls.__name__} | {name: getattr(item, name) for name in _BERTOPIC_EQUIVALENTS[cls.__name__]}
    return parse_chain(settings, f"representation_model (BERTopic's {cls.__name__})")[0]


def class_path_spec(item: Any) -> ClassPathRepresentation:
    """``{class_path, params}`` of a ``RepresentationModel`` object, checked to rebuild an equal one."""
    cls = type(item)
    path = class_path_of(cls)
    params = constructor_settings(item, path)
    try:
        rebuilt = cls(**params)
    except Exception as exc:
        raise ParamsError(f"representation_model {path}: {cls.__name__}(**{params}) fails ({type(exc).__name__}: "
                          f"{exc}); its settings must be its constructor arguments.") from exc
    if constructor_settings(rebuilt, path) != params:
        raise ParamsError(f"representation_model {path}: {cls.__name__}(**{params}) has other settings than the "
                          "object given; its settings must be its constructor arguments, stored unchanged.")
    register_representation(cls)
    return ClassPathRepresentation(class_path=path, params=params)


def constructor_settings(item: Any, path: str) -> dict[str, Any]:
    """The JSON-like constructor arguments of a model: pydantic fields, dataclass fields or get_params()."""
    from pydantic import BaseModel

    if isinstance(item, BaseModel):
        raw = item.model_dump(mode="json")
    elif dataclasses.is_dataclass(item):
        raw = {f.name: getattr(item, f.name) for f in dataclasses.fields(item) if f.init}
    elif callable(getattr(item, "get_params", None)):
        try:
            raw = item.get_params(deep=False)
        except TypeError:
            raw = item.get_params()
    else:
        raise ParamsError(f"representation_model {path} has no settings to key the cache and rebuild it with: make "
                          "it a dataclass or a pydantic model, or give it get_params() returning its constructor "
                          "arguments.")
    if not isinstance(raw, Mapping):
        raise ParamsError(f"representation_model {path}: its settings are a {type(raw).__name__}, not a dict.")
    return {str(name): _json_like(value, f"{path}.{name}") for name, value in raw.items()}


def _json_like(value: Any, where: str) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_like(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _json_like(v, f"{where}.{k}") for k, v in value.items()}
    raise ParamsError(f"representation_model: the setting {where} is a {type(value).__module__}."
                      f"{type(value).__qualname__}; settings must be numbers, strings, booleans, None, lists or "
                      "dicts, since with the class path they key the cache and rebuild the model.")


def hold(item: Any) -> InProcessRepresentation:
    """``{in_process, settings}`` of a BERTopic representation object, held by this process under that key."""
    path = class_path_of(type(item))
    try:
        attributes = vars(item)
    except TypeError:
        raise ParamsError(f"representation_model {path} has no attributes (vars()) to key the cache with.") from None
    settings = {name: describe(value, f"{path}.{name}") for name, value in sorted(attributes.items())}
    spec = InProcessRepresentation(in_process=path, settings=settings)
    _HELD[held_key(spec)] = copy.deepcopy(item)  # later changes to the caller's object are a new key
    return spec


def describe(value: Any, where: str) -> Any:
    """A JSON description of an attribute that changes whenever the attribute does, for the cache key."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple)):
        return [describe(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return sorted((describe(v, where) for v in value), key=repr)
    if isinstance(value, Mapping) and all(isinstance(k, _PLAIN) for k in value):
        return [[describe(k, where), describe(v, f"{where}[{k!r}]")] for k, v in value.items()]
    if isinstance(value, np.ndarray) and value.dtype != object:
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]
        return {"ndarray": digest, "shape": list(value.shape), "dtype": str(value.dtype)}
    if (inspect.isfunction(value) or inspect.isclass(value)) and "<" not in value.__qualname__:
        return {"object": class_path_of(value)}
    if callable(getattr(value, "model_dump", None)):
        return {"class": class_path_of(type(value)), "settings": describe(value.model_dump(mode="json"), where)}
    if callable(getattr(value, "get_params", None)) and not inspect.isclass(value):
        return {"class": class_path_of(type(value)), "params": describe(value.get_params(deep=False), where)}
    hint = (" Use topic_pipeline's PartOfSpeech(model_name) instead." if type(value).__module__.startswith("spacy")
            else "")
    raise ParamsError(f"representation_model: the attribute {where} is a {type(value).__module__}."
                      f"{type(value).__qualname__}, which cannot key the cache (attributes must be numbers, strings, "
                      f"lists, dicts, arrays or scikit-learn-style objects).{hint}")


def held_key(spec: InProcessRepresentation) -> str:
    return fingerprint(spec.model_dump(mode="json"))


def held_model(spec: InProcessRepresentation) -> Any:
    """The object this process holds for ``spec``.

    Raises
    ------
    StageInputError
        Another process was given the object (a Dagster run, a model loaded from disk).
    """
    held = _HELD.get(held_key(spec))
    if held is None:
        raise RepresentationError(
            f"Representation model {spec.in_process} was given to TopicModel as an object in another process; "
            "BERTopic representation objects run only in the process that holds them. In params, name a class "
            "by class_path + params instead.")
    return held
