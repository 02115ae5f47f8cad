"""PartOfSpeech: keep words and phrases that match spaCy part-of-speech patterns, ranked by c-TF-IDF.

As BERTopic 0.17.4's, except that padding slots ("") are not searched for (they match every document) and
equal c-TF-IDF weights keep vocabulary order (BERTopic leaves them to numpy's sort).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from topic_pipeline.errors import ParamsError, RepresentationError
from topic_pipeline.params.representation import POS_MISSING_WORD, PartOfSpeech
from topic_pipeline.representation.base import AspectInputs, Words, pad


@dataclass(frozen=True)
class PartOfSpeechModel:
    """``RepresentationModel`` of the ``PartOfSpeech`` settings: searches up to 2 documents per incoming word."""

    settings: PartOfSpeech

    def represent(self, inputs: AspectInputs, words: dict[int, Words]) -> dict[int, Words]:
        spec = self.settings
        nlp = load_spacy(spec.model)
        from spacy.matcher import Matcher

        matcher = Matcher(nlp.vocab)
        try:
            matcher.add("Pattern", [list(pattern) for pattern in spec.pos_patterns])
        except ValueError as exc:
            raise ParamsError(f"PartOfSpeech.pos_patterns are not valid spaCy Matcher patterns: {str(exc)[:300]}"
                              ) from exc
        column = {str(term): i for i, term in enumerate(inputs.vocabulary)}
        row_of = {int(t): i for i, t in enumerate(inputs.topic_ids)}
        result = {}
        for topic, topic_words in words.items():
            members = [inputs.texts[i] for i in np.flatnonzero(np.asarray(inputs.topics) == topic)]
            documents: list[str] = []
            for keyword, _ in topic_words:
                if keyword:  # BERTopic also searches for "" (a padding slot), which matches every document
                    documents.extend([text for text in members if keyword in text][:2])
            found = set()
            for doc in nlp.pipe(list(dict.fromkeys(documents))):
                found.update(doc[start:end].text for _, start, end in matcher(doc))
            columns = sorted(column[w] for w in found if w in column)
            weights = inputs.ctfidf[row_of[topic]].toarray().ravel()[columns]
            # Highest c-TF-IDF first; ties in vocabulary order (BERTopic leaves them to numpy's sort).
            order = np.argsort(-weights, kind="stable")[: spec.top_n_words]
            ranked = [(str(inputs.vocabulary[columns[j]]), float(weights[j])) for j in order]
            result[topic] = pad(ranked, spec.top_n_words, POS_MISSING_WORD)
        return result


@functools.lru_cache(maxsize=4)
def load_spacy(name: str) -> Any:
    """Load a spaCy pipeline once per process (seconds each time otherwise)."""
    install = f"Install with: pip install spacy && python -m spacy download {name} (or give a model folder)."
    try:
        import spacy

        return spacy.load(name)
    except ImportError as exc:
        raise RepresentationError(f"PartOfSpeech(model={name!r}) needs spaCy, which is not installed. {install}") from exc
    except OSError as exc:  # spaCy's "Can't find model ..."
        raise RepresentationError(f"PartOfSpeech: the spaCy model {name!r} is not installed. {install}") from exc
