"""The tables ``TopicModel`` returns, in BERTopic's column names, built from the fitted record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline.core.hierarchy import bertopic_tree_text, build_hierarchy, custom_linkage
from topic_pipeline.core.over_time import bin_timestamps, topics_per_group
from topic_pipeline.core.vectorize import make_vectorizer
from topic_pipeline.errors import ModelArgumentError
from topic_pipeline.model.fitted import FittedTopicModel


def topic_info(record: FittedTopicModel, topic: int | None) -> pd.DataFrame:
    """Topic, Count, Name, [CustomName], Representation, one column per aspect, Representative_Docs.

    Columns are looked up by topic id as BERTopic does, so a counted topic without words (-1 of a model
    merged onto one without outliers) shows NaN instead of failing.
    """
    ids = sorted(record.description.sizes)
    info = pd.DataFrame({"Topic": ids, "Count": [record.description.sizes[t] for t in ids]})
    info["Name"] = info["Topic"].map(record.labels)
    if record.custom_labels is not None and len(record.custom_labels) == len(ids):
        info["CustomName"] = list(record.custom_labels)
    info["Representation"] = info["Topic"].map(_word_lists(record.description.words))
    for aspect, words in record.description.aspects.items():
        info[aspect] = info["Topic"].map(_word_lists(words))
    info["Representative_Docs"] = info["Topic"].map(record.representative_docs)
    if topic is not None:
        info = info.loc[info["Topic"] == topic]
    return info.reset_index(drop=True)


def _word_lists(words: Mapping[int, list[tuple[str, float]]]) -> dict[int, list[str]]:
    return {t: [w for w, _ in pairs] for t, pairs in words.items()}


def topic_freq(record: FittedTopicModel) -> pd.DataFrame:
    """Topic, Count, largest first. BERTopic sorts its sizes (in order of first appearance among the
    documents) with pandas' default sort and keeps that index; we do the same, so equal counts and the
    index come out in the same order."""
    order = [t for t in dict.fromkeys([*record.topics.tolist(), *record.description.sizes]) if t in record.description.sizes]
    frame = pd.DataFrame([(t, record.description.sizes[t]) for t in order], columns=["Topic", "Count"])
    return frame.sort_values("Count", ascending=False)


def document_info(record: FittedTopicModel, docs: list[str], df: pd.DataFrame | None, metadata: Mapping[str, Any] | None
                  ) -> pd.DataFrame:
    """BERTopic's ``get_document_info`` columns."""
    frame = df.copy() if df is not None else pd.DataFrame(index=range(len(docs)))
    frame["Document"] = docs
    frame["Topic"] = record.topics
    info = topic_info(record, None).drop(columns="Count")
    frame = frame.merge(info, on="Topic", how="left")
    frame["Top_n_words"] = frame["Topic"].map({t: " - ".join(w for w, _ in words)
                                               for t, words in record.description.words.items()})
    probabilities = record.probabilities
    if probabilities is not None:
        if probabilities.ndim == 1:
            frame["Probability"] = probabilities
        else:
            frame["Probability"] = [row.max() if t != -1 else 1 - row.sum()
                                    for t, row in zip(record.topics.tolist(), probabilities, strict=True)]
    representative = {doc for docs_of in record.representative_docs.values() for doc in docs_of}
    frame["Representative_document"] = frame["Document"].isin(representative)
    for column, values in (metadata or {}).items():
        frame[column] = values
    return frame


def generate_labels(record: FittedTopicModel, nr_words: int, topic_prefix: bool, word_length: int | None, separator: str,
                    aspect: str | None) -> list[str]:
    if aspect is not None and aspect not in record.description.aspects:
        raise ModelArgumentError(f"Unknown aspect {aspect!r}; the model has: {', '.join(record.description.aspects) or 'none'}.")
    source = record.description.aspects[aspect] if aspect else record.description.words
    labels = []
    for topic in sorted(set(record.topics.tolist())):
        words = [w[:word_length] if word_length else w for w, _ in source[topic]][:nr_words]
        labels.append((f"{topic}{separator}" if topic_prefix else "") + separator.join(words))
    return labels


def custom_labels(record: FittedTopicModel, labels: Sequence[str] | Mapping[int, str]) -> list[str]:
    """One label per topic in topic order; a dict changes only the topics it names."""
    ids = sorted(set(record.topics.tolist()))
    if isinstance(labels, Mapping):
        unknown = sorted(set(labels) - set(ids))
        if unknown:
            raise ModelArgumentError(f"set_topic_labels: topics {unknown} do not exist; topics are {ids[0]}..{ids[-1]}.")
        current = record.custom_labels or [record.labels[t] for t in ids]
        return [labels.get(t) or current[i] for i, t in enumerate(ids)]
    labels = list(labels)
    if len(labels) != len(ids):
        raise ModelArgumentError(f"set_topic_labels needs one label per topic ({len(ids)}, -1 included), got {len(labels)}.")
    return labels


def hierarchy(record: FittedTopicModel, *, use_ctfidf: bool = True, linkage_function: Any = None,
              distance_function: Any = None) -> pd.DataFrame:
    """``hierarchical_topics`` from the fitted description (BERTopic's columns and arguments).

    Without functions and with c-TF-IDF it is the pipeline's linkage (``hierarchy.linkage``); otherwise
    ``distance_function`` and ``linkage_function`` run on the c-TF-IDF rows or, with ``use_ctfidf=False``,
    on the topic embeddings (outliers left out), as in BERTopic.
    """
    description = record.description
    if (description.topic_ids != -1).sum() < 2:
        raise ModelArgumentError("hierarchical_topics needs at least 2 topics.")
    if description.ctfidf is None:
        raise ModelArgumentError("hierarchical_topics needs the c-TF-IDF; save the model with save_ctfidf=True.")
    keep = np.flatnonzero(description.topic_ids != -1)
    linkage = None
    if linkage_function is not None or distance_function is not None or not use_ctfidf:
        vectors = description.ctfidf if use_ctfidf else description.topic_embeddings
        if vectors is None:
            raise ModelArgumentError("use_ctfidf=False needs topic embeddings; this model has none.")
        linkage = custom_linkage(vectors[keep], linkage_function, distance_function)
    tree = build_hierarchy(
        description.topic_ids, description.bags.topic_term_counts, description.ctfidf, description.idf,
        description.vocabulary, reduce_frequent_words=record.params.ctfidf.reduce_frequent_words,
        name_words=record.params.hierarchy.name_words, method=record.params.hierarchy.linkage, linkage=linkage,
    )
    return pd.DataFrame({
        "Parent_ID": tree["parent_id"].astype(str), "Parent_Name": tree["parent_name"],
        "Topics": tree["topic_ids"].map(list), "Child_Left_ID": tree["left_child_id"].astype(str),
        "Child_Left_Name": tree["left_child_name"], "Child_Right_ID": tree["right_child_id"].astype(str),
        "Child_Right_Name": tree["right_child_name"], "Distance": tree["distance"],
    })


def tree(hier_topics: pd.DataFrame, *, max_distance: float | None, tight_layout: bool) -> str:
    """``get_topic_tree``: BERTopic's text of a ``hierarchical_topics`` table."""
    return bertopic_tree_text(hier_topics, max_distance=max_distance, tight_layout=tight_layout)


def _per_group(record: FittedTopicModel, docs: list[str], topics: np.ndarray, groups: Sequence, global_tuning: bool,
               evolution_tuning: bool) -> pd.DataFrame:

    description = record.description
    table = topics_per_group(
        docs, topics, groups,
        vectorizer=make_vectorizer(record.params.vectorizer).set_params(vocabulary=list(description.bags.vocabulary)),
        language=record.params.vectorizer.language, idf=description.idf,
        reduce_frequent_words=record.params.ctfidf.reduce_frequent_words, topic_ids=description.topic_ids,
        global_ctfidf=description.ctfidf, global_tuning=global_tuning, evolution_tuning=evolution_tuning,
        top_n_words=record.params.representation.top_n_words,
    )
    return table.rename(columns={"topic_id": "Topic", "frequency": "Frequency", "words": "Words"})


def over_time(record: FittedTopicModel, docs: list[str], timestamps: Sequence, topics: Sequence[int] | None, nr_bins: int | None,
              datetime_format: str | None, evolution_tuning: bool, global_tuning: bool) -> pd.DataFrame:

    if len(timestamps) != len(docs):
        raise ModelArgumentError(f"topics_over_time needs one timestamp per document ({len(docs)}), got {len(timestamps)}.")
    stamps = pd.Series(pd.to_datetime(list(timestamps), utc=True, format=datetime_format))
    chosen = np.asarray(record.topics if topics is None else topics)
    table = _per_group(record, docs, chosen, bin_timestamps(stamps, nr_bins), global_tuning, evolution_tuning)
    return table.rename(columns={"group": "Timestamp"})[["Topic", "Words", "Frequency", "Timestamp"]]


def per_class(record: FittedTopicModel, docs: list[str], classes: list, global_tuning: bool) -> pd.DataFrame:
    if len(classes) != len(docs):
        raise ModelArgumentError(f"topics_per_class needs one class per document ({len(docs)}), got {len(classes)}.")
    table = _per_group(record, docs, np.asarray(record.topics), classes, global_tuning, False)
    return table.rename(columns={"group": "Class"})[["Topic", "Words", "Frequency", "Class"]]
