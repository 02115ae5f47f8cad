"""topic_pipeline: BERTopic-style topic modeling as cached stages (no Dagster import here).

``TopicModel`` and the representation models are imported on first use, so
importing one stage module does not pull in the whole facade.
"""

from topic_pipeline.errors import TopicPipelineError
from topic_pipeline.params.trust import register_estimator

__all__ = ["BaseCluster", "BaseDimensionalityReduction", "ClassTfidfTransformer", "KeyBERTInspired",
           "MaximalMarginalRelevance", "OnlineCountVectorizer", "PartOfSpeech", "TopicModel",
           "RepresentationModel", "TopicPipelineError", "register_estimator", "register_representation"]

_LAZY = {
    "TopicModel": "topic_pipeline.model.topic_model",
    "KeyBERTInspired": "topic_pipeline.params.representation",
    "MaximalMarginalRelevance": "topic_pipeline.params.representation",
    "PartOfSpeech": "topic_pipeline.params.representation",
    "register_representation": "topic_pipeline.params.representation",
    "RepresentationModel": "topic_pipeline.representation.base",
    "BaseCluster": "topic_pipeline.model.placeholders",
    "BaseDimensionalityReduction": "topic_pipeline.model.placeholders",
    "ClassTfidfTransformer": "topic_pipeline.model.placeholders",
    "OnlineCountVectorizer": "topic_pipeline.model.placeholders",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'topic_pipeline' has no attribute {name!r}")
