"""The last step: the DuckDB view definitions over this run's outputs.

The DuckDB file itself is built when the run is published (``runner``), so it
always shows the run the pointers name.
"""

from __future__ import annotations

from typing import Any

from topic_pipeline.pipeline import warehouse
from topic_pipeline.pipeline.stage_outputs import WarehouseOutput
from topic_pipeline.pipeline.stages.base import StepContext


def compute_warehouse(ctx: StepContext) -> dict[str, Any]:
    statements = warehouse.view_statements(ctx.store, ctx.inputs)
    WarehouseOutput(ctx.out).write(statements)
    return {"views": len(statements), "database": str(warehouse.database_path(ctx.store))}
