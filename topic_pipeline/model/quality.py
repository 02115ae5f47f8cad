"""``TopicModel.topic_quality``: the pipeline's topic-quality figures for a fitted model, from a notebook.

The same numbers as the ``topic_representations`` asset checks (``core.quality``), so a user comparing
settings (a stop-word list, ``min_topic_size``, a representation model) sees what the pipeline will report.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from topic_pipeline.core.quality import TOP_N, WINDOW_SIZE, corpus_tokens, topic_quality
from topic_pipeline.core.vectorize import make_vectorizer


class QualityMethods:
    """Mixin for ``TopicModel``: topic quality on the documents the model was fitted on."""

    def topic_quality(self, docs: Sequence[str], top_n: int = TOP_N, window_size: int = WINDOW_SIZE) -> pd.DataFrame:
        """NPMI coherence per topic and overall, topic diversity, outlier share and number of topics.

        NPMI is gensim's ``c_npmi`` of each topic's top ``top_n`` words on ``docs`` tokenized as the topic
        words were counted (BERTopic's cleaning, then the analyzer of the vectorizer settings the words came
        from, which also holds after ``update_topics`` with another vectorizer), with a sliding window of
        ``window_size`` tokens; see ``topic_pipeline.core.quality``.

        Parameters
        ----------
        docs : sequence of str
            The documents the model was fitted on (as ``update_topics`` takes them).

        Returns
        -------
        DataFrame with columns metric, topic_id (Int64; null for corpus-wide values), value.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ModelArgumentError
            ``docs`` is not as long as the fitted documents.
        """
        record = self._checked(docs)
        words = {topic: [word for word, _ in pairs] for topic, pairs in record.description.words.items()}
        settings = record.params.vectorizer
        tokens = corpus_tokens(docs, make_vectorizer(settings), settings.language)
        return topic_quality(words, tokens, record.topics, top_n=top_n, window_size=window_size)
