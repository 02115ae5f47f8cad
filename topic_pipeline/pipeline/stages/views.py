"""Steps that make the results visible: the 2-D document map and the HTML report.

The map is its own stage so that the UMAP a documents figure needs runs once
per embeddings (BERTopic runs it on every ``visualize_documents`` call) and a
clustering change does not recompute it; the report reads only stored outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline.pipeline import report
from topic_pipeline.pipeline.stage_outputs import DocumentMapOutput, ReportOutput
from topic_pipeline.pipeline.stages.base import StepContext

REPORT_INPUTS = report.REPORT_INPUTS
MIN_MAP_DOCUMENTS = 4  # UMAP needs a few neighbours; fewer documents get no map


def compute_document_map(ctx: StepContext) -> dict[str, Any]:
    settings = ctx.params.document_map
    doc_ids = ctx.documents(["doc_id"])["doc_id"]
    out = DocumentMapOutput(ctx.out)
    if not settings.enabled or len(doc_ids) < MIN_MAP_DOCUMENTS:
        reason = "document_map.enabled is false" if not settings.enabled else f"only {len(doc_ids)} documents"
        ctx.log.info("document_map: no map (%s)", reason)
        out.write(pd.DataFrame({"doc_id": pd.Series([], dtype=doc_ids.dtype), "x": np.zeros(0, dtype=np.float32),
                                "y": np.zeros(0, dtype=np.float32)}))
        return {"rows": 0, "note": f"No document map: {reason}."}
    from topic_pipeline.core.document_map import reduce_to_2d

    vectors = ctx.embedding_vectors()
    coordinates = reduce_to_2d(vectors, n_neighbors=min(settings.n_neighbors, len(doc_ids) - 1),
                               min_dist=settings.min_dist, metric=settings.metric,
                               random_state=settings.random_state)
    table = pd.DataFrame({"doc_id": doc_ids.to_numpy(), "x": coordinates[:, 0].astype(np.float32),
                          "y": coordinates[:, 1].astype(np.float32)})
    out.write(table)  # its picture, coloured by topic, is the report's (topics are not an input here)
    return {"rows": len(table)}


def compute_report(ctx: StepContext) -> dict[str, Any]:
    settings = ctx.params.report
    if not settings.enabled:
        ctx.log.info("topic_report: report.enabled is false, no report written")
        return {"rows": 0, "note": "No report: report.enabled is false."}
    out = ReportOutput(ctx.out)
    built = report.build_report(ctx.inputs, ctx.params)
    out.write(built.html)
    pictures = report.write_pictures(built, ctx.out)
    return {
        "rows": built.topic_count,
        "figures": ", ".join(built.figure_titles),
        "notes_md": "\n".join(f"- {note}" for note in built.notes) if built.notes else None,
        "report_file": out.report_file.name,
        "size_kb": round(out.report_file.stat().st_size / 1024),
        **pictures,
    }
