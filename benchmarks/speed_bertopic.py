"""The BERTopic 0.17.4 side of the speed benchmark: a worker process, JSON in (argv) and JSON lines out.

    python -m benchmarks.speed_bertopic '{"mode": "cold", "corpus": "posts_2000.parquet", "embeddings": "posts_2000.npy"}'

``cold``: import BERTopic and run ``fit_transform(docs, embeddings)`` once, print one JSON line; the
parent measures the whole process with ``wait4`` (imports and numba compilation included, as a user's
fresh script pays them).

``warm``: fit once (not measured), print ``{"ready": ...}``, then read operation names from stdin, one
per line, and measure each alone, in this process: CPU by ``time.process_time()`` (every thread),
wall by ``perf_counter``, and the operation's own peak memory by resetting the kernel's high-water
mark before it (``/proc/self/clear_refs`` <- 5) and reading ``VmHWM`` after. ``rss_before_mib`` is the
fitted process's resident size just before the operation (after ``gc.collect`` and ``malloc_trim``, so
memory an earlier operation freed is not counted again).

One fitted process answers many operations because a fit of the full corpus costs minutes and each
warm measurement would otherwise pay one: the process waits, idle, while the parent runs our side
between two operations, so pairs stay interleaved. No operation changes what a later one sees: the
``update_topics`` variants are followed (unmeasured) by ``update_topics(docs)``, which restores the
fitted representation, and the refits build new ``BERTopic`` objects while the fitted one stays in
memory, as in a user's session. The first ``transform`` of a process compiles UMAP's transform code,
so the worker runs one small unmeasured transform after the fit (its cost is reported as
``transform_first_call``): every ``transform_new`` sample is then the same warm operation, which
favours BERTopic by that compile time. Every fit uses ``benchmarks.parity``'s UMAP (BERTopic's defaults,
``random_state=42``).
"""

from __future__ import annotations

import ctypes
import gc
import json
import resource
import sys
import time
from typing import Any

OPERATIONS = ("transform_new", "top_n_words_20", "stop_words_english", "ngram_1_2",
              "refit_min_cluster_15", "refit_probabilities", "refit_with_new")
UPDATES = ("top_n_words_20", "stop_words_english", "ngram_1_2")  # change the fitted model: restored after


def _umap() -> Any:
    from umap import UMAP

    return UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False, random_state=42)


def _bertopic(**kwargs: Any) -> Any:
    from bertopic import BERTopic

    return BERTopic(umap_model=_umap(), **kwargs)


def _status_kib(field: str) -> int:
    """``VmRSS`` or ``VmHWM`` of this process in KiB (-1 where /proc has none)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def _release_freed_memory() -> None:
    """Collect garbage and hand freed heap pages back, so the next reading starts from live memory only."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> bool:
    """Reset the kernel's resident high-water mark to the current size (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _cpu_seconds() -> float:
    """CPU of every thread of this process, plus that of child processes it reaped (joblib workers, if any)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measure_in_process(operation: Any) -> dict[str, Any]:
    """CPU, wall and peak RSS of ``operation()`` alone, in this process (see the module doc)."""
    _release_freed_memory()
    rss_before = _status_kib("VmRSS")
    reset = _reset_peak()
    cpu, wall = _cpu_seconds(), time.perf_counter()
    result = operation()
    cpu, wall = _cpu_seconds() - cpu, time.perf_counter() - wall
    peak = _status_kib("VmHWM")
    del result
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_rss_mib": round(peak / 1024, 1),
            "rss_before_mib": round(rss_before / 1024, 1), "peak_reset": reset}


def _load(spec: dict[str, Any]) -> tuple[list[str], Any, list[str], Any]:
    """Texts and embeddings of the fit, and of the new documents when ``spec`` names them."""
    import numpy as np
    import pandas as pd

    docs = pd.read_parquet(spec["corpus"], columns=["text"])["text"].tolist()
    embeddings = np.load(spec["embeddings"])
    new_docs, new_embeddings = [], None
    if spec.get("new_corpus"):
        new_docs = pd.read_parquet(spec["new_corpus"], columns=["text"])["text"].tolist()
        start, stop = spec["new_rows"]
        new_embeddings = np.ascontiguousarray(np.load(spec["all_embeddings"], mmap_mode="r")[start:stop])
    return docs, embeddings, new_docs, new_embeddings


def _operation(name: str, model: Any, docs: list[str], embeddings: Any, new_docs: list[str], new_embeddings: Any) -> Any:
    """The callable BERTopic runs for one scenario (its names are ``OPERATIONS``)."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    table = {
        "transform_new": lambda: model.transform(new_docs, embeddings=new_embeddings),
        "top_n_words_20": lambda: model.update_topics(docs, top_n_words=20),
        "ngram_1_2": lambda: model.update_topics(docs, n_gram_range=(1, 2)),
        "stop_words_english": lambda: model.update_topics(docs, vectorizer_model=CountVectorizer(stop_words="english")),
        "refit_min_cluster_15": lambda: _bertopic(min_topic_size=15).fit_transform(docs, embeddings),
        "refit_probabilities": lambda: _bertopic(calculate_probabilities=True).fit_transform(docs, embeddings),
        "refit_with_new": lambda: _bertopic().fit_transform(docs + new_docs, np.vstack([embeddings, new_embeddings])),
    }
    return table[name]


def run_cold(spec: dict[str, Any]) -> dict[str, Any]:
    docs, embeddings, _, _ = _load(spec)
    topics, _ = _bertopic().fit_transform(docs, embeddings)
    return {"documents": len(docs), "topics": len(set(topics)) - (1 if -1 in topics else 0)}


def _restore(model: Any, docs: list[str]) -> None:
    """Back to the fitted representation (BERTopic's defaults) after an ``update_topics`` variant; not measured."""
    model.update_topics(docs)


def _fit_and_warm_up(model: Any, docs: list[str], embeddings: Any, warm_transform: bool) -> dict[str, Any]:
    """The unmeasured fit, and (when ``transform_new`` may be asked) one small transform.

    UMAP compiles its transform code on the first transform of a process; paying it here (recorded
    as ``transform_first_call``, not in any median) makes every ``transform_new`` sample the same warm
    operation, whichever repeat it is.
    """
    started = time.perf_counter()
    topics, _ = model.fit_transform(docs, embeddings)
    ready: dict[str, Any] = {"ready": True, "documents": len(docs), "fit_wall_s": round(time.perf_counter() - started, 1),
                             "topics": len(set(topics)) - (1 if -1 in topics else 0)}
    if warm_transform:
        ready["transform_first_call"] = measure_in_process(lambda: model.transform(docs[-5:], embeddings=embeddings[-5:]))
    _release_freed_memory()
    return ready | {"rss_after_fit_mib": round(_status_kib("VmRSS") / 1024, 1)}


def serve_warm(spec: dict[str, Any], requests: Any = sys.stdin, replies: Any = sys.stdout) -> None:
    """Fit once (not measured), answer ``{"ready": ...}``, then measure one operation per line read.

    The process stays alive between operations, idle, so the parent can run our side in between
    (pairs interleaved) without paying BERTopic's fit again; "quit" or end of input ends it.
    """
    docs, embeddings, new_docs, new_embeddings = _load(spec)
    model = _bertopic()
    _reply(replies, _fit_and_warm_up(model, docs, embeddings, warm_transform=bool(new_docs)))
    for line in requests:
        name = line.strip()
        if name in ("", "quit"):
            break
        if name not in OPERATIONS:
            _reply(replies, {"error": f"unknown operation {name!r}"})
            continue
        sample = measure_in_process(_operation(name, model, docs, embeddings, new_docs, new_embeddings))
        if name in UPDATES:
            _restore(model, docs)
        _reply(replies, sample)


def _reply(replies: Any, value: dict[str, Any]) -> None:
    replies.write(json.dumps(value) + "\n")
    replies.flush()


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    if spec["mode"] == "cold":
        print(json.dumps(run_cold(spec)))  # the one line the parent reads
    else:
        serve_warm(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
