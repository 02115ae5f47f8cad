"""Settings of the representation models: the built-in ones (as in BERTopic 0.17.4) and any class by path.

Each built-in model is a frozen pydantic class with BERTopic's name and defaults, so one object is a
user-facing constructor, a validated ``params.yaml`` entry (``{type: MaximalMarginalRelevance, diversity: 0.3}``)
and a cache key. Two more entries name code outside this package:

- ``{class_path: pkg.module.Class, params: {...}}``: a class implementing
  ``topic_pipeline.representation.base.RepresentationModel`` (or BERTopic's ``BaseRepresentation``), built
  as ``Class(**params)`` inside the stage. The path must pass the allow-list (``trust``) before anything
  imports it: a module in the params file's ``trust.trusted_modules``, or a class registered in code with
  ``register_representation`` (``TopicModel`` registers the class of an object it is given).
- ``{in_process: pkg.module.Class, settings: {...}}``: a BERTopic representation object given to
  ``TopicModel``, held by the process that fitted (never imported, never unpickled); ``settings``
  describes its attributes for the cache key.

What the models compute lives in ``topic_pipeline.representation``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from copy import deepcopy
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from topic_pipeline.errors import ParamsError
from topic_pipeline.params.trust import check_class_path

MAIN_ASPECT = "Main"
POS_MISSING_WORD = ("", 0.0)  # BERTopic's PartOfSpeech pads with weight 0, not 1e-05
DEFAULT_POS_PATTERNS = [[{"POS": "ADJ"}, {"POS": "NOUN"}], [{"POS": "NOUN"}], [{"POS": "ADJ"}]]
CLASS_PATH_KEYS = ("class_path", "in_process")  # keys that name a class instead of a built-in 'type'
_DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


class _Representation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyBERTInspired(_Representation):
    """Re-rank c-TF-IDF words by cosine to the mean embedding of representative documents.

    Representative documents: per topic, ``nr_samples`` documents drawn with replacement, ranked by
    c-TF-IDF cosine to the topic; the best ``nr_repr_docs`` are averaged. Weights become the cosines.
    """

    type: Literal["KeyBERTInspired"] = "KeyBERTInspired"
    top_n_words: int = Field(default=10, ge=1)
    nr_repr_docs: int = Field(default=5, ge=1)
    nr_samples: int = Field(default=500, ge=1)
    nr_candidate_words: int = Field(default=100, ge=1)
    random_state: int = 42


class MaximalMarginalRelevance(_Representation):
    """Keep ``top_n_words`` words that are relevant to the topic but not to each other.

    ``diversity`` 0 keeps the words closest to the embedding of all words joined; 1 favours words unlike
    those already chosen. The kept words keep their incoming order and weights (BERTopic's behaviour).
    """

    type: Literal["MaximalMarginalRelevance"] = "MaximalMarginalRelevance"
    diversity: float = Field(default=0.1, ge=0.0, le=1.0)
    top_n_words: int = Field(default=10, ge=1)


class PartOfSpeech(_Representation):
    """Keep words and phrases that match spaCy part-of-speech patterns, ranked by c-TF-IDF.

    ``model`` is a spaCy pipeline name or folder, positional as in BERTopic (which also takes a loaded
    ``Language``; a setting must be serialisable, so we take the name).
    """

    type: Literal["PartOfSpeech"] = "PartOfSpeech"
    model: str = "en_core_web_sm"
    top_n_words: int = Field(default=10, ge=1)
    pos_patterns: list[list[dict[str, Any]]] = Field(default_factory=lambda: deepcopy(DEFAULT_POS_PATTERNS),
                                                     min_length=1)

    def __init__(self, model: str = "en_core_web_sm", **data: Any) -> None:
        super().__init__(model=model, **data)


class ClassPathRepresentation(_Representation):
    """A representation model named by import path, built as ``class_path(**params)`` in the stage.

    ``params`` must be JSON-like (numbers, strings, booleans, None, lists, dicts): with the path it is the
    cache key, and the stage (possibly another process) rebuilds the model from it.
    """

    class_path: str = Field(min_length=3)
    params: dict[str, Any] = Field(default_factory=dict)


class InProcessRepresentation(_Representation):
    """A BERTopic representation object held by the process that was given it (``TopicModel``).

    ``in_process`` is its class's path, ``settings`` a JSON description of its attributes: together the
    cache key, and the key under which the process holds the object. Nothing is imported or rebuilt.
    """

    in_process: str = Field(min_length=1)
    settings: dict[str, Any] = Field(default_factory=dict)


_MODEL_CLASSES = (KeyBERTInspired, MaximalMarginalRelevance, PartOfSpeech)
SPEC_CLASSES = (*_MODEL_CLASSES, ClassPathRepresentation, InProcessRepresentation)
REPRESENTATION_TYPES: tuple[str, ...] = tuple(get_args(c.model_fields["type"].annotation)[0] for c in _MODEL_CLASSES)
BuiltinSpec = Annotated[KeyBERTInspired | MaximalMarginalRelevance | PartOfSpeech, Field(discriminator="type")]
RepresentationSpec = KeyBERTInspired | MaximalMarginalRelevance | PartOfSpeech | ClassPathRepresentation \
    | InProcessRepresentation
_SPEC_ADAPTER: TypeAdapter[Any] = TypeAdapter(BuiltinSpec)

_REGISTERED: dict[str, type] = {}


def class_path_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_representation(cls: type) -> type:
    """Allow ``cls`` by its path in ``representation.aspects`` in this process; usable as a class decorator.

    Registering is code, so it is trusted. A registered class is found by its path without an import, so
    classes of ``__main__`` or defined in a function work too (in this process only).
    """
    if not inspect.isclass(cls):
        raise TypeError(f"register_representation takes a class, got {type(cls).__name__}.")
    _REGISTERED[class_path_of(cls)] = cls
    return cls


def registered_representation(class_path: str) -> type | None:
    """The class registered under ``class_path`` in this process, or None."""
    return _REGISTERED.get(class_path)


def check_representation_class(class_path: str, trusted_modules: Iterable[str] = (), *,
                               where: str = "representation class_path") -> None:
    """Refuse ``class_path`` unless registered or admitted by the allow-list (nothing is imported here).

    Raises
    ------
    ParamsError
        The path is not a dotted name, names a private attribute, or leaves the allow-list.
    """
    if class_path in _REGISTERED:
        return
    if not _DOTTED_PATH.fullmatch(class_path):
        raise ParamsError(f"{where}: '{class_path}' is not a dotted import path (package.module.Class).")
    check_class_path(class_path, trusted_modules, where=where)


def check_representation_classes(aspects: Any, trusted_modules: Iterable[str] = (), *, origin: str = "params"
                                 ) -> None:
    """Every ``class_path`` in ``representation.aspects`` must pass the allow-list (run by ``parse_params``)."""
    trusted = tuple(trusted_modules)
    for name, chain in parse_representation(aspects).items():
        for i, spec in enumerate(chain):
            if isinstance(spec, ClassPathRepresentation):
                check_representation_class(spec.class_path, trusted,
                                           where=f"{origin}: representation.aspects[{name!r}][{i}].class_path")


def is_spec_mapping(value: Any) -> bool:
    """A mapping that is one model (a ``type`` or a class path key), not a dict of aspects."""
    return isinstance(value, Mapping) and (isinstance(value.get("type"), str)
                                           or any(isinstance(value.get(key), str) for key in CLASS_PATH_KEYS))


def parse_representation(value: Any) -> dict[str, list[RepresentationSpec]]:
    """Normalise what BERTopic accepts as ``representation_model`` to named chains.

    Parameters
    ----------
    value : None, a model, a list of models, or a dict name -> model | list | None
        Models: our classes, dicts with a ``type`` key (as YAML gives them), bare type names, or dicts with
        a ``class_path`` (and ``params``). One model or a list is the ``Main`` chain.

    Returns
    -------
    dict of str to list of RepresentationSpec
        Aspect name -> chain, applied in order. An empty chain means the plain
        c-TF-IDF words; a ``Main`` entry replaces the main representation.

    Raises
    ------
    ParamsError
        An unknown ``type``, an unknown or invalid setting, or a value of the wrong kind.
    """
    if value is None:
        return {}
    if isinstance(value, Mapping) and not is_spec_mapping(value):
        return {str(name): parse_chain(chain, f"representation[{name!r}]") for name, chain in value.items()}
    return {MAIN_ASPECT: parse_chain(value, "representation")}


def parse_chain(value: Any, where: str) -> list[RepresentationSpec]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        return [_parse_one(value, where)]
    return [_parse_one(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _parse_one(item: Any, where: str) -> RepresentationSpec:
    if isinstance(item, SPEC_CLASSES):
        return item
    item = {"type": item} if isinstance(item, str) else item  # a bare name in YAML: the defaults
    if not isinstance(item, Mapping):
        raise ParamsError(f"{where}: expected a representation model ({', '.join(REPRESENTATION_TYPES)}) from "
                          f"topic_pipeline, a dict with a 'type' or 'class_path' key, or a list of them; got "
                          f"{type(item).__module__}.{type(item).__qualname__} (objects of other classes: give them "
                          "to TopicModel(representation_model=...), which converts them).")
    if "class_path" in item or "in_process" in item:
        return _validated(ClassPathRepresentation if "class_path" in item else InProcessRepresentation, item, where)
    kind = item.get("type")
    if kind not in REPRESENTATION_TYPES:
        got = "no 'type' key (nor 'class_path')" if kind is None else f"unknown representation type {kind!r}"
        raise ParamsError(f"{where}: {got}; expected one of {', '.join(REPRESENTATION_TYPES)}, or a class_path. "
                          "Write e.g. {type: MaximalMarginalRelevance, diversity: 0.3} or "
                          "{class_path: my_package.MyModel, params: {...}}.")
    return _validated(_SPEC_ADAPTER, item, where)


def _validated(model: Any, item: Mapping, where: str) -> RepresentationSpec:
    kind = item.get("type") or item.get("class_path") or item.get("in_process")
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(dict(item))
        return model(**item)
    except ValidationError as exc:
        skip = 1 if isinstance(model, TypeAdapter) else 0  # the adapter's first loc is the type tag
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][skip:]) or 'value'}: {e['msg']}"
                             for e in exc.errors())
        raise ParamsError(f"{where} ({kind}): {problems}. Fix or remove these settings.") from exc
