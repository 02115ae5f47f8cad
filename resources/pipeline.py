"""The one resource every stage asset uses: params file + stage store location."""

from __future__ import annotations

import dagster as dg

from topic_pipeline.params import PipelineParams, load_params
from topic_pipeline.pipeline.store import StageStore


class PipelineResource(dg.ConfigurableResource):
    """Where a run reads its parameters and writes its stage outputs.

    Left empty, both follow the environment: ``$TOPIC_PIPELINE_PARAMS`` (else
    ``./params.yaml``) and ``$TOPIC_PIPELINE_DATA`` (else ``./data/warehouse``).
    They are read when a run starts, so editing ``params.yaml`` affects the next run.
    """

    params_file: str | None = None
    data_root: str | None = None

    def load_params(self) -> PipelineParams:
        return load_params(self.params_file)

    def store(self, params: PipelineParams | None = None) -> StageStore:
        """``data_root`` if set, else ``$TOPIC_PIPELINE_DATA``, else params ``store.root`` (a folder or ``s3://``)."""
        if self.data_root:
            return StageStore(self.data_root)
        return StageStore.configured(params if params is not None else self.load_params())
