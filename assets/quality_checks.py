"""Topic-quality asset checks on ``topic_representations``, shown in the UI's checks tab.

The stage computes the numbers (``quality_*`` keys of its metadata; a reused output carries its
manifest's); here they are compared with the thresholds of params section ``quality``. A threshold
of None turns that comparison off; a number the stage did not compute passes with a note, since
"not measured" is not a bad model. Failing checks have the section's severity, WARN by default:
a model with a low coherence is still a model a user may want to look at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import dagster as dg

from topic_pipeline.params import PipelineParams
from topic_pipeline.pipeline.outputs import round_number

CHECKED_STAGE = "topic_representations"

@dataclass(frozen=True)
class QualityCheck:
    """One check: the metadata key holding its value and the thresholds bounding it."""

    name: str
    value_key: str
    minimum: str | None
    maximum: str | None
    description: str


CHECKS = (
    QualityCheck("npmi_coherence", "quality_npmi", "min_npmi", None,
                 "Mean NPMI coherence of the topics' top words on the corpus (as gensim's c_npmi); "
                 "at least quality.min_npmi."),
    QualityCheck("topic_diversity", "quality_diversity", "min_diversity", None,
                 "Unique top-10 words / (10 x topics); at least quality.min_diversity."),
    QualityCheck("outlier_share", "quality_outlier_share", None, "max_outlier_share",
                 "Share of documents in the outlier topic -1; at most quality.max_outlier_share."),
    QualityCheck("topic_count", "quality_topics", "min_topics", "max_topics",
                 "Number of topics (outliers not counted); between quality.min_topics and quality.max_topics."),
)


def quality_check_specs(stage_name: str) -> list[dg.AssetCheckSpec]:
    """The check specs of ``stage_name``'s asset: the quality checks on topic_representations, else none."""
    if stage_name != CHECKED_STAGE:
        return []
    return [dg.AssetCheckSpec(check.name, asset=stage_name, description=check.description) for check in CHECKS]


def quality_settings(params: PipelineParams) -> dict[str, Any]:
    """The ``quality`` section's thresholds and severity."""
    return params.quality.model_dump()


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def evaluate(check: QualityCheck, metadata: dict[str, Any], settings: dict[str, Any]) -> dg.AssetCheckResult:
    """The result of ``check`` on a stage outcome's ``metadata`` under the ``settings`` thresholds."""
    severity = dg.AssetCheckSeverity.ERROR if settings["severity"] == "ERROR" else dg.AssetCheckSeverity.WARN
    value = _number(metadata.get(check.value_key))
    low = settings[check.minimum] if check.minimum else None
    high = settings[check.maximum] if check.maximum else None
    shown: dict[str, Any] = {"minimum": low, "maximum": high}
    if value is None:
        note = f"not computed: the stage output has no '{check.value_key}'"
        return dg.AssetCheckResult(check_name=check.name, passed=True, severity=severity,
                                   metadata={"note": note, **_present(shown)}, asset_key=CHECKED_STAGE)
    passed = (low is None or value >= low) and (high is None or value <= high)
    value_shown = int(value) if check.value_key == "quality_topics" else round_number(value)
    return dg.AssetCheckResult(check_name=check.name, passed=passed, severity=severity,
                               metadata={"value": value_shown, **_present(shown)}, asset_key=CHECKED_STAGE)


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def quality_check_results(context: dg.AssetExecutionContext, metadata: dict[str, Any], params: PipelineParams
                          ) -> list[dg.AssetCheckResult]:
    """One result per quality check the run selected, from the outcome metadata of topic_representations."""
    if context.assets_def.key.to_user_string() != CHECKED_STAGE:
        return []
    selected = {key.name for key in context.selected_asset_check_keys}
    settings = quality_settings(params)
    return [evaluate(check, metadata, settings) for check in CHECKS if check.name in selected]
