"""Measuring one child process: wall seconds, CPU seconds (user + sys, its children included), peak RSS.

Why ``os.wait4`` and not ``resource.getrusage(RUSAGE_CHILDREN)``: wait4 returns the usage of exactly
the child it reaps (and of the descendants that child waited for), so two measurements never mix,
whatever else this process has run before.

Why the orchestrator stays small: Linux starts a child's ``ru_maxrss`` from the memory of the process
that spawned it (a forked child inherits the parent's resident pages in its high-water mark; a
vfork/posix_spawn child takes the parent's peak at exec). This module, and ``benchmarks.speed`` which
calls it, therefore import only the standard library: no numpy, pandas or Dagster in the parent, so
its own peak (reported as ``orchestrator_peak_mib``) is the floor of every reading, some 15-25 MiB.

``ru_maxrss`` is the largest resident size of any one process in the tree (not a sum): for a run that
starts step processes it is the biggest step, which is what a machine must hold at once when the
steps run one after another.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class MeasurementError(RuntimeError):
    """A measured command failed or ran out of time; the message carries the end of its output."""


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded: a busy machine explains a slow reading."""
    return [round(value, 2) for value in os.getloadavg()]


def own_peak_mib() -> float:
    """This process's own peak RSS: the floor under every child's ``ru_maxrss`` (see the module doc)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def measure_command(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
                    timeout_s: float = 1800.0, label: str = "") -> dict[str, Any]:
    """Run ``argv`` in its own process (and session) and measure it with ``os.wait4``.

    Output goes to temporary files, not pipes: a child that writes more than a pipe holds would
    block while we sit in ``wait4``. On timeout the whole process group is killed. Returns wall_s,
    cpu_s, user_s, sys_s, peak_rss_mib, load averages before and after, and the child's stdout.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        before = load_average()
        started = time.perf_counter()
        process = subprocess.Popen(list(argv), env=dict(env) if env is not None else None, cwd=cwd,
                                   stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        timer = threading.Timer(timeout_s, _kill_group, args=(process.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
        after = load_average()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        reason = "timed out" if wall >= timeout_s else f"exited with {process.returncode}"
        tail = (stderr.strip() or stdout.strip())[-3000:]
        raise MeasurementError(f"{label or argv[0]} {reason} after {wall:.1f} s:\n{tail}")
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "user_s": round(usage.ru_utime, 3),
        "sys_s": round(usage.ru_stime, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        "load_before": before,
        "load_after": after,
        "stdout": stdout,
    }


def run_quiet(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
              timeout_s: float = 1800.0, label: str = "") -> str:
    """An unmeasured step (a setup run, a data preparation, a SQL check); its stdout, or an error with its tail."""
    done = subprocess.run(list(argv), env=dict(env) if env is not None else None, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip())[-3000:]
        raise MeasurementError(f"{label or argv[0]} exited with {done.returncode}:\n{tail}")
    return done.stdout


def python_argv(module: str, *args: str) -> list[str]:
    """``python -m module args`` with this interpreter (the venv's)."""
    return [sys.executable, "-m", module, *args]


def venv_script(name: str) -> str:
    """A console script beside this interpreter (``topic-pipeline``, ``dg``), so no PATH lookup is needed."""
    return str(Path(sys.executable).with_name(name))


MEDIAN_FIELDS = ("wall_s", "cpu_s", "peak_rss_mib", "rss_before_mib")


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each measured field over the repeats, and every repeat as it was (stdout dropped)."""
    kept = [{k: v for k, v in sample.items() if k != "stdout"} for sample in samples]
    summary: dict[str, Any] = {"repeats": len(kept), "samples": kept}
    for field in MEDIAN_FIELDS:
        values = [sample[field] for sample in kept if sample.get(field) is not None]
        if values:
            summary[field] = round(statistics.median(values), 3)
    return summary


class WarmWorker:
    """A long-lived measuring worker (``benchmarks.speed_bertopic`` in ``warm`` mode) spoken to by JSON lines.

    It fits first, then measures one operation per request in its own process (see that module); the
    parent adds the load averages around each request. Lines that are not JSON objects (a library
    printing to stdout) are skipped. ``close`` ends it and records its whole-process CPU and peak.
    """

    def __init__(self, argv: Sequence[str], *, cwd: Path | None = None, timeout_s: float = 3600.0) -> None:
        """Start the worker; it fits at once, while the parent may prepare other (unmeasured) things."""
        self._err = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(list(argv), cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._err, text=True, start_new_session=True)
        self.timeout_s = timeout_s
        self.whole_process: dict[str, Any] = {}
        self.ready: dict[str, Any] | None = None

    def wait_ready(self) -> dict[str, Any]:
        """Wait for the fit to finish; its reply (fit seconds, topics, RSS after the fit)."""
        if self.ready is None:
            self.ready = self._reply("fit")
        return self.ready

    def _reply(self, what: str) -> dict[str, Any]:
        timer = threading.Timer(self.timeout_s, _kill_group, args=(self.process.pid,))
        timer.start()
        try:
            while line := self.process.stdout.readline():
                if line.startswith("{"):
                    reply = json.loads(line)
                    if "error" in reply:
                        raise MeasurementError(f"BERTopic worker: {reply['error']}")
                    return reply
        finally:
            timer.cancel()
        self._err.seek(0)
        raise MeasurementError(f"BERTopic worker died during {what}:\n{self._err.read()[-3000:]}")

    def measure(self, operation: str) -> dict[str, Any]:
        self.wait_ready()
        before = load_average()
        self.process.stdin.write(operation + "\n")
        self.process.stdin.flush()
        sample = self._reply(operation)
        return sample | {"load_before": before, "load_after": load_average()}

    def close(self) -> None:
        """Ask the worker to quit and reap it (``wait4``: its CPU over the fit and every operation)."""
        if self.process.returncode is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
            _, status, usage = os.wait4(self.process.pid, 0)
            self.process.returncode = os.waitstatus_to_exitcode(status)
            self.whole_process = {"cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                                  "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}
        self.process.stdout.close()
        self._err.close()

    def __enter__(self) -> WarmWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            _kill_group(self.process.pid)
        self.close()
