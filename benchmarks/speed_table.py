"""The speed benchmark's targets and its plain-text table.

The targets are the issue's: each names a metric (ours/BERTopic ratio of CPU seconds or of peak RSS,
or our wall seconds), a bound, and the configurations it judges. Ratio targets judge the ``fit``
configuration only: it computes what BERTopic's ``fit_transform`` computes, so the two sides do the
same work; ``full`` (every stage on) is shown beside it for information. The cold-fit targets are
for all 18,846 posts, so they judge the largest cold-fit size of the run, which says its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    metric: str  # "cpu_ratio", "memory_ratio" or "wall_s"
    limit: float
    configs: tuple[str, ...] = ("fit",)

    def describe(self) -> str:
        if self.metric == "wall_s":
            return f"wall<={self.limit:g}s"
        return f"{'CPU' if self.metric == 'cpu_ratio' else 'mem'}<={self.limit:g}x"


TARGETS: dict[str, tuple[Target, ...]] = {
    "cold": (Target("cpu_ratio", 0.5), Target("memory_ratio", 0.75)),
    "clustering": (Target("cpu_ratio", 0.3),),
    "top_n_words": (Target("cpu_ratio", 1.0),),
    "ngram": (Target("cpu_ratio", 1.0), Target("memory_ratio", 1.0)),
    "unchanged": (Target("wall_s", 1.5, ("fit", "full")),),
    "dg_launch": (Target("wall_s", 10.0, ("fit", "full")),),
    "assign": (Target("cpu_ratio", 0.2),),
}


def ratio(ours: dict[str, Any] | None, theirs: dict[str, Any] | None, field: str) -> float | None:
    """ours / BERTopic of one median field; None when a side is missing or BERTopic's value is zero."""
    if not ours or not theirs or ours.get(field) is None or not theirs.get(field):
        return None
    return round(ours[field] / theirs[field], 3)


def add_ratios(row: dict[str, Any]) -> None:
    """``row["ratios"][config] = {"cpu": ..., "memory": ...}`` for each of our configurations."""
    row["ratios"] = {config: {"cpu": ratio(summary, row.get("bertopic"), "cpu_s"),
                              "memory": ratio(summary, row.get("bertopic"), "peak_rss_mib")}
                     for config, summary in row.get("ours", {}).items() if summary}


def _value(row: dict[str, Any], config: str, metric: str) -> float | None:
    if metric == "wall_s":
        return (row.get("ours", {}).get(config) or {}).get("wall_s")
    return row.get("ratios", {}).get(config, {}).get("cpu" if metric == "cpu_ratio" else "memory")


def evaluate_targets(row: dict[str, Any], judged: bool = True) -> None:
    """``row["targets"]``: each target of the row's scenario with its value and met / not met (None: not measured).

    ``judged`` False (a cold fit smaller than the largest of the run) leaves the targets off the row.
    """
    results = []
    for target in TARGETS.get(row["scenario"], ()) if judged else ():
        for config in target.configs:
            if config not in row.get("ours", {}):
                continue
            value = _value(row, config, target.metric)
            results.append({"config": config, "metric": target.metric, "limit": target.limit, "value": value,
                            "met": None if value is None else value <= target.limit, "text": target.describe()})
    row["targets"] = results


def _seconds(summary: dict[str, Any] | None) -> str:
    if not summary or summary.get("wall_s") is None:
        return "n/a"
    return f"{summary['wall_s']:.1f}/{summary['cpu_s']:.1f}"


def _mib(summary: dict[str, Any] | None) -> str:
    return "n/a" if not summary or summary.get("peak_rss_mib") is None else f"{summary['peak_rss_mib']:.0f}"


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _target_text(row: dict[str, Any], config: str) -> str:
    parts = []
    for result in row.get("targets", []):
        if result["config"] == config:
            verdict = "n/a" if result["met"] is None else ("met" if result["met"] else "NOT MET")
            parts.append(f"{result['text']} {verdict}")
    return ", ".join(parts) or "-"


HEADER = ("scenario", "ours wall/CPU s", "ours peak MiB", "BERTopic wall/CPU s", "peak MiB",
          "CPU ratio", "memory ratio", "target")


def table_lines(rows: list[dict[str, Any]]) -> list[list[str]]:
    """One line per row and configuration of ours; BERTopic's columns repeat for each."""
    lines = []
    for row in rows:
        if row.get("error"):
            reason = next((line for line in row["error"].splitlines() if line.strip()), "failed")
            lines.append([row["label"], f"FAILED: {reason[:90]}", "", "", "", "", "", "-"])
            continue
        for config, summary in row.get("ours", {}).items():
            theirs = row.get("bertopic")
            ratios = row.get("ratios", {}).get(config, {})
            lines.append([f"{row['label']} [{config}]", _seconds(summary), _mib(summary),
                          _seconds(theirs) if theirs else "-", _mib(theirs) if theirs else "-",
                          _times(ratios.get("cpu")) if theirs else "-", _times(ratios.get("memory")) if theirs else "-",
                          _target_text(row, config)])
    return lines


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned plain-text table (the header, a rule, one line per configuration)."""
    lines = [list(HEADER), *table_lines(rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    text = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines]
    text.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(text)


def format_embedding(report: dict[str, Any] | None) -> str:
    """Embedding throughput per backend from ``benchmarks.embedding_backends``' JSON, or why there is none."""
    if not report or "throughput" not in report:
        reason = (report or {}).get("status", "not available")
        return f"embedding throughput per backend: {reason}"
    lines = [f"embedding throughput per backend ({report.get('texts')} posts, fresh process each):",
             f"{'backend':<10} {'docs/s':>8} {'CPU s':>8} {'one-time s':>11}"]
    for backend, values in report["throughput"].items():
        once = (report.get("one_time") or {}).get(backend, {}).get("seconds")
        rate, cpu = values.get("docs_per_second"), values.get("cpu_seconds")
        lines.append(f"{backend:<10} {_num(rate, 1):>8} {_num(cpu, 1):>8} {_num(once, 1):>11}")
    return "\n".join(lines)


def _num(value: Any, digits: int) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.{digits}f}"
