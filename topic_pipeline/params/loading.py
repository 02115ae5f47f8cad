"""Reading ``params.yaml`` and fingerprinting params for cache keys and code versions."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from topic_pipeline.errors import ParamsError
from topic_pipeline.params.sections import (
    SECTION_NAMES,
    ParamsSection,
    PipelineParams,
    check_estimators,
    unknown_key_message,
    validate_section,
)

PARAMS_ENV = "TOPIC_PIPELINE_PARAMS"
DEFAULT_PARAMS_FILE = "params.yaml"


def params_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The params file to use: ``path``, else ``$TOPIC_PIPELINE_PARAMS``, else ``./params.yaml``."""
    return Path(path or os.environ.get(PARAMS_ENV) or DEFAULT_PARAMS_FILE)


def load_params(path: str | os.PathLike[str] | None = None) -> PipelineParams:
    """Read and validate a params file; a missing default file means all defaults.

    Raises
    ------
    ParamsError
        The file is unreadable, not a mapping, or has unknown keys or bad values.
    """
    file = params_path(path)
    if not file.exists():
        if path is None and PARAMS_ENV not in os.environ:
            return PipelineParams()
        raise ParamsError(f"Params file {file} does not exist.")
    try:
        raw = yaml.safe_load(file.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParamsError(f"Params file {file} cannot be read: {first}") from exc
    return parse_params(raw, origin=str(file))


def parse_params(raw: Any, *, origin: str = "params") -> PipelineParams:
    """Validate a mapping of sections into ``PipelineParams`` with actionable messages."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{origin}: expected a mapping of sections, got {type(raw).__name__}.")
    unknown = [key for key in raw if key not in SECTION_NAMES]
    if unknown:
        raise ParamsError(unknown_key_message(origin, "", unknown[0], SECTION_NAMES))
    sections = {name: validate_section(name, raw[name] or {}, origin=origin) for name in raw}
    params = PipelineParams(**sections)
    check_estimators(params, origin=origin)
    return params


def fingerprint(value: Any) -> str:
    """A short stable hash of JSON-able data (params, keys) for cache keys and code versions."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def section_fingerprint(section: ParamsSection) -> str:
    """Fingerprint of a section's resolved values."""
    return fingerprint(section.model_dump(mode="json"))
