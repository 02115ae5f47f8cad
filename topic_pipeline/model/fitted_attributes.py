"""BERTopic's fitted attribute names over a ``FittedTopicModel``.

``TopicModel`` keeps one record (``fitted_state_``); these read-only properties
give BERTopic users the attributes they know (``topics_``, ``c_tf_idf_``,
``topic_representations_`` ...). Before ``fit`` each raises
``NotFittedError`` (an ``AttributeError``), so ``hasattr(model, "topics_")``
is False as for an unfitted BERTopic. Dicts are fresh copies: changing one
never changes the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from topic_pipeline.core.topic_mapper import TopicMapper
from topic_pipeline.errors import NotFittedError
from topic_pipeline.model.fitted import FittedTopicModel, Words
from topic_pipeline.params import PipelineParams


class FittedAttributes:
    """Mixin: the fitted attributes of ``TopicModel``, read from ``self.fitted_state_``."""

    fitted_state_: FittedTopicModel

    def _fitted(self) -> FittedTopicModel:
        record = self.__dict__.get("fitted_state_")
        if record is None:
            raise NotFittedError("This TopicModel is not fitted yet; call fit or fit_transform first.")
        return record

    @property
    def topics_(self) -> list[int]:
        return [int(t) for t in self._fitted().topics]

    @property
    def topic_sizes_(self) -> dict[int, int]:
        return dict(self._fitted().description.sizes)

    @property
    def topic_representations_(self) -> dict[int, Words]:
        return dict(self._fitted().description.words)

    @property
    def topic_aspects_(self) -> dict[str, dict[int, Words]]:
        return {name: dict(words) for name, words in self._fitted().description.aspects.items()}

    @property
    def topic_labels_(self) -> dict[int, str]:
        return dict(self._fitted().labels)

    @property
    def custom_labels_(self) -> list[str] | None:
        labels = self._fitted().custom_labels
        return None if labels is None else list(labels)

    @custom_labels_.setter
    def custom_labels_(self, labels: list[str] | None) -> None:
        self.fitted_state_ = self._fitted().replace(custom_labels=None if labels is None else list(labels))

    @property
    def representative_docs_(self) -> dict[int, list[str]]:
        return {t: list(docs) for t, docs in self._fitted().representative_docs.items()}

    @property
    def c_tf_idf_(self) -> sp.csr_matrix | None:
        return self._fitted().description.ctfidf

    @property
    def topic_embeddings_(self) -> np.ndarray | None:
        return self._fitted().description.topic_embeddings

    @property
    def topic_mapper_(self) -> TopicMapper:
        return self._fitted().mapper()

    @property
    def probabilities_(self) -> np.ndarray | None:
        return self._fitted().probabilities

    @property
    def zeroshot_topics_(self) -> dict[int, str]:
        return dict(self._fitted().zeroshot_names)

    @property
    def fitted_models_(self) -> dict[str, Any]:
        return dict(self._fitted().fitted_models)

    @property
    def params_(self) -> PipelineParams:
        """The pipeline params the model was fitted (or last described) with."""
        return self._fitted().params

    @property
    def documents_(self) -> list[str] | None:
        return self._fitted().documents

    @property
    def embeddings_(self) -> np.ndarray | None:
        return self._fitted().embeddings

    @property
    def store_(self) -> Any:
        return self._fitted().store

    @property
    def _outliers(self) -> int:
        """1 when the outlier topic -1 exists (BERTopic's ``_outliers``), else 0."""
        return 1 if -1 in self._fitted().description.sizes else 0
