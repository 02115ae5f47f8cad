"""In-memory changes of a fitted model: new settings or new topic ids, described again.

``update_topics``, ``merge_topics``, ``reduce_topics`` and ``delete_topics``
change the topic of some documents (or only the settings) and describe the
topics again with the same describe function the stages call
(``representation.describe.describe_topics``); ``after_change`` turns that into
the next ``FittedTopicModel``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity

from topic_pipeline.core.soft_clustering import map_memberships
from topic_pipeline.core.topic_ids import renumber_by_frequency, topic_sizes
from topic_pipeline.core.topic_reduction import TopicRemap, merged_topic_embeddings
from topic_pipeline.core.topic_words import MISSING_WORD, topic_name
from topic_pipeline.core.vectorize import TopicBags
from topic_pipeline.model.fitted import FittedTopicModel, mapper_rows, representative_texts
from topic_pipeline.model.prediction import Embed
from topic_pipeline.model.settings import ctfidf_section, representation_section, vectorizer_section
from topic_pipeline.params import PipelineParams, parse_params
from topic_pipeline.representation.describe import TopicDescription, describe_topics


def update_settings(params: PipelineParams, n_gram_range: tuple[int, int], top_n_words: int, vectorizer_model: Any,
                    ctfidf_model: Any, representation_model: Any) -> PipelineParams:
    """The params ``update_topics`` describes with: like BERTopic, unset models go back to their defaults."""
    language = params.vectorizer.language
    vectorizer = (vectorizer_section(vectorizer_model) if vectorizer_model is not None
                  else {"ngram_range": list(n_gram_range)})
    sections = params.model_dump(mode="json") | {
        "vectorizer": vectorizer | {"language": language},
        "ctfidf": ctfidf_section(ctfidf_model) if ctfidf_model is not None else {},
        "representation": params.representation.model_dump(mode="json") | {
            "top_n_words": top_n_words,
            "aspects": representation_section(representation_model) if representation_model is not None else {}},
    }
    return parse_params(sections, origin="update_topics")


def after_change(record: FittedTopicModel, texts: list[str], topics: np.ndarray, params: PipelineParams,
                 mapping: dict[int, int] | None, embed: Embed | None) -> FittedTopicModel:
    """The fitted model once the documents' topics or the settings changed.

    ``mapping`` (old id -> new id, -1 = gone) is given when ids moved; it extends the topic mapper,
    the probabilities' columns and, for a loaded model without documents' embeddings, the topic embeddings.
    """
    vectors = record.embeddings
    description = describe_topics(
        texts, topics, vectorizer=params.vectorizer, ctfidf=params.ctfidf, representation=params.representation,
        guidance=params.guidance, embeddings=vectors, embed=embed if params.representation.aspects else None,
        trusted_modules=params.trust.trusted_modules)
    mapper = record.mapper()
    probabilities = record.probabilities
    if mapping is not None:
        mapper.add_mappings(mapping)
        if probabilities is not None and probabilities.ndim == 2:
            probabilities = map_memberships(probabilities, mapping)
    if vectors is None:  # a loaded model: carry the stored topic embeddings over, merged where topics merged
        description = description.with_topic_embeddings(_carried_topic_embeddings(record, topics, mapping))
    same_topics = set(description.sizes) == set(record.description.sizes) and mapping is None
    names = zeroshot_names(record, mapping, sorted(description.sizes), description.topic_embeddings, embed)
    return record.replace(
        params=params, topics=np.asarray(topics, dtype=np.int64), description=description,
        mapper_rows=mapper_rows(mapper), representative_docs=representative_texts(description, texts),
        zeroshot_names=names, custom_labels=record.custom_labels if same_topics else None,
        probabilities=probabilities)


def _carried_topic_embeddings(record: FittedTopicModel, topics: np.ndarray, mapping: dict[int, int] | None
                              ) -> np.ndarray | None:
    old = record.description.topic_embeddings
    if old is None or mapping is None:
        return old
    old_ids = np.array(record.topic_ids)
    sizes = np.array([record.description.sizes[t] for t in old_ids])
    return merged_topic_embeddings(old, old_ids, sizes, TopicRemap(topics=topics, mapping=mapping, merged_from={}))


def zeroshot_names(record: FittedTopicModel, mapping: dict[int, int] | None, topic_ids: list[int],
                   topic_embeddings: np.ndarray | None, embed: Embed | None) -> dict[int, str]:
    """Zero-shot topic names once topics changed (BERTopic's ``TopicMapper.add_mappings`` rule).

    Without a mapping, topics keep their ids and so their names. After a merge, a topic made of zero-shot
    topics takes the name (of those) most similar to the topic's embedding, if that similarity reaches
    ``zeroshot_min_similarity``; otherwise it is named by its words. BERTopic compares with the row of
    the *old* topic embeddings at the new id; we use the merged topic's own embedding.
    """
    if mapping is None or not record.zeroshot_names:
        return {t: n for t, n in record.zeroshot_names.items() if t in topic_ids}
    if topic_embeddings is None or embed is None:
        return {}
    merged_names: dict[int, list[str]] = {}
    for old, name in record.zeroshot_names.items():
        if mapping.get(old, -1) != -1:
            merged_names.setdefault(mapping[old], []).append(name)
    result = {}
    for topic, names in merged_names.items():
        row = topic_embeddings[[topic_ids.index(topic)]]
        similarity = cosine_similarity(embed(names), row).ravel()
        if similarity.max() >= record.params.guidance.zeroshot_min_similarity:
            result[topic] = names[int(similarity.argmax())]
    return result


def delete_topics(record: FittedTopicModel, topics_to_delete: list[int]) -> FittedTopicModel:
    """BERTopic's ``delete_topics``: the topics become -1, the rest are renumbered by size.

    Nothing is described again: every kept topic keeps its words, aspects, names' words, representative
    documents, c-TF-IDF row and topic embedding under its new id, and -1 keeps its own (or, new, gets
    BERTopic's empty representation and zero rows). BERTopic removes the c-TF-IDF and embedding rows by
    position, one row off whenever a -1 row comes first; we remove the deleted topics' rows.
    """
    deleted = set(topics_to_delete)
    to_outliers = {t: (-1 if t in deleted else t) for t in record.topic_ids} | {-1: -1}
    staged = np.array([to_outliers[int(t)] for t in record.topics], dtype=np.int64)
    topics, by_size = renumber_by_frequency(staged)
    mapper = record.mapper()
    mapper.add_mappings(to_outliers)
    mapper.add_mappings(by_size)
    final = {old: by_size[new] for old, new in to_outliers.items() if new in by_size}
    description = _carried_description(record.description, final, topics, record.params.representation.name_words)
    probabilities = record.probabilities
    if probabilities is not None and probabilities.ndim == 2:
        probabilities = map_memberships(probabilities, {old: final.get(old, -1) for old in record.topic_ids})
    kept_labels = None
    if record.custom_labels is not None:
        old_labels = dict(zip(record.topic_ids, record.custom_labels, strict=True))
        new_labels = {final[old]: label for old, label in old_labels.items() if old not in deleted}
        kept_labels = [new_labels.get(t, "") for t in sorted(description.sizes)]
    return record.replace(
        topics=topics, description=description, mapper_rows=mapper_rows(mapper),
        representative_docs=_moved(record.representative_docs, final, deleted, []),
        zeroshot_names={final[t]: n for t, n in record.zeroshot_names.items() if t not in deleted},
        custom_labels=kept_labels, probabilities=probabilities)


def _moved(by_topic: dict[int, Any], final: dict[int, int], deleted: set[int], empty: Any) -> dict[int, Any]:
    """Per-topic values under their new ids; a new -1 gets ``empty``."""
    moved = {final[t]: value for t, value in by_topic.items() if t not in deleted}
    if deleted:
        moved.setdefault(-1, empty)
    return dict(sorted(moved.items()))


def _carried_description(description: TopicDescription, final: dict[int, int], topics: np.ndarray,
                         name_words: int) -> TopicDescription:
    deleted = {t for t in description.sizes if t != -1 and final.get(t, -1) == -1}
    new_ids = np.array(sorted(set(topics.tolist())), dtype=np.int64)
    source = {new: old for old, new in final.items() if old not in deleted and old in description.sizes}
    positions = {int(t): i for i, t in enumerate(description.topic_ids)}

    def rows(matrix):  # the old row of each new topic; zeros for a -1 that did not exist
        if matrix is None:
            return None
        dense = sp.issparse(matrix)
        picked = [matrix[[positions[source[t]]]] if t in source else
                  (sp.csr_matrix((1, matrix.shape[1])) if dense else np.zeros((1, matrix.shape[1]), matrix.dtype))
                  for t in new_ids]
        return sp.csr_matrix(sp.vstack(picked)) if dense else np.vstack(picked)

    words = _moved(description.words, final, deleted, [MISSING_WORD])
    bags = None if description.bags is None else TopicBags(
        new_ids, description.bags.vocabulary, rows(description.bags.topic_term_counts),
        description.bags.doc_term_counts)
    return TopicDescription(
        topic_ids=new_ids, bags=bags, idf=description.idf, ctfidf=rows(description.ctfidf), words=words,
        aspects={name: _moved(aspect, final, deleted, []) for name, aspect in description.aspects.items()},
        names={t: topic_name(t, w, name_words) for t, w in words.items()},
        representative_docs=_moved(description.representative_docs, final, deleted, []),
        topic_embeddings=rows(description.topic_embeddings), sizes=topic_sizes(topics))
