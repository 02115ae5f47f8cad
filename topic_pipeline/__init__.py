"""topic_pipeline: BERTopic-style topic modeling as cached stages (no Dagster import here)."""

from topic_pipeline.errors import TopicPipelineError
from topic_pipeline.model import TopicModel

__all__ = ["TopicModel", "TopicPipelineError"]
