"""topic_pipeline: BERTopic-style topic modeling as cached stages (no Dagster import here).

``TopicModel`` and the representation models are imported on first use, so
importing one stage module does not pull in the whole facade.
"""

from topic_pipeline.errors import TopicPipelineError
from topic_pipeline.trust import register_estimator

__all__ = ["BaseCluster", "BaseDimensionalityReduction", "ClassTfidfTransformer", "KeyBERTInspired",
           "MaximalMarginalRelevance", "OnlineCountVectorizer", "PartOfSpeech", "TopicModel",
           "TopicPipelineError", "register_estimator"]

_LAZY = {
    "TopicModel": "topic_pipeline.model",
    "KeyBERTInspired": "topic_pipeline.aspects",
    "MaximalMarginalRelevance": "topic_pipeline.aspects",
    "PartOfSpeech": "topic_pipeline.aspects",
    "BaseCluster": "topic_pipeline.placeholders",
    "BaseDimensionalityReduction": "topic_pipeline.placeholders",
    "ClassTfidfTransformer": "topic_pipeline.placeholders",
    "OnlineCountVectorizer": "topic_pipeline.placeholders",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'topic_pipeline' has no attribute {name!r}")
