"""The stage graph: what each stage reads, which params section it owns, how it runs.

Each step loads its inputs from the store, calls the pure stage function and
writes its files into the output folder it is given; ``runner`` decides whether
a step runs at all. A step returns metadata (row counts, a markdown preview)
that is kept in the output's manifest and shown by Dagster.
"""

from __future__ import annotations

from topic_pipeline.pipeline.stages import describe, ingest, modeling, publish, views
from topic_pipeline.pipeline.stages.base import PrepareContext, Stage, StepContext, TimeWindow

__all__ = ["STAGES", "PrepareContext", "Stage", "StepContext", "TimeWindow"]

STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage("documents", "corpus", (), ingest.compute_documents,
              "The corpus and the inbox: doc_id, text, timestamp, label, doc_hash; repeated texts linked.",
              prepare=ingest.prepare_documents, partitioned=True),
        Stage("embeddings", "embedding", ("documents",), ingest.compute_embeddings,
              "One vector per document (sentence-transformers or precomputed), cached per text.",
              prepare=ingest.prepare_embeddings, partitioned=True),
        Stage("reduced_embeddings", "reduction", ("documents", "embeddings"), modeling.compute_reduced,
              "UMAP-reduced embeddings (or PCA, none, any estimator; supervised or guided by seed topics).",
              prepare=modeling.prepare_reduced, extra_sections=("updates", "guidance"), revision=3),
        Stage("clusters", "clustering", ("documents", "embeddings", "reduced_embeddings"), modeling.compute_clusters,
              "HDBSCAN clusters and membership strengths (or any clusterer, given labels, zero-shot topics first).",
              prepare=modeling.prepare_clusters, extra_sections=("updates", "guidance"), revision=3),
        Stage("topic_assignments", "topics", ("documents", "embeddings", "clusters"), modeling.compute_topic_assignments,
              "Topic per document; ids sorted by size, -1 = outliers; optional topic reduction and outlier "
              "reassignment.", prepare=modeling.prepare_topic_assignments, revision=2),
        Stage("document_terms", "vectorizer", ("documents",), modeling.compute_document_terms,
              "Term counts per document (cleaned as BERTopic cleans, and as written), counted once per vectorizer "
              "setting: every bag of words downstream is a sum of them; new documents recount only themselves.",
              prepare=modeling.prepare_document_terms, section_fields=modeling.TOKENIZER_FIELDS, revision=3),
        Stage("vectorized_bags", "vectorizer", ("topic_assignments", "document_terms"), modeling.compute_bags,
              "Vocabulary and term counts per topic and per document.", revision=2),
        Stage("ctfidf", "ctfidf", ("vectorized_bags",), modeling.compute_ctfidf, "Class-based TF-IDF weights and idf.",
              prepare=modeling.prepare_ctfidf, revision=3),
        Stage("topic_representations", "representation",
              ("documents", "embeddings", "topic_assignments", "vectorized_bags", "ctfidf"),
              describe.compute_representations,
              "Top words, names, aspects (KeyBERTInspired, MMR, PartOfSpeech or your own model), representative "
              "documents and quality (NPMI, diversity) per topic.",
              revision=4),
        Stage("topic_hierarchy", "hierarchy", ("vectorized_bags", "ctfidf"), describe.compute_hierarchy,
              "Merge tree of the topics: ward linkage on c-TF-IDF distances, merged topics named by their words."),
        Stage("topics_over_time", "over_time",
              ("documents", "topic_assignments", "document_terms", "vectorized_bags", "ctfidf"),
              describe.compute_over_time, "Topic words and frequencies per time bin (global and evolution tuning).",
              prepare=describe.prepare_over_time, partitioned=True, reads_previous_window=True,
              section_fields=("enabled", "nr_bins", "global_tuning", "evolution_tuning", "top_n_words")),
        Stage("topics_per_class", "over_time",
              ("documents", "topic_assignments", "document_terms", "vectorized_bags", "ctfidf"),
              describe.compute_per_class, "Topic words and frequencies per document label (global tuning).",
              section_fields=("per_class", "global_tuning", "top_n_words"), revision=2),
        Stage("document_map", "document_map", ("documents", "embeddings"), views.compute_document_map,
              "The documents in 2-D (UMAP of the embeddings), computed once for the documents figures."),
        Stage("topic_report", "report", views.REPORT_INPUTS, views.compute_report,
              "One self-contained HTML page: the topic table, the figures and the quality table; opens offline.",
              kind="html"),
        Stage("warehouse", None, ("documents", "topic_assignments", "topic_representations", "topic_hierarchy",
                                  "topics_over_time", "topics_per_class"),
              publish.compute_warehouse,
              "DuckDB views over this run's outputs (the DuckDB file is built when the run is published).",
              revision=3, kind="duckdb"),
    )
}
