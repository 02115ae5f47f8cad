"""Which measurements a speed run makes, in which order, how many times, and how long that should take.

Scenarios run in this order: the cold fits; the scenarios that BERTopic answers from a warm process
(one fitted BERTopic worker per base slice, see ``speed_bertopic``); nothing changed (ours only); the
embedding backends. Within a scenario each repeat runs ours ``fit``, BERTopic, ours ``full``, so
pairs interleave and a slow spell of the machine hits both sides. Each side takes ``repeats``
samples (median reported) unless its first sample took ``LONG_S`` seconds or more: one sample then.

Estimates are wall seconds measured on the 2-core machine this was written on (load 2 from other
work, so they lean high), interpolated linearly in the number of posts between 2,000, 5,000 and
18,846.
"""

from __future__ import annotations

from dataclasses import dataclass

SCENARIOS = ("cold", "clustering", "top_n_words", "ngram", "stop_words", "assign", "refit", "unchanged",
             "dg_launch", "probabilities", "embedding")
LABELS = {
    "cold": "cold fit {n}", "clustering": "min_cluster_size 10->15", "top_n_words": "top_n_words 10->20",
    "ngram": "ngram_range [1,2]", "stop_words": "stop_words english", "assign": "+1% docs, assign",
    "refit": "+1% docs, refit", "unchanged": "nothing changed (run)", "dg_launch": "nothing changed (dg launch)",
    "probabilities": "calculate_probabilities", "embedding": "embedding backends",
}
# our params change -> BERTopic's warm operation (``speed_bertopic.OPERATIONS``)
BERTOPIC_OPS = {"clustering": "refit_min_cluster_15", "top_n_words": "top_n_words_20", "ngram": "ngram_1_2",
                "stop_words": "stop_words_english", "assign": "transform_new", "refit": "refit_with_new",
                "probabilities": "refit_probabilities"}
INCREMENT_SCENARIOS = ("assign", "refit")
OUR_CONFIGS = {"cold": ("fit", "full"), "assign": ("fit",), "refit": ("fit",), "dg_launch": ("full",)}
DEFAULT_CONFIGS = ("fit", "full")
COLD_SIZES = (2000, 5000, 18846)
LONG_S = 60.0
# benchmarks.embedding_backends --skip-topics: 39 s on 100 posts here (derived models built once, four backends)
EMBEDDING_FIXED_S, EMBEDDING_PER_TEXT_S = 30.0, 0.1

# wall seconds of one sample at (2,000, 5,000, 18,846) posts: (scenario, side) -> values; "copy" is
# copying a base store for one repeat, "bertopic_fit" BERTopic's warm fit, "setup_<config>" a base run
ESTIMATES: dict[tuple[str, str], tuple[float, float, float]] = {
    ("cold", "fit"): (11, 14, 24), ("cold", "full"): (17, 20, 49), ("cold", "bertopic"): (19, 37, 54),
    ("clustering", "fit"): (4, 5, 6), ("clustering", "full"): (6, 7, 11), ("clustering", "bertopic"): (6, 8, 24),
    ("top_n_words", "fit"): (4, 4, 6), ("top_n_words", "full"): (5, 6, 9), ("top_n_words", "bertopic"): (1, 1, 4),
    ("ngram", "fit"): (6, 8, 19), ("ngram", "full"): (8, 13, 35), ("ngram", "bertopic"): (2, 4, 11),
    ("stop_words", "fit"): (4, 5, 10), ("stop_words", "full"): (6, 7, 15), ("stop_words", "bertopic"): (1, 1, 4),
    ("probabilities", "fit"): (4, 5, 25), ("probabilities", "full"): (5, 7, 30), ("probabilities", "bertopic"): (6, 9, 35),
    ("assign", "fit"): (6, 7, 15), ("assign", "bertopic"): (3, 1, 3),
    ("refit", "fit"): (11, 13, 30), ("refit", "bertopic"): (6, 8, 30),
    ("unchanged", "fit"): (1, 1, 1), ("unchanged", "full"): (1, 1, 1), ("dg_launch", "full"): (4, 4, 7),
    ("store", "copy"): (0.3, 0.5, 2), ("store", "bertopic_fit"): (18, 36, 58),
    ("store", "setup_fit"): (11, 14, 24), ("store", "setup_full"): (17, 20, 49),
}
_POINTS = (2000, 5000, 18846)


def estimate(scenario: str, side: str, n: int) -> float:
    """Wall seconds of one sample of ``side`` in ``scenario`` at ``n`` posts, interpolated linearly."""
    values = ESTIMATES[(scenario, side)]
    low = 0 if n <= _POINTS[1] else 1  # the segment n falls in (or extends)
    (x0, x1), (y0, y1) = _POINTS[low:low + 2], values[low:low + 2]
    return max(0.1, y0 + (y1 - y0) * (n - x0) / (x1 - x0))


def planned_repeats(seconds: float, repeats: int) -> int:
    return 1 if seconds >= LONG_S else repeats


@dataclass(frozen=True)
class Plan:
    scenarios: tuple[str, ...]
    size: int  # scenarios 2-8
    cold_sizes: tuple[int, ...]
    repeats: int
    embedding_texts: int

    def configs(self, scenario: str) -> tuple[str, ...]:
        return OUR_CONFIGS.get(scenario, DEFAULT_CONFIGS)


def _scenario_seconds(plan: Plan, scenario: str, n: int) -> float:
    """Every sample of one scenario at ``n`` posts: our configurations, BERTopic's side, the store copies."""
    sides = [*plan.configs(scenario)] + (["bertopic"] if scenario in BERTOPIC_OPS or scenario == "cold" else [])
    total = 0.0
    for side in sides:
        seconds = estimate(scenario, side, n)
        repeats = planned_repeats(seconds, plan.repeats)
        copies = side != "bertopic" and scenario not in ("cold", "unchanged", "dg_launch")
        total += repeats * (seconds + (estimate("store", "copy", n) if copies else 0.0))
    return total


def _setup_seconds(plan: Plan) -> float:
    """Base stores and BERTopic's warm fits; a warm fit runs while our base stores are built."""
    n, chosen = plan.size, set(plan.scenarios)
    base_stores = 0.0 if "cold" in chosen else sum(estimate("store", f"setup_{c}", n) for c in ("fit", "full"))
    warm = [s for s in plan.scenarios if s in BERTOPIC_OPS]
    setup = 0.0
    if any(s not in INCREMENT_SCENARIOS for s in warm):
        setup += max(estimate("store", "bertopic_fit", n), base_stores)
    elif chosen & {"unchanged", "dg_launch"}:
        setup += base_stores
    increments = [s for s in warm if s in INCREMENT_SCENARIOS]
    if increments:
        setup += max(estimate("store", "bertopic_fit", n), len(increments) * estimate("store", "setup_fit", n))
    return setup


def estimate_plan(plan: Plan) -> dict[str, float]:
    """Estimated wall seconds per scenario, and of the setups (base stores, BERTopic's warm fits)."""
    out: dict[str, float] = {}
    for scenario in plan.scenarios:
        if scenario == "cold":
            out["cold"] = sum(_scenario_seconds(plan, "cold", size) for size in plan.cold_sizes)
        elif scenario == "embedding":
            out["embedding"] = EMBEDDING_FIXED_S + EMBEDDING_PER_TEXT_S * plan.embedding_texts
        else:
            out[scenario] = _scenario_seconds(plan, scenario, plan.size)
    if setup := _setup_seconds(plan):
        out["setup"] = setup
    return {name: round(seconds) for name, seconds in out.items()}
