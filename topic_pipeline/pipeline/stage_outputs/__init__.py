"""One small class per stage output: the only place that names a stage's files.

Each class is built from one output folder (``ClustersOutput(folder)``) and
writes and reads exactly that stage's files, with a method per optional part
that returns None when the output has none (``ClustersOutput.membership()``).
Partitioned stages (``documents``, ``embeddings``, ``topics_over_time``) are
read by global stages as several folders, in partition order: their
``read_partitions`` class methods return the concatenation.

The file formats themselves (Parquet, ``.npz``, memory-mapped ``.npy``) are
``outputs``'s; a fitted UMAP/HDBSCAN model is ``fitted_models``'s (its file is
checked against the manifest before it is unpickled).
"""

from topic_pipeline.pipeline.stage_outputs.base import FittedModelOutput, StageOutput, concat_frames, stack_vectors
from topic_pipeline.pipeline.stage_outputs.describe import (
    DocumentMapOutput,
    HierarchyOutput,
    OverTimeOutput,
    PerClassOutput,
    ReportOutput,
    RepresentationsOutput,
    WarehouseOutput,
)
from topic_pipeline.pipeline.stage_outputs.ingest import DocumentsOutput, EmbeddingsOutput
from topic_pipeline.pipeline.stage_outputs.modeling import (
    AssignmentsOutput,
    ClustersOutput,
    CtfidfOutput,
    DocumentTermsOutput,
    ReducedEmbeddingsOutput,
    VectorizedBagsOutput,
)

__all__ = [
    "AssignmentsOutput",
    "ClustersOutput",
    "CtfidfOutput",
    "DocumentMapOutput",
    "DocumentTermsOutput",
    "DocumentsOutput",
    "EmbeddingsOutput",
    "FittedModelOutput",
    "HierarchyOutput",
    "OverTimeOutput",
    "PerClassOutput",
    "ReducedEmbeddingsOutput",
    "ReportOutput",
    "RepresentationsOutput",
    "StageOutput",
    "VectorizedBagsOutput",
    "WarehouseOutput",
    "concat_frames",
    "stack_vectors",
]
