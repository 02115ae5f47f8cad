"""RAPIDS cuML's estimators for ``reduction.backend: cuml`` and ``clustering.backend: cuml`` (NVIDIA GPUs).

cuML's UMAP, PCA, HDBSCAN and KMeans take the same settings as the CPU
libraries and accept NumPy arrays, so the stages use them unchanged. Their
results are close to, not equal to, umap-learn's and hdbscan's (other
floating-point order, another nearest-neighbour search), which is why the
backend is part of the stage key whenever it is not ``cpu``.
"""

from __future__ import annotations

import importlib
from typing import Any

from topic_pipeline.errors import ParamsError


def cuml_class(module: str, name: str, setting: str) -> Any:
    """``cuml.<module>.<name>``, or one clear error naming the package and the setting that asked for it."""
    try:
        return getattr(importlib.import_module(f"cuml.{module}"), name)
    except Exception as exc:  # ImportError, or a CUDA runtime error raised while cuML loads
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParamsError(
            f"{setting}: cuml needs RAPIDS cuML on a machine with an NVIDIA GPU (pip install cuml-cu12); "
            f"it cannot be imported here ({reason}). Set {setting}: cpu to run on the CPU."
        ) from None


def cuml_umap(settings: dict[str, Any]) -> Any:
    """cuML's UMAP with umap-learn's settings (``low_memory`` has no cuML counterpart and is dropped)."""
    settings = {key: value for key, value in settings.items() if key != "low_memory"}
    return cuml_class("manifold", "UMAP", "reduction.backend")(**settings)


def is_cuml(model: object) -> bool:
    return type(model).__module__.startswith("cuml")
