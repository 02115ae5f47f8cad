"""Dagster resources: where the params file and the stage store live."""

from resources.pipeline import PipelineResource

__all__ = ["PipelineResource"]
