"""Representation models defined outside topic_pipeline, as a user would write them.

Used by tests/representation/test_representation_protocol.py, from ``TopicModel(representation_model=...)`` and from
``representation.aspects`` by class path (``trust.trusted_modules: [tests.custom_representation]``).
Their output follows exactly from the words they are given, so tests can check it. ``WithLetter`` is
only ever named by class path, so it is imported, never found registered by an earlier ``TopicModel``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from topic_pipeline.representation.base import AspectInputs, Words


@dataclass(frozen=True)
class LongWords:
    """Keep the incoming words of at least ``min_chars`` characters (best first), at most ``top_n_words``.

    Settings as dataclass fields.
    """

    min_chars: int = 6
    top_n_words: int = 10

    def represent(self, inputs: AspectInputs, words: dict[int, Words]) -> dict[int, Words]:
        return {topic: [(w, v) for w, v in ranked if len(w) >= self.min_chars][: self.top_n_words]
                for topic, ranked in words.items()}


class ReverseRanking:
    """The first ``top_n_words`` incoming words in reverse order, weights kept.

    Settings scikit-learn style: stored unchanged by ``__init__``, returned by ``get_params``.
    """

    def __init__(self, top_n_words: int = 3) -> None:
        self.top_n_words = top_n_words

    def get_params(self, deep: bool = True) -> dict[str, int]:
        return {"top_n_words": self.top_n_words}

    def represent(self, inputs: AspectInputs, words: dict[int, Words]) -> dict[int, Words]:
        return {topic: list(reversed(ranked[: self.top_n_words])) for topic, ranked in words.items()}


class WithLetter(BaseModel):
    """Keep the incoming words that contain ``letter`` (best first), at most ``top_n_words``.

    Settings as pydantic fields.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    letter: str = "e"
    top_n_words: int = 10

    def represent(self, inputs: AspectInputs, words: dict[int, Words]) -> dict[int, Words]:
        return {topic: [(w, v) for w, v in ranked if self.letter in w][: self.top_n_words]
                for topic, ranked in words.items()}
