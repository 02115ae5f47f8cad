"""Which classes a params file or a Dagster run config may name: an allow-list, checked before any import.

Importing a module runs its code, and calling what a path names runs more
(``class_path: os.system`` would run a shell command from the launchpad). So
``estimator.class_path`` is checked as a string first: its top-level package
must be one of the estimator libraries below, a module listed in the params
file's ``trust.trusted_modules`` (which run config cannot change), or the
exact path of a class registered in code with ``register_estimator``. Only
then is it imported, and the object it names must be a class.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from topic_pipeline.errors import ParamsError

ESTIMATOR_LIBRARIES: tuple[str, ...] = ("sklearn", "umap", "hdbscan", "fast_hdbscan", "cuml")
# constructor arguments that make an estimator read or write files of its own (joblib caches unpickle what they find)
FILE_ARGUMENTS: frozenset[str] = frozenset({"memory", "cache_dir", "cachedir", "location"})

_REGISTERED: set[str] = set()


def register_estimator(cls: type) -> type:
    """Allow ``cls`` by its import path in params and run config; usable as a class decorator.

    Registering is code, so it is trusted; what a params file names is not.
    """
    if not inspect.isclass(cls):
        raise TypeError(f"register_estimator takes a class, got {type(cls).__name__}.")
    _REGISTERED.add(f"{cls.__module__}.{cls.__qualname__}")
    return cls


def registered_estimators() -> frozenset[str]:
    return frozenset(_REGISTERED)


def _allowed_roots(trusted_modules: Iterable[str]) -> tuple[str, ...]:
    return (*ESTIMATOR_LIBRARIES, *trusted_modules)


def _within(path: str, module: str) -> bool:
    return path == module or path.startswith(module + ".")


def check_class_path(class_path: str, trusted_modules: Iterable[str] = (), *, where: str = "estimator.class_path"
                     ) -> None:
    """Refuse ``class_path`` unless the allow-list admits it (nothing is imported here).

    Raises
    ------
    ParamsError
        The path leaves the allow-list or names a private attribute.
    """
    trusted = tuple(trusted_modules)
    if any(part.startswith("_") for part in class_path.split(".")):
        raise ParamsError(f"{where}: '{class_path}' names a private attribute; give the public path of a class.")
    if class_path in _REGISTERED or any(_within(class_path, root) for root in _allowed_roots(trusted)):
        return
    raise ParamsError(
        f"{where}: '{class_path}' is not an allowed estimator class. class_path may name classes of "
        f"{', '.join(ESTIMATOR_LIBRARIES)}, classes registered in code with topic_pipeline.register_estimator, "
        "or of modules listed in trust.trusted_modules of the params file (run configuration cannot add any)."
    )


def check_arguments(class_path: str, arguments: dict[str, object], *, where: str = "estimator.params") -> None:
    """Refuse constructor arguments that point an estimator at files (a cache it would later unpickle)."""
    named = sorted(name for name, value in arguments.items() if name in FILE_ARGUMENTS and value is not None)
    if named:
        raise ParamsError(f"{where}: '{named[0]}' of {class_path} makes it read and write files of its own; "
                          "it is not allowed from params or run config.")


def check_imported(class_path: str, obj: object, trusted_modules: Iterable[str] = ()) -> type:
    """After import: the object must be a class defined inside an allowed package (not a re-exported function)."""
    if not inspect.isclass(obj):
        raise ParamsError(f"estimator.class_path: '{class_path}' is a {type(obj).__name__}, not a class.")
    defined_in = getattr(obj, "__module__", "") or ""
    roots = _allowed_roots(tuple(trusted_modules))
    if class_path not in _REGISTERED and not any(_within(defined_in, root) for root in roots):
        raise ParamsError(f"estimator.class_path: '{class_path}' is defined in {defined_in!r}, outside the allowed "
                          "packages.")
    return obj
