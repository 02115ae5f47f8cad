"""The tables ``TopicModel`` returns, in BERTopic's column names, built from the fitted attributes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from topic_pipeline.errors import StageInputError


def topic_info(model: Any, topic: int | None) -> pd.DataFrame:
    """Topic, Count, Name, [CustomName], Representation, one column per aspect, Representative_Docs.

    Columns are looked up by topic id as BERTopic does, so a counted topic without words (-1 of a model
    merged onto one without outliers) shows NaN instead of failing.
    """
    ids = sorted(model.topic_sizes_)
    info = pd.DataFrame({"Topic": ids, "Count": [model.topic_sizes_[t] for t in ids]})
    info["Name"] = info["Topic"].map(model.topic_labels_)
    if model.custom_labels_ is not None and len(model.custom_labels_) == len(ids):
        info["CustomName"] = list(model.custom_labels_)
    info["Representation"] = info["Topic"].map(_word_lists(model.topic_representations_))
    for aspect, words in model.topic_aspects_.items():
        info[aspect] = info["Topic"].map(_word_lists(words))
    info["Representative_Docs"] = info["Topic"].map(model.representative_docs_)
    if topic is not None:
        info = info.loc[info["Topic"] == topic]
    return info.reset_index(drop=True)


def _word_lists(words: Mapping[int, list[tuple[str, float]]]) -> dict[int, list[str]]:
    return {t: [w for w, _ in pairs] for t, pairs in words.items()}


def topic_freq(model: Any) -> pd.DataFrame:
    """Topic, Count, largest first. BERTopic sorts its sizes (in order of first appearance among the
    documents) with pandas' default sort and keeps that index; we do the same, so equal counts and the
    index come out in the same order."""
    order = [t for t in dict.fromkeys([*model.topics_, *model.topic_sizes_]) if t in model.topic_sizes_]
    frame = pd.DataFrame([(t, model.topic_sizes_[t]) for t in order], columns=["Topic", "Count"])
    return frame.sort_values("Count", ascending=False)


def document_info(model: Any, docs: list[str], df: pd.DataFrame | None, metadata: Mapping[str, Any] | None
                  ) -> pd.DataFrame:
    """BERTopic's ``get_document_info`` columns."""
    frame = df.copy() if df is not None else pd.DataFrame(index=range(len(docs)))
    frame["Document"] = docs
    frame["Topic"] = model.topics_
    info = topic_info(model, None).drop(columns="Count")
    frame = frame.merge(info, on="Topic", how="left")
    frame["Top_n_words"] = frame["Topic"].map({t: " - ".join(w for w, _ in words)
                                               for t, words in model.topic_representations_.items()})
    probabilities = model.probabilities_
    if probabilities is not None:
        if probabilities.ndim == 1:
            frame["Probability"] = probabilities
        else:
            frame["Probability"] = [row.max() if t != -1 else 1 - row.sum()
                                    for t, row in zip(model.topics_, probabilities, strict=True)]
    representative = {doc for docs_of in model.representative_docs_.values() for doc in docs_of}
    frame["Representative_document"] = frame["Document"].isin(representative)
    for column, values in (metadata or {}).items():
        frame[column] = values
    return frame


def generate_labels(model: Any, nr_words: int, topic_prefix: bool, word_length: int | None, separator: str,
                    aspect: str | None) -> list[str]:
    if aspect is not None and aspect not in model.topic_aspects_:
        raise StageInputError(f"Unknown aspect {aspect!r}; the model has: {', '.join(model.topic_aspects_) or 'none'}.")
    source = model.topic_aspects_[aspect] if aspect else model.topic_representations_
    labels = []
    for topic in sorted(set(model.topics_)):
        words = [w[:word_length] if word_length else w for w, _ in source[topic]][:nr_words]
        labels.append((f"{topic}{separator}" if topic_prefix else "") + separator.join(words))
    return labels


def custom_labels(model: Any, labels: Sequence[str] | Mapping[int, str]) -> list[str]:
    """One label per topic in topic order; a dict changes only the topics it names."""
    ids = sorted(set(model.topics_))
    if isinstance(labels, Mapping):
        unknown = sorted(set(labels) - set(ids))
        if unknown:
            raise StageInputError(f"set_topic_labels: topics {unknown} do not exist; topics are {ids[0]}..{ids[-1]}.")
        current = model.custom_labels_ or [model.topic_labels_[t] for t in ids]
        return [labels.get(t) or current[i] for i, t in enumerate(ids)]
    labels = list(labels)
    if len(labels) != len(ids):
        raise StageInputError(f"set_topic_labels needs one label per topic ({len(ids)}, -1 included), got {len(labels)}.")
    return labels


def hierarchy(model: Any) -> pd.DataFrame:
    """``hierarchical_topics`` from the fitted description (BERTopic's columns)."""
    from topic_pipeline.hierarchy import build_hierarchy

    description = model._description_
    if (description.topic_ids != -1).sum() < 2:
        raise StageInputError("hierarchical_topics needs at least 2 topics.")
    tree = build_hierarchy(
        description.topic_ids, description.bags.topic_term_counts, description.ctfidf, description.idf,
        description.bags.vocabulary, reduce_frequent_words=model.params_.ctfidf.reduce_frequent_words,
        name_words=model.params_.hierarchy.name_words, method=model.params_.hierarchy.linkage,
    )
    return pd.DataFrame({
        "Parent_ID": tree["parent_id"].astype(str), "Parent_Name": tree["parent_name"],
        "Topics": tree["topic_ids"].map(list), "Child_Left_ID": tree["left_child_id"].astype(str),
        "Child_Left_Name": tree["left_child_name"], "Child_Right_ID": tree["right_child_id"].astype(str),
        "Child_Right_Name": tree["right_child_name"], "Distance": tree["distance"],
    })


def tree(model: Any, hier_topics: pd.DataFrame) -> str:
    from topic_pipeline.hierarchy import topic_tree

    frame = pd.DataFrame({
        "parent_id": hier_topics["Parent_ID"].astype(int), "parent_name": hier_topics["Parent_Name"],
        "topic_ids": hier_topics["Topics"], "left_child_id": hier_topics["Child_Left_ID"].astype(int),
        "left_child_name": hier_topics["Child_Left_Name"], "right_child_id": hier_topics["Child_Right_ID"].astype(int),
        "right_child_name": hier_topics["Child_Right_Name"], "distance": hier_topics["Distance"],
    })
    return topic_tree(frame, dict(model.topic_labels_))


def _per_group(model: Any, docs: list[str], topics: np.ndarray, groups: Sequence, global_tuning: bool,
               evolution_tuning: bool) -> pd.DataFrame:
    from topic_pipeline.over_time import topics_per_group
    from topic_pipeline.vectorize import make_vectorizer

    description = model._description_
    table = topics_per_group(
        docs, topics, groups,
        vectorizer=make_vectorizer(model.params_.vectorizer).set_params(vocabulary=list(description.bags.vocabulary)),
        language=model.params_.vectorizer.language, idf=description.idf,
        reduce_frequent_words=model.params_.ctfidf.reduce_frequent_words, topic_ids=description.topic_ids,
        global_ctfidf=description.ctfidf, global_tuning=global_tuning, evolution_tuning=evolution_tuning,
        top_n_words=model.params_.representation.top_n_words,
    )
    return table.rename(columns={"topic_id": "Topic", "frequency": "Frequency", "words": "Words"})


def over_time(model: Any, docs: list[str], timestamps: Sequence, topics: Sequence[int] | None, nr_bins: int | None,
              datetime_format: str | None, evolution_tuning: bool, global_tuning: bool) -> pd.DataFrame:
    from topic_pipeline.over_time import bin_timestamps

    if len(timestamps) != len(docs):
        raise StageInputError(f"topics_over_time needs one timestamp per document ({len(docs)}), got {len(timestamps)}.")
    stamps = pd.Series(pd.to_datetime(list(timestamps), utc=True, format=datetime_format))
    chosen = np.asarray(model.topics_ if topics is None else topics)
    table = _per_group(model, docs, chosen, bin_timestamps(stamps, nr_bins), global_tuning, evolution_tuning)
    return table.rename(columns={"group": "Timestamp"})[["Topic", "Words", "Frequency", "Timestamp"]]


def per_class(model: Any, docs: list[str], classes: list, global_tuning: bool) -> pd.DataFrame:
    if len(classes) != len(docs):
        raise StageInputError(f"topics_per_class needs one class per document ({len(docs)}), got {len(classes)}.")
    table = _per_group(model, docs, np.asarray(model.topics_), classes, global_tuning, False)
    return table.rename(columns={"group": "Class"})[["Topic", "Words", "Frequency", "Class"]]
