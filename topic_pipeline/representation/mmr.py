"""MaximalMarginalRelevance: keep words relevant to the topic but not to each other.

As BERTopic 0.17.4's, except on purpose: padding slots ("", weight) are not ranked as words, and a short
candidate list is padded with ("", 1e-05) (BERTopic can return several "" or fail); without an embedding
model it raises (BERTopic warns and changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from topic_pipeline.core.sklearn_functions import cosine_similarity
from topic_pipeline.core.topic_words import MISSING_WORD
from topic_pipeline.params.representation import MaximalMarginalRelevance
from topic_pipeline.representation.base import AspectInputs, Words, pad, require_embed


@dataclass(frozen=True)
class MMRModel:
    """``RepresentationModel`` of the ``MaximalMarginalRelevance`` settings: re-ranks the incoming words."""

    settings: MaximalMarginalRelevance

    def represent(self, inputs: AspectInputs, words: dict[int, Words]) -> dict[int, Words]:
        spec = self.settings
        embed = require_embed(inputs, spec.type)
        real = {t: list(dict.fromkeys(w for w, _ in ws if w)) for t, ws in words.items()}
        topics = [t for t in real if real[t]]
        result: dict[int, Words] = {t: [] for t in words}
        if topics:
            vocab = sorted({w for t in topics for w in real[t]})
            position = {w: i for i, w in enumerate(vocab)}
            word_vectors, topic_vectors = embed(vocab), embed([" ".join(real[t]) for t in topics])
            for i, topic in enumerate(topics):
                vectors = word_vectors[[position[w] for w in real[topic]]]
                keep = {real[topic][j] for j in mmr_select(topic_vectors[i], vectors, spec.diversity, spec.top_n_words)}
                result[topic] = [(w, float(v)) for w, v in words[topic] if w in keep]
        return {t: pad(ws, spec.top_n_words, MISSING_WORD) for t, ws in result.items()}


def mmr_select(topic_vector, candidate_vectors, diversity: float, top_n: int) -> list[int]:
    """Indices of the chosen candidates, in the order MMR picks them.

    Parameters
    ----------
    topic_vector : ndarray of shape (dim,) or sparse row of shape (1, dim)
    candidate_vectors : ndarray or sparse matrix of shape (n_candidates, dim), n_candidates >= 1
    diversity : float in [0, 1]
    top_n : int, how many to pick (at most n_candidates)
    """
    relevance = cosine_similarity(candidate_vectors, topic_vector.reshape(1, -1)).ravel()
    similarity = cosine_similarity(candidate_vectors)
    chosen = [int(np.argmax(relevance))]
    remaining = [i for i in range(len(relevance)) if i != chosen[0]]
    for _ in range(min(top_n, len(relevance)) - 1):
        redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1)
        scores = (1 - diversity) * relevance[remaining] - diversity * redundancy
        chosen.append(remaining.pop(int(np.argmax(scores))))
    return chosen
