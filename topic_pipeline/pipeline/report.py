"""The HTML report from stored outputs: the ``topic_report`` stage and ``topic-pipeline report``.

Both read the same stage outputs (the stage its run's inputs, the command the
published ones) and call the same figure functions a ``TopicModel`` user calls,
so the report shows exactly what the notebook would, without refitting,
re-embedding or recomputing the 2-D map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from topic_pipeline.errors import StageInputError, StoreError
from topic_pipeline.params import PipelineParams
from topic_pipeline.pipeline import report_figures
from topic_pipeline.pipeline.stage_outputs import (
    AssignmentsOutput,
    CtfidfOutput,
    DocumentMapOutput,
    DocumentsOutput,
    EmbeddingsOutput,
    HierarchyOutput,
    OverTimeOutput,
    PerClassOutput,
    RepresentationsOutput,
    VectorizedBagsOutput,
)
from topic_pipeline.pipeline.store import StageStore
from topic_pipeline.plots import static_images
from topic_pipeline.plots.report_page import REPORT_SIGNATURE, report_page, write_report_page

REPORT_INPUTS = ("documents", "embeddings", "topic_assignments", "vectorized_bags", "ctfidf", "topic_representations",
                 "topic_hierarchy", "topics_over_time", "topics_per_class", "document_map")
REQUIRED_INPUTS = ("documents", "topic_assignments", "vectorized_bags", "ctfidf", "topic_representations")
TOPIC_COLUMNS = ["topic_id", "size", "name", "words", "representative_docs"]


@dataclass
class BuiltReport:
    """The page and what the Dagster metadata shows of it."""

    html: str
    topic_count: int
    figure_titles: list[str]
    notes: list[str]
    data: report_figures.ReportData = field(repr=False)


def read_report_data(inputs: dict[str, list[Path]]) -> report_figures.ReportData:
    """Everything the figures need, read from the stage output folders ``inputs`` (stage -> folders)."""
    def one(stage: str) -> Path | None:
        folders = inputs.get(stage) or []
        return folders[0] if folders else None

    docs = DocumentsOutput.read_partitions(inputs["documents"], ["doc_id", "text", "timestamp", "label"])
    assigned = AssignmentsOutput(one("topic_assignments")).read(["doc_id", "topic_id"])
    topics = assigned.set_index("doc_id")["topic_id"].reindex(docs["doc_id"])
    if topics.isna().any():
        raise StageInputError(f"{int(topics.isna().sum())} documents have no topic in topic_assignments "
                              f"(e.g. {topics.index[topics.isna()][0]!r}): the outputs are not of one run.")
    topics = topics.astype(np.int64).to_numpy()
    representations = RepresentationsOutput(one("topic_representations"))
    bags, ctfidf = VectorizedBagsOutput(one("vectorized_bags")), CtfidfOutput(one("ctfidf"))
    quality = representations.quality() if representations.quality_file.exists() else None
    embeddings = (EmbeddingsOutput.vectors_of_partitions(inputs["embeddings"]) if inputs.get("embeddings") else None)
    return report_figures.ReportData(
        documents=docs, topics=topics, topic_table=representations.topics(), terms=representations.terms(),
        quality=quality, topic_ids=bags.topic_ids(), ctfidf=ctfidf.weights(), embeddings=embeddings,
        hierarchy=HierarchyOutput(one("topic_hierarchy")).read() if one("topic_hierarchy") else None,
        over_time=OverTimeOutput.read_partitions(inputs["topics_over_time"]) if inputs.get("topics_over_time")
        else None,
        per_class=PerClassOutput(one("topics_per_class")).read() if one("topics_per_class") else None,
        document_map=DocumentMapOutput(one("document_map")).read() if one("document_map") else None,
        hierarchy_linkage=(HierarchyOutput(one("topic_hierarchy")).manifest()["params"].get("linkage", "ward")
                           if one("topic_hierarchy") else "ward"),
    )


def build_report(inputs: dict[str, list[Path]], params: PipelineParams) -> BuiltReport:
    """The report page of the outputs in ``inputs``, laid out by ``params.report``."""
    data = read_report_data(inputs)
    settings = params.report
    sections, notes = report_figures.report_sections(data, settings)
    table = data.topic_table.assign(words=[", ".join(w for w in words if w) for words in data.topic_table["representation"]])
    page = report_page(title=settings.title, topics=table[TOPIC_COLUMNS], sections=sections, notes=notes,
                       quality=_quality_table(data.quality))
    return BuiltReport(html=page, topic_count=int((data.topic_table["topic_id"] != -1).sum()),
                       figure_titles=[title for title, _ in sections], notes=notes, data=data)


def _quality_table(quality: pd.DataFrame | None) -> pd.DataFrame | None:
    """Corpus-wide values first, then NPMI per topic."""
    if quality is None or quality.empty:
        return None
    frame = quality.assign(overall=quality["topic_id"].isna()).sort_values(["overall", "topic_id"],
                                                                            ascending=[False, True])
    frame = frame.assign(topic_id=frame["topic_id"].astype(object).where(frame["topic_id"].notna(), "all"))
    return frame[["metric", "topic_id", "value"]]


def write_pictures(built: BuiltReport, folder: Path) -> dict[str, str]:
    """Static pictures of the report for the Dagster UI: topic words and, when there is one, the documents map."""
    data = built.data
    words = folder / "topic_words.png"
    words.write_bytes(static_images.topic_words_png(data.terms, data.topic_table))
    pictures = {"topic_words_image": words.name}
    coordinates = report_figures.mapped_documents(data)
    if coordinates is not None:
        x, y, topics, _ = coordinates
        documents_map = folder / "documents_map.png"
        documents_map.write_bytes(static_images.documents_map_png(x, y, topics, data.labels()))
        pictures["documents_map_image"] = documents_map.name
    return pictures


def published_inputs(store: StageStore) -> dict[str, list[Path]]:
    """The published output folders of the report's inputs (optional ones only when they exist)."""
    head = store.head()
    inputs: dict[str, list[Path]] = {}
    for stage in REPORT_INPUTS:
        partitions = head["partitions"].get(stage) or {}
        keys = [partitions[name] for name in sorted(partitions)] if partitions else [head["stages"].get(stage)]
        folders = [store.output_dir(stage, key) for key in keys if key and store.has(stage, key)]
        if folders:
            inputs[stage] = folders
        elif stage in REQUIRED_INPUTS:
            raise StoreError(f"No published '{stage}' output under {store.location}: run the pipeline first "
                             "(topic-pipeline run).")
    return inputs


def write_report(store: StageStore, params: PipelineParams, out: Path | None = None) -> Path:
    """Write the report of the published outputs to ``out`` (default ``<store>/report.html``); no stage runs.

    Raises
    ------
    StoreError
        ``out`` is a folder, or a file that is not an earlier report (a user's file is never overwritten), or
        it cannot be written (the message names the file and the cause).
    """
    target = out if out is not None else store.root / "report.html"
    _check_replaceable(target)
    built = build_report(published_inputs(store), params)
    try:
        return write_report_page(built.html, target)
    except OSError as exc:
        raise StoreError(f"Cannot write the report to {target}: {exc.strerror or exc}.") from None


def _check_replaceable(path: Path) -> None:
    """Only a missing file or an earlier report may be written over."""
    if path.is_dir():
        raise StoreError(f"{path} is a folder; give the report a file name (e.g. {path / 'report.html'}).")
    if not path.exists():
        return
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - 8192))
        tail = handle.read()
    if REPORT_SIGNATURE.encode() not in tail:
        raise StoreError(f"{path} exists and is not a report written by topic_pipeline; it is left as it is "
                         "(choose another --out, or move that file).")

