"""Pluggable reducers and clusterers: built from an import path, or given as objects.

A params file names an estimator by import path (``class_path`` + ``params``);
``TopicModel`` users pass objects, as in BERTopic (``umap_model=PCA(5)``).
Either way the stage fits a fresh clone, so the caller's object is never
changed, and the store key includes a content hash of the unfitted object, so
a different estimator is a different cached output.
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

from topic_pipeline.errors import EstimatorError, ParamsError
from topic_pipeline.params import EstimatorSpec
from topic_pipeline.params.trust import check_arguments, check_imported


def build_estimator(spec: EstimatorSpec) -> Any:
    """Instantiate ``spec.class_path(**spec.params)``.

    The path passed the allow-list when the params were validated
    (``topic_pipeline.params.trust``); here the imported object must also be a class
    defined in that package.

    Raises
    ------
    ParamsError
        The module or class cannot be imported, is not a class, or the parameters are refused.
    """
    module_name, _, class_name = spec.class_path.rpartition(".")
    check_arguments(spec.class_path, spec.params)
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ParamsError(
            f"Estimator class '{spec.class_path}' cannot be imported ({exc}); install its package or fix class_path."
        ) from exc
    check_imported(spec.class_path, cls, trusted_modules=(module_name.split(".")[0],))
    try:
        return cls(**spec.params)
    except TypeError as exc:
        raise ParamsError(f"Estimator '{spec.class_path}' refused its params {spec.params}: {exc}") from exc


def fresh_copy(estimator: Any) -> Any:
    """An unfitted copy (``sklearn.base.clone`` when possible, else a deep copy)."""
    try:
        from sklearn.base import clone

        return clone(estimator)
    except Exception:
        return copy.deepcopy(estimator)


def estimator_fingerprint(estimator: Any) -> str:
    """Content hash of an estimator object (class and parameters), for the store key."""
    import joblib

    try:
        return f"{type(estimator).__module__}.{type(estimator).__qualname__}:{joblib.hash(estimator)}"
    except Exception as exc:
        raise EstimatorError(
            f"The estimator {type(estimator).__name__} cannot be hashed for the cache ({exc}); "
            "give it picklable parameters."
        ) from exc


def check_has(estimator: Any, role: str, methods: tuple[str, ...]) -> None:
    """Refuse an object that lacks the methods a stage calls, naming them."""
    missing = [name for name in methods if not hasattr(estimator, name)]
    if missing:
        raise EstimatorError(
            f"The {role} {type(estimator).__name__} has no {', '.join(missing)}; "
            f"a {role} needs {', '.join(methods)}."
        )
