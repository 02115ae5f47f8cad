"""Make UMAP's and pynndescent's numba code load from numba's on-disk cache instead of compiling per process.

Half of a cold fit in a fresh process is numba compiling pynndescent's
nearest-neighbour descent and UMAP's layout code, and every new process (the
CLI, a Dagster step, a schedule's run) pays it again: most of those functions
are declared without ``cache=True``, and the two at the top of the call tree,
``nn_descent`` and ``nn_descent_internal``, cannot be cached even when asked,
because they call ``numba.get_num_threads()``, which numba lowers as a call
through a ctypes function pointer (a process-specific address, so numba
refuses to write them to disk).

``enable_compiled_cache`` does two things, once per process, before the first fit:

* turns on numba's file cache (``Dispatcher.enable_caching``) for the
  module-level jitted functions of umap and pynndescent that do not have it;
* rebuilds those two functions from their own bytecode with one change: the
  thread count is read through :func:`_thread_count`, an intrinsic that calls
  numba's threading layer by its registered symbol name (as numba's own
  parallel loops do), which is cacheable; everything else, and so every
  result, is the library's code unchanged.

The cache lives where numba puts it (``__pycache__`` beside the library, or
``NUMBA_CACHE_DIR``) and is invalidated by numba when the library's source
changes. Set ``TOPIC_PIPELINE_COMPILED_CACHE=0`` to turn all of this off.
Should a future numba or pynndescent change the internals relied on here,
the functions are left as they are (slower, never different).
"""

from __future__ import annotations

import importlib
import logging
import os
import types

LOG = logging.getLogger(__name__)
DISABLE_ENV = "TOPIC_PIPELINE_COMPILED_CACHE"
_MODULES = (
    "pynndescent.distances", "pynndescent.utils", "pynndescent.rp_trees", "pynndescent.sparse",
    "pynndescent.graph_utils", "pynndescent.pynndescent_",
    "umap.distances", "umap.sparse", "umap.utils", "umap.layouts", "umap.spectral", "umap.umap_",
)
_REBUILT = ("nn_descent_internal", "nn_descent")  # callee first: the caller's globals point to the rebuilt callee
_state = {"done": False}


def enable_compiled_cache() -> bool:
    """Turn the cache on for umap/pynndescent in this process (idempotent); True when it is on."""
    if _state["done"]:
        return _state.get("on", False)
    _state["done"] = True
    if os.environ.get(DISABLE_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    try:
        modules = [importlib.import_module(name) for name in _MODULES if _importable(name)]
        for module in modules:
            _cache_module_functions(module)
        _rebuild_thread_count_callers(importlib.import_module("pynndescent.pynndescent_"))
    except Exception as exc:  # internals changed: keep the library's functions, compile as before
        LOG.debug("numba on-disk cache for umap/pynndescent not enabled: %s", exc)
        return False
    _state["on"] = True
    return True


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _cache_module_functions(module: types.ModuleType) -> None:
    from numba.core.registry import CPUDispatcher

    for value in list(vars(module).values()):
        if isinstance(value, CPUDispatcher) and type(value._cache).__name__ in ("NullCache", "FunctionCache"):
            _use_stable_cache(value)


def _use_stable_cache(dispatcher) -> None:
    dispatcher._cache = _stable_cache_class()(dispatcher.py_func)


def _rebuild_thread_count_callers(module: types.ModuleType) -> None:
    """Replace ``nn_descent`` and ``nn_descent_internal`` with cacheable copies of themselves."""
    import numba

    numba.get_num_threads()  # starts numba's threading layer, which registers the symbol the intrinsic calls
    shim = types.ModuleType("topic_pipeline_numba_threads")
    shim.get_num_threads = _thread_count_intrinsic()
    namespace = dict(vars(module))
    namespace["numba"] = shim
    for name in _REBUILT:
        original = getattr(module, name)
        py_func = original.py_func
        copy = types.FunctionType(py_func.__code__, namespace, py_func.__name__, py_func.__defaults__,
                                  py_func.__closure__)
        copy.__qualname__, copy.__module__ = py_func.__qualname__, py_func.__module__
        copy.__kwdefaults__ = py_func.__kwdefaults__
        rebuilt = numba.njit(**_options(original))(copy)
        _use_stable_cache(rebuilt)
        namespace[name] = rebuilt
        setattr(module, name, rebuilt)


def _options(dispatcher: object) -> dict:
    """The jit options the library declared (parallel, fastmath, ...), minus caching which we set."""
    options = dict(getattr(dispatcher, "targetoptions", {}))
    options.pop("cache", None)
    options.pop("nopython", None)
    return options


_CACHE_CLASS: list = []


def _stable_cache_class() -> type:
    """numba's file cache, keyed so that a jitted function passed as an argument finds its entry again.

    A function given as an argument (pynndescent passes its distance that way)
    is typed by the argument's dispatcher object, whose description holds a
    memory address: numba's own index key never matches in another process,
    so it compiles again and appends yet another entry. Here such an argument
    is described by its module, name and bytecode instead; a loaded entry gets
    this process's signature back, so that the dispatcher files it under the
    types it is called with.
    """
    if _CACHE_CLASS:
        return _CACHE_CLASS[0]
    import hashlib

    from numba.core import types as nb_types
    from numba.core.caching import FunctionCache
    from numba.core.typing import signature

    def stable(argument):
        if isinstance(argument, nb_types.Dispatcher):
            function = argument.dispatcher.py_func
            code = function.__code__
            digest = hashlib.sha256(code.co_code + repr(code.co_consts).encode()).hexdigest()
            return ("jitted function", function.__module__, function.__qualname__, digest)
        return argument

    class StableKeyCache(FunctionCache):
        def _index_key(self, sig, codegen):
            if isinstance(sig, tuple):
                sig = tuple(stable(argument) for argument in sig)
            return super()._index_key(sig, codegen)

        def _load_overload(self, sig, target_context):
            result = super()._load_overload(sig, target_context)
            if result is not None and isinstance(sig, tuple) and \
                    any(isinstance(argument, nb_types.Dispatcher) for argument in sig):
                result = result._replace(signature=signature(result.signature.return_type, *sig))
            return result

    _CACHE_CLASS.append(StableKeyCache)
    return StableKeyCache


def _thread_count_intrinsic():
    """``get_num_threads()`` for jitted code, called by symbol name so that numba can cache its caller."""
    from llvmlite import ir
    from numba import types as nb_types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def get_num_threads(typingctx):
        def codegen(context, builder, signature, args):
            function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                                      "get_num_threads")
            return builder.sext(builder.call(function, []), context.get_value_type(nb_types.intp))

        return nb_types.intp(), codegen

    return get_num_threads
