"""KeyBERTInspired: re-rank c-TF-IDF words by cosine to the mean embedding of representative documents.

As BERTopic 0.17.4's, except on purpose: with precomputed document embeddings the rows of the
representative documents are averaged (BERTopic indexes the matrix with positions in its flat list of them,
i.e. the first documents of the corpus); ``random_state`` is used (BERTopic always samples with 42); padding
slots are not ranked as words but padded with ("", 1e-05).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from topic_pipeline.core.sklearn_functions import cosine_similarity
from topic_pipeline.core.topic_words import MISSING_WORD, representative_documents, top_words
from topic_pipeline.errors import RepresentationError
from topic_pipeline.params.representation import KeyBERTInspired
from topic_pipeline.representation.base import AspectInputs, Words, pad, require_embed


@dataclass(frozen=True)
class KeyBERTModel:
    """``RepresentationModel`` of the ``KeyBERTInspired`` settings.

    It always takes its ``nr_candidate_words`` candidates from the c-TF-IDF rows, not from the
    incoming words (as BERTopic does).
    """

    settings: KeyBERTInspired

    def represent(self, inputs: AspectInputs, words: dict[int, Words]) -> dict[int, Words]:
        spec = self.settings
        embed = require_embed(inputs, spec.type)
        ids = [int(t) for t in inputs.topic_ids]
        topic_vectors = self._topic_vectors(inputs, ids)
        top = top_words(inputs.ctfidf, inputs.vocabulary, spec.nr_candidate_words)
        candidates = [[w for w, _ in row if w] for row in top]
        vocab = sorted({w for row in candidates for w in row})
        word_vectors = embed(vocab) if vocab else np.zeros((0, topic_vectors.shape[1]))
        if word_vectors.shape[1] != topic_vectors.shape[1]:
            raise RepresentationError(f"KeyBERTInspired: document embeddings have {topic_vectors.shape[1]} dimensions, "
                                  f"embed() gives {word_vectors.shape[1]}. Pass vectors of embed's model, or None.")
        if not vocab:  # no topic has a candidate word (every document empty after cleaning)
            return {topic: pad([], spec.top_n_words, MISSING_WORD) for topic in ids}
        similarity = cosine_similarity(topic_vectors, word_vectors)
        position = {w: i for i, w in enumerate(vocab)}
        result = {}
        for i, (topic, topic_words) in enumerate(zip(ids, candidates, strict=True)):
            values = similarity[i, [position[w] for w in topic_words]]
            best = np.argsort(-values, kind="stable")[: spec.top_n_words]
            result[topic] = pad([(topic_words[j], float(values[j])) for j in best], spec.top_n_words, MISSING_WORD)
        return result

    def _topic_vectors(self, inputs: AspectInputs, ids: list[int]) -> np.ndarray:
        """ndarray of shape (n_topics, dim): the mean embedding of each topic's representative documents."""
        spec = self.settings
        rows = representative_documents(
            inputs.topics, inputs.topic_ids, inputs.doc_term_counts, inputs.ctfidf, inputs.idf,
            reduce_frequent_words=inputs.reduce_frequent_words, n_samples=spec.nr_samples, n_docs=spec.nr_repr_docs,
            random_state=spec.random_state,
        )
        flat = [row for t in ids for row in rows[t]]
        if inputs.document_embeddings is None:  # one call for all topics, as BERTopic embeds its flat list
            vectors = inputs.embed([inputs.texts[r] for r in flat])
        else:
            vectors = np.asarray(inputs.document_embeddings[flat])
        bounds = np.cumsum([0] + [len(rows[t]) for t in ids])
        return np.vstack([vectors[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])
