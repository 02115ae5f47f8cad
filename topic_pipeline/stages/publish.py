"""The last step: DuckDB views over the current outputs."""

from __future__ import annotations

from typing import Any

from topic_pipeline import warehouse
from topic_pipeline.stages.base import StepContext


def compute_warehouse(ctx: StepContext) -> dict[str, Any]:
    statements = warehouse.view_statements(ctx.store, ctx.inputs)
    (ctx.out / "views.sql").write_text(";\n".join(statements) + ";\n")
    warehouse.build_database(ctx.store, statements)
    return {"views": len(statements), "database": str(warehouse.database_path(ctx.store))}


def reuse_warehouse(ctx: StepContext) -> None:
    statements = [s for s in (ctx.out / "views.sql").read_text().split(";\n") if s.strip()]
    warehouse.build_database(ctx.store, statements)
