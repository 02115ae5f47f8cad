"""What an asset's materialization shows in the Dagster UI, built from a stage's outcome.

A stage writes plain metadata (``topic_pipeline`` imports no Dagster); the suffix of a key says
how the UI should show it:

- ``<name>_md``: markdown, shown as ``<name>``;
- ``<name>_image``: a PNG file in the output folder, shown inline as markdown (the picture as a
  ``data:`` URL, which Dagster's UI draws, and the file's full path under it);
- ``<name>_file``: a file in the output folder, shown as its full path (a path the UI can copy);
- ``rows``: Dagster's row count.

Anything else is shown as a rounded number, a timestamp to the second, text or JSON; an empty
value (None, "", NaN) is left out rather than shown as "null".
"""

from __future__ import annotations

import base64
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from topic_pipeline.pipeline.outputs import is_empty, round_number
from topic_pipeline.pipeline.runner import StageOutcome
from topic_pipeline.pipeline.stages import STAGES, Stage

MAX_INLINE_IMAGE_BYTES = 200_000  # the picture goes into the event log with every materialization


def used_params(stage: Stage | None, params: dict[str, Any]) -> dict[str, Any]:
    """The params a stage reads, as shown: its section's ``section_fields`` (when it declares them) and extra
    sections, options left unset (None) left out so the UI does not list a column of nulls."""
    fields = getattr(stage, "section_fields", None) if stage is not None else None
    keep = None if fields is None else set(fields) | set(stage.extra_sections)
    return {name: _without_unset(value) for name, value in params.items()
            if (keep is None or name in keep) and value is not None}


def _without_unset(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_unset(item) for key, item in value.items() if item is not None}
    return value


def image_markdown(path: Path, title: str) -> str:
    """Markdown showing the PNG at ``path`` inline, then its full path (or why it is not shown)."""
    try:
        data = path.read_bytes()
    except OSError:
        return f"(picture not found: `{path}`)"
    if len(data) > MAX_INLINE_IMAGE_BYTES:
        return f"(picture of {len(data) // 1000} kB not shown inline: `{path}`)"
    encoded = base64.b64encode(data).decode("ascii")
    return f"![{title}](data:image/png;base64,{encoded})\n\n`{path}`"


def metadata_value(value: Any) -> Any:
    """``value`` as Dagster metadata: numbers rounded, timestamps to the second, containers as JSON."""
    if isinstance(value, dg.MetadataValue):
        return value
    if isinstance(value, bool | np.bool_):
        return dg.MetadataValue.bool(bool(value))
    if isinstance(value, int | np.integer):
        return dg.MetadataValue.int(int(value))
    if isinstance(value, float | np.floating):
        number = round_number(float(value))
        return dg.MetadataValue.float(float(number)) if math.isfinite(number) else dg.MetadataValue.text(str(number))
    if isinstance(value, pd.Timestamp | datetime):
        return dg.MetadataValue.text(pd.Timestamp(value).isoformat(timespec="seconds"))
    if isinstance(value, dict | list | tuple):
        return dg.MetadataValue.json(_plain(value))
    return dg.MetadataValue.text(str(value))


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars as Python, floats rounded, timestamps as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round_number(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).isoformat(timespec="seconds")
    return value


def outcome_metadata(outcome: StageOutcome) -> dict[str, Any]:
    """Materialization metadata: counts, key, params used, reuse flag, previews, pictures."""
    folder = outcome.output_dir.resolve()
    metadata: dict[str, Any] = {
        "store_key": outcome.key,
        "computed": outcome.computed,
        "seconds": dg.MetadataValue.float(round(outcome.seconds, 3)),
        "params_used": dg.MetadataValue.json(used_params(STAGES.get(outcome.stage), outcome.params)),
        "path": dg.MetadataValue.path(str(folder)),
    }
    for name, value in outcome.metadata.items():
        if is_empty(value):
            continue
        if name.endswith("_md"):
            metadata[name.removesuffix("_md")] = dg.MetadataValue.md(str(value))
        elif name.endswith("_image"):
            title = name.removesuffix("_image").replace("_", " ")
            metadata[name] = dg.MetadataValue.md(image_markdown(folder / str(value), title))
        elif name.endswith("_file"):
            metadata[name] = dg.MetadataValue.path(str(folder / str(value)))
        elif name == "rows":
            metadata["dagster/row_count"] = dg.MetadataValue.int(int(value))
        else:
            metadata[name] = metadata_value(value)
    return metadata


def range_metadata(outcomes: list[StageOutcome], keys: list[str]) -> dict[str, Any]:
    """Metadata of one run over many partitions: totals and a table of what each partition did."""
    rows = [f"| {key} | {'computed' if o.computed else 'reused'} | {o.metadata.get('rows', '')} | {o.key} |"
            for key, o in zip(keys, outcomes, strict=True)]
    table = "\n".join(["| partition | state | rows | key |", "|---|---|---|---|", *rows[:200]])
    return {
        "partitions": len(outcomes),
        "computed": sum(o.computed for o in outcomes),
        "dagster/row_count": dg.MetadataValue.int(sum(int(o.metadata.get("rows") or 0) for o in outcomes)),
        "seconds": dg.MetadataValue.float(round(sum(o.seconds for o in outcomes), 3)),
        "partition_outcomes": dg.MetadataValue.md(table),
    }
