"""The staged fit behind ``TopicModel.fit``: inputs into the store, the fit stages, the record read back.

Each fit is a run of its own (a ledger under the store), so another fit sharing
``cache_dir`` cannot swap an input under it; a second fit with the same inputs
and settings is a cache hit that reads back the same outputs.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline.core.topic_ids import topic_embeddings, topic_sizes
from topic_pipeline.core.topic_mapper import TopicMapper
from topic_pipeline.model.fitted import FittedTopicModel, mapper_rows, representative_texts
from topic_pipeline.model.settings import pipeline_sections
from topic_pipeline.params import PipelineParams, parse_params
from topic_pipeline.pipeline.corpus import hash_text
from topic_pipeline.pipeline.runner import finish_step, materialize_stage, new_ledger
from topic_pipeline.pipeline.stage_outputs import (
    AssignmentsOutput,
    ClustersOutput,
    CtfidfOutput,
    EmbeddingsOutput,
    ReducedEmbeddingsOutput,
    RepresentationsOutput,
    VectorizedBagsOutput,
)
from topic_pipeline.pipeline.store import StageStore, atomic_path
from topic_pipeline.representation.describe import TopicDescription

FIT_STAGES = ("documents", "embeddings", "reduced_embeddings", "clusters", "topic_assignments",
              "document_terms", "vectorized_bags", "ctfidf", "topic_representations")
IN_MEMORY_INPUTS = {"documents": "in-memory", "embeddings": None}


def open_store(cache_dir: str | Path | None) -> StageStore:
    return StageStore(cache_dir or tempfile.mkdtemp(prefix="topic_pipeline-"))


def write_inputs(root: Path, texts: list[str], embeddings: np.ndarray | None, labels: np.ndarray | None
                 ) -> dict[str, str | None]:
    """Store in-memory inputs as files named by their content, so equal inputs give equal stage keys."""
    frame = pd.DataFrame({"doc_id": [str(i) for i in range(len(texts))], "text": texts})
    if labels is not None:
        frame["label"] = labels
    digest = hash_text("\x00".join(texts) + ("" if labels is None else "\x01" + ",".join(map(str, labels))))
    folder = root / "_inputs"
    docs_file = folder / f"documents-{digest}.parquet"
    if not docs_file.exists():
        with atomic_path(docs_file) as tmp:
            frame.to_parquet(tmp)
    vectors_file = None
    if embeddings is not None:
        digest = hashlib.blake2b(embeddings.tobytes() + str(embeddings.shape).encode(), digest_size=16).hexdigest()
        vectors_file = folder / f"embeddings-{digest}.npy"
        if not vectors_file.exists():
            with atomic_path(vectors_file) as tmp, open(tmp, "wb") as handle:
                np.save(handle, embeddings, allow_pickle=False)
    return {"documents": str(docs_file), "embeddings": str(vectors_file) if vectors_file else None}


def fit_params(arguments: Mapping[str, Any], inputs: Mapping[str, str | None], has_labels: bool, update_mode: str
               ) -> tuple[PipelineParams, dict[str, Any]]:
    """Params and per-stage estimator objects for ``TopicModel``'s constructor ``arguments`` and these inputs."""
    sections, estimators = pipeline_sections(arguments, has_labels=has_labels)
    sections["corpus"] = {"source": inputs["documents"], "inbox": None, "deduplicate": "none"} | sections.get("corpus", {})
    sections["embedding"] = sections["embedding"] | {"precomputed": inputs["embeddings"]}
    sections["updates"] = sections["updates"] | {"mode": update_mode}
    return parse_params(sections, origin="TopicModel"), estimators


def fit_stages(arguments: Mapping[str, Any], store: StageStore, texts: list[str], embeddings: np.ndarray | None,
               labels: np.ndarray | None, update_mode: str) -> FittedTopicModel:
    """Materialize the fit stages (cached) as one run and read the fitted model back."""
    params, estimators = fit_params(arguments, write_inputs(store.root, texts, embeddings, labels), labels is not None,
                                    update_mode)
    ledger = new_ledger(store, params, f"model-{uuid.uuid4().hex}", stages=list(FIT_STAGES))
    folders = {}
    for stage in FIT_STAGES:
        folders[stage] = materialize_stage(stage, params, store, run_id=ledger.run_id, estimator=estimators.get(stage),
                                           ledger=ledger).output_dir
        finish_step(ledger, stage)
    return from_stage_outputs(store, params, texts, embeddings, folders)


def from_stage_outputs(store: StageStore, params: PipelineParams, texts: list[str], embeddings: np.ndarray | None,
                       folders: dict[str, Path]) -> FittedTopicModel:
    """The fitted model from one run's stage outputs (``folders``: stage -> its output folder)."""
    assignments = AssignmentsOutput(folders["topic_assignments"])
    assigned = assignments.read()
    topics = assigned["topic_id"].to_numpy(dtype=np.int64)
    vectors = embeddings if embeddings is not None else EmbeddingsOutput(folders["embeddings"]).vectors()
    description = read_description(folders["vectorized_bags"], folders["ctfidf"], folders["topic_representations"],
                                   topics, vectors)
    cluster_topics = assignments.cluster_topics()
    # one row per cluster in ascending cluster order, as BERTopic's mapper (and its saved topic_mapper)
    found = set(assigned["cluster"].astype(int))  # BERTopic's mapper has a row per cluster found, -1 only if found
    mapper = TopicMapper.from_rows(sorted([int(c), int(c), int(t)] for c, t in
                                          zip(cluster_topics["cluster"], cluster_topics["topic_id"], strict=True)
                                          if int(c) in found))
    zeroshot = assignments.zeroshot_topics()
    if (membership := assignments.membership()) is not None:
        probabilities = np.asarray(membership)
    else:
        column = assigned["probability"].to_numpy(dtype=np.float64)
        probabilities = None if np.isnan(column).all() else column
    names = {} if zeroshot is None else {int(t): str(n) for t, n in zip(zeroshot["topic_id"], zeroshot["name"], strict=True)
                                         if int(t) in description.sizes}
    return FittedTopicModel(
        params=params, topics=topics, description=description, mapper_rows=mapper_rows(mapper),
        representative_docs=representative_texts(description, texts), zeroshot_names=names,
        probabilities=probabilities, documents=texts, embeddings=vectors, store=store,
        fitted_models={output.stage: path for output in (ReducedEmbeddingsOutput(folders["reduced_embeddings"]),
                                                         ClustersOutput(folders["clusters"]))
                       if (path := output.fitted_model_file()) is not None},
    )


def read_description(bags_dir: Path, ctfidf_dir: Path, representations_dir: Path, topics: np.ndarray,
                     embeddings: np.ndarray | None) -> TopicDescription:
    """The description the fit stages stored (no recomputation)."""
    bags = VectorizedBagsOutput(bags_dir).read()
    topic_ids = bags.topic_ids
    representations, ctfidf = RepresentationsOutput(representations_dir), CtfidfOutput(ctfidf_dir)
    table = representations.topics()
    terms = representations.terms().sort_values(["aspect", "topic_id", "rank"])
    by_aspect: dict[str, dict[int, list[tuple[str, float]]]] = {}
    for (aspect, topic), group in terms.groupby(["aspect", "topic_id"], sort=False):
        by_aspect.setdefault(str(aspect), {})[int(topic)] = list(
            zip(group["term"].astype(str), group["weight"].astype(float), strict=True))
    words = by_aspect.pop("Main", {})
    positions = {int(t): i for i, t in enumerate(table["topic_id"])}
    return TopicDescription(
        topic_ids=topic_ids, bags=bags, idf=ctfidf.idf(), ctfidf=ctfidf.weights(), words=words, aspects=by_aspect,
        names={int(t): str(n) for t, n in zip(table["topic_id"], table["name"], strict=True)},
        representative_docs={int(t): [int(r) for r in rows] for t, rows in
                             zip(table["topic_id"], table["representative_rows"], strict=True)}
        if "representative_rows" in table else {t: [] for t in positions},
        topic_embeddings=None if embeddings is None else topic_embeddings(embeddings, topics),
        sizes=topic_sizes(topics),
    )
