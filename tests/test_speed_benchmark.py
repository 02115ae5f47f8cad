"""The speed benchmark's own machinery (``benchmarks.speed*``), without running the benchmark.

The measurement helper must see a child's real CPU time and peak memory (a reading that silently
stays at the parent's size would make every memory ratio meaningless), and the table must say
"met" / "NOT MET" exactly where a number is inside / outside its target.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.speed_measure import MeasurementError, measure_command, summarize
from benchmarks.speed_plan import SCENARIOS, Plan, estimate, estimate_plan
from benchmarks.speed_table import add_ratios, evaluate_targets, format_table

ROOT = Path(__file__).resolve().parents[1]


def _measured_from_a_small_parent(code: str) -> dict:
    """``measure_command`` run in a fresh small interpreter, as ``benchmarks.speed`` runs it.

    A child's ``ru_maxrss`` starts from its parent's memory (see ``speed_measure``), and pytest's own
    process may be large after other tests: measured from here, a trivial child would read as big.
    """
    driver = ("import json, sys; from benchmarks.speed_measure import measure_command, own_peak_mib; "
              "sample = measure_command([sys.executable, '-c', sys.argv[1]]); "
              "print(json.dumps(sample | {'parent_peak_mib': own_peak_mib()}))")
    done = subprocess.run([sys.executable, "-c", driver, code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_measure_command_sees_the_childs_cpu_and_peak_memory():
    busy = "x = bytearray(200_000_000)\nfor _ in range(3_000_000): pass"
    sample = _measured_from_a_small_parent(busy)
    assert sample["peak_rss_mib"] * 1024 * 1024 >= 190e6, sample  # the 200 MB buffer was resident
    assert sample["peak_rss_mib"] < 200_000_000 / 2**20 + sample["parent_peak_mib"] + 50, sample
    assert 0.02 < sample["cpu_s"] <= sample["wall_s"] * 2 + 0.05, sample  # at most 2 cores busy
    assert sample["user_s"] + sample["sys_s"] == pytest.approx(sample["cpu_s"], abs=0.002)
    assert len(sample["load_before"]) == len(sample["load_after"]) == 3


def test_a_small_child_reads_small():
    sample = _measured_from_a_small_parent("pass")
    assert sample["peak_rss_mib"] < 100, sample


def test_a_failing_child_raises_with_its_output():
    with pytest.raises(MeasurementError, match="boom"):
        measure_command([sys.executable, "-c", "import sys; sys.exit('boom')"], label="failing")


def test_summarize_takes_the_median_of_each_field():
    samples = [{"wall_s": w, "cpu_s": w * 2, "peak_rss_mib": 100.0, "stdout": "x"} for w in (3.0, 1.0, 2.0)]
    summary = summarize(samples)
    assert summary["wall_s"] == 2.0 and summary["cpu_s"] == 4.0 and summary["repeats"] == 3
    assert all("stdout" not in sample for sample in summary["samples"])


def _row(scenario, ours_cpu, ours_mib, theirs_cpu, theirs_mib, wall=5.0):
    row = {"scenario": scenario, "label": scenario, "size": 18846,
           "ours": {"fit": {"wall_s": wall, "cpu_s": ours_cpu, "peak_rss_mib": ours_mib},
                    "full": {"wall_s": wall * 2, "cpu_s": ours_cpu * 2, "peak_rss_mib": ours_mib}},
           "bertopic": {"wall_s": 10.0, "cpu_s": theirs_cpu, "peak_rss_mib": theirs_mib}}
    add_ratios(row)
    evaluate_targets(row)
    return row


def test_targets_are_marked_met_and_not_met():
    cold = _row("cold", ours_cpu=40.0, ours_mib=700.0, theirs_cpu=100.0, theirs_mib=1000.0)  # 0.4x CPU, 0.7x mem
    assert [(t["text"], t["met"]) for t in cold["targets"]] == [("CPU<=0.5x", True), ("mem<=0.75x", True)]
    ngram = _row("ngram", ours_cpu=12.0, ours_mib=900.0, theirs_cpu=10.0, theirs_mib=1000.0)  # 1.2x CPU, 0.9x mem
    assert [(t["text"], t["met"]) for t in ngram["targets"]] == [("CPU<=1x", False), ("mem<=1x", True)]
    table = format_table([cold, ngram])
    lines = table.splitlines()
    cold_fit = next(line for line in lines if line.startswith("cold [fit]"))
    assert "0.40x" in cold_fit and "0.70x" in cold_fit and "CPU<=0.5x met, mem<=0.75x met" in cold_fit
    ngram_fit = next(line for line in lines if line.startswith("ngram [fit]"))
    assert "1.20x" in ngram_fit and "CPU<=1x NOT MET, mem<=1x met" in ngram_fit
    # the targets judge the BERTopic-equivalent configuration; "full" shows its ratio but is not judged
    assert next(line for line in lines if line.startswith("ngram [full]")).rstrip().endswith("| -")


def test_wall_targets_judge_every_configuration_and_no_target_is_not_met():
    unchanged = _row("unchanged", 1.0, 150.0, 1.0, 1.0, wall=1.2)  # fit 1.2 s, full 2.4 s
    assert [(t["config"], t["met"]) for t in unchanged["targets"]] == [("fit", True), ("full", False)]
    stop_words = _row("stop_words", 5.0, 100.0, 1.0, 100.0)  # 5x, but stop words have no target
    assert stop_words["targets"] == []
    assert "| -" in format_table([stop_words]).splitlines()[2]


def test_a_failed_scenario_shows_as_failed():
    from benchmarks.speed_run import failed_row

    row = failed_row("clustering", 2000, MeasurementError("ours clustering fit exited with 1:\nTraceback ..."))
    line = format_table([row]).splitlines()[2]
    assert line.startswith("min_cluster_size 10->15") and "FAILED: ours clustering fit exited with 1:" in line


def test_the_estimate_interpolates_and_covers_every_scenario():
    assert estimate("cold", "bertopic", 2000) == pytest.approx(19)
    assert 19 < estimate("cold", "bertopic", 3500) < 37
    plan = Plan(scenarios=SCENARIOS, size=18846,
                cold_sizes=(2000, 5000, 18846), repeats=3, embedding_texts=300)
    estimates = estimate_plan(plan)
    assert {"cold", "clustering", "assign", "unchanged", "embedding"} <= set(estimates)
    assert 0 < sum(estimates.values()) < 40 * 60
