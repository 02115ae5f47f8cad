"""The ``topic-pipeline`` command: run the pipeline through Dagster, query it with SQL.

It lives beside the assets (not in ``topic_pipeline``) because ``run`` needs
Dagster, and the library itself never imports Dagster.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from topic_pipeline.errors import ParamsError, TopicPipelineError
from topic_pipeline.params import PARAMS_ENV, load_params
from topic_pipeline.pipeline.gc import apply_gc, plan_gc
from topic_pipeline.pipeline.run_signature import remember_run, run_signature, unchanged_run
from topic_pipeline.pipeline.store import StageStore, atomic_write_bytes
from topic_pipeline.pipeline.warehouse import database_path, query

FORMATS = ("table", "csv", "json")
JOB_NAME = "topic_model"


def _run(args: argparse.Namespace) -> int:
    params = load_params(args.params)  # a bad params file is reported in one line before Dagster starts
    whole_run = not args.partition and not args.partition_range and args.select.strip() in ("", "*")
    signature = run_signature(params) if whole_run else None
    if not args.force and (unchanged := unchanged_run(StageStore.configured(params), signature)) is not None:
        _print_unchanged(unchanged)
        return 0
    import dagster as dg

    from assets.definitions import build_definitions
    from assets.sensors import RANGE_END_TAG, RANGE_START_TAG
    from resources import PipelineResource

    # the params file reaches the definitions and every step as the resource's configuration
    defs = build_definitions(PipelineResource(params_file=args.params))

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    tags = {"topic_pipeline/launched_by": "topic-pipeline run"}
    if args.partition_range:
        start, _, end = args.partition_range.partition("...")
        tags |= {RANGE_START_TAG: start, RANGE_END_TAG: end or start}
    store = StageStore.configured(params)
    first_run = not store.head_path.exists()
    # Dagster's own console log (with its traces) only behind --verbose; it always goes to a log file
    console_level = args.log_level if args.verbose else "CRITICAL"
    with _progress_on_terminal(enabled=not args.verbose), warnings.catch_warnings(record=not args.verbose) as caught:
        try:
            # the defined job, so the run shows in the UI as `topic_model` (dg.materialize would name it
            # __ephemeral_asset_job__); a selection runs a subset of it, with the checks of its assets
            result = defs.resolve_job_def(JOB_NAME).execute_in_process(
                run_config={"loggers": {"console": {"config": {"log_level": console_level}}}},
                instance=instance,
                partition_key=args.partition,
                raise_on_error=False,
                asset_selection=_selected_keys(defs, args.select),
                tags=tags,
            )
        except dg.DagsterError as exc:
            raise ParamsError(f"Dagster refused the run: {str(exc).splitlines()[0]}") from exc
    log_file = _write_run_log(instance, result.run_id, store, [str(w.message) for w in caught or []])
    _print_outcomes(result, args.partition_range)
    if result.success:
        remember_run(store, signature)
        if first_run and store.head_path.exists():
            _print_next_steps(store)
        return 0
    messages = _failure_messages(result) or [f"run {result.run_id} failed"]
    where = f" (full log: {log_file})" if log_file else ""
    for message in messages:
        print(f"error: {message}{where}", file=sys.stderr)
    return 1


def _print_unchanged(keys: dict[str, str]) -> None:
    """A run with nothing to compute: every stage as stored, without starting Dagster."""
    for name, key in keys.items():
        print(f"{name:<22} reused       0.00s  key {key}")
    print(f"Nothing changed since the last run: all {len(keys)} stages are stored and published "
          "(no Dagster run was started; --force starts one anyway).")


def _selected_keys(defs: Any, select: str) -> list[Any] | None:
    """The asset keys ``select`` names (Dagster's selection syntax); None for the whole job."""
    import dagster as dg

    if select.strip() in ("", "*"):
        return None
    try:
        keys = dg.AssetSelection.from_coercible(select).resolve(defs.resolve_asset_graph())
    except (dg.DagsterError, ValueError) as exc:
        raise ParamsError(f"--select {select!r} is not an asset selection: {str(exc).splitlines()[0]}") from exc
    if not keys:
        raise ParamsError(f"--select {select!r} selects no asset; the assets are the stages, e.g. 'clusters*'.")
    return sorted(keys)


def _print_next_steps(store: StageStore) -> None:
    """After the first run that publishes: where the results are and what to try next."""
    print(f"""
The results are in {database_path(store).resolve()} (DuckDB; the stage outputs under {store.shared_location}).
Next:
  topic-pipeline sql "select topic_id, size, name from topics order by size desc limit 10"
  topic-pipeline report --open    one HTML page of the topics and their figures, opens offline
  {_dg_dev_hint()}""")


def _dg_dev_hint() -> str:
    """``dg dev``, and how to make this run show there: without DAGSTER_HOME the run's history was not kept."""
    if os.environ.get("DAGSTER_HOME"):
        return "dg dev                          the Dagster UI: assets, their previews and quality checks"
    return ("DAGSTER_HOME=$PWD/.dagster_home dg dev   the Dagster UI (set DAGSTER_HOME for `topic-pipeline run` "
            "too,\n                                  so its runs show there)")


def _print_outcomes(result: Any, partition_range: str | None) -> None:
    """One line per materialized asset: computed or reused, seconds, store key."""
    shown_ranges = set()
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        name = event.asset_key.to_user_string() + (f"[{event.partition}]" if event.partition else "")
        if "store_key" in meta:
            state = "computed" if meta["computed"].value else "reused  "
            print(f"{name:<22} {state} {meta['seconds'].value:8.2f}s  key {meta['store_key'].value}")
        elif event.asset_key not in shown_ranges:  # a range run: one line per asset with its counts
            shown_ranges.add(event.asset_key)
            label = f"{event.asset_key.to_user_string()}[{partition_range}]"
            print(f"{label:<22} {meta['computed'].value} of {meta['partitions'].value} partitions computed")


def _failure_messages(result: Any) -> list[str]:
    """Our one-line message per failed step (``dg.Failure`` descriptions), else Dagster's first line."""
    messages = []
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            message = data.user_failure_data.description
        else:
            message = data.error.message.strip().splitlines()[0] if data.error else "failed"
        messages.append(f"{event.step_key}: {message}")
    if not messages:
        for event in result.all_events:
            if event.event_type_value == "PIPELINE_FAILURE" and event.message:
                messages.append(event.message.strip().splitlines()[0])
    return messages


def _write_run_log(instance: Any, run_id: str, store: StageStore, caught_warnings: list[str]) -> Path | None:
    """Every event of the run, tracebacks and Python warnings included, in ``<store>/_logs/<run_id>.log``."""
    try:
        entries = instance.all_logs(run_id)
        lines = [f"warning: {message}" for message in dict.fromkeys(caught_warnings)]
        for entry in entries:
            stamp = datetime.fromtimestamp(entry.timestamp, UTC).isoformat(timespec="milliseconds")
            step = f" {entry.step_key}" if entry.step_key else ""
            lines.append(f"{stamp} {logging.getLevelName(entry.level)}{step}: {entry.user_message or entry.message}")
            error = _event_error(entry)
            if error:
                lines.append(error.rstrip())
        path = store.root / "_logs" / f"{run_id}.log"
        atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())
        return path
    except Exception:  # a log we cannot write must not hide the run's own outcome
        return None


def _event_error(entry: Any) -> str | None:
    event = entry.dagster_event
    data = getattr(event, "event_specific_data", None) if event is not None else None
    error = getattr(data, "error", None)
    return error.to_string() if error is not None and hasattr(error, "to_string") else None


@contextlib.contextmanager
def _progress_on_terminal(*, enabled: bool) -> Iterator[None]:
    """Stage progress lines on stderr while a run goes, when stderr is a terminal (Dagster's log is hidden)."""
    from assets.stage_assets import PROGRESS_LOGGER

    logger = logging.getLogger(PROGRESS_LOGGER)
    handler = None
    if enabled and sys.stderr.isatty():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("  %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)


def _sql(args: argparse.Namespace) -> int:
    frame = query(StageStore.configured(_params_if_any(args)), args.query)
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        with_width = frame.to_string(index=False, max_colwidth=60)
        print(with_width)
    return 0


def _gc(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    store = StageStore.configured(params)
    plan = plan_gc(store, keep_runs=params.store.keep_runs)
    if plan.empty:
        print(f"nothing to delete under {store.location} ({plan.kept} stored outputs in use)")
        return 0
    for path in plan.paths:
        print(f"  {_store_relative(store, path)}")
    print(f"{len(plan.outputs)} stored outputs ({_size(plan.bytes)}), {len(plan.temporaries)} temporary files, "
          f"{len(plan.runs)} old run records would be deleted; {plan.kept} stored outputs stay "
          f"(current, in the warehouse, in a live run or in the last {params.store.keep_runs} runs)")
    if not args.yes:
        if not sys.stdin.isatty():
            print("nothing deleted: pass --yes to delete these")
            return 0
        if input("delete them? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 0
    removed = apply_gc(store, plan, keep_runs=params.store.keep_runs)
    print(f"deleted {len(removed)} of them")
    return 0


def _report(args: argparse.Namespace) -> int:
    """Write the HTML report from the published outputs (no stage runs), print its path, maybe open it."""
    from topic_pipeline.pipeline.report import write_report

    params = load_params(args.params)
    path = write_report(StageStore.configured(params), params, Path(args.out) if args.out else None)
    print(path)
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0


def _params_if_any(args: argparse.Namespace) -> Any:
    """The params file's settings for commands that only need the store's location (none when absent)."""
    if args.params is None and not os.environ.get(PARAMS_ENV) and not Path("params.yaml").exists():
        return None
    return load_params(args.params)


def _store_relative(store: StageStore, path: Any) -> str:
    """A path gc lists, relative to the store (the remote prefix or this machine's folder) it lies in."""
    for base in (store.shared_location, str(store.root.absolute())):
        text = str(path if "://" in str(path) else Path(path).absolute())
        if text.startswith(base + "/"):
            return text[len(base) + 1:] + ("" if base == store.shared_location else " (this machine's copy)")
    return str(path)


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} B"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="topic-pipeline", description="BERTopic-style topics as cached Dagster stages.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="materialize the pipeline in-process through Dagster")
    run.add_argument("--params", help=f"params file (default: ${PARAMS_ENV} or ./params.yaml)")
    run.add_argument("--select", default="*", help="Dagster asset selection, e.g. 'clusters*' (default: all)")
    window = run.add_mutually_exclusive_group()
    window.add_argument("--partition", help="one time window (when partitions.granularity is set), e.g. 1993-04-04")
    window.add_argument("--partition-range", help="windows FIRST...LAST in one run, e.g. 1993-03-28...1993-05-23")
    run.add_argument("--verbose", action="store_true", help="show Dagster's own log (and traces) on the terminal")
    run.add_argument("--force", action="store_true",
                     help="start a Dagster run even when nothing changed since the last one (every stage is reused)")
    run.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                     help="level of Dagster's log with --verbose")
    run.set_defaults(handler=_run)
    sql = commands.add_parser("sql", help="run a read-only SQL query against the DuckDB warehouse")
    sql.add_argument("query")
    sql.add_argument("--format", choices=FORMATS, default="table")
    sql.add_argument("--params", help=f"params file for store.root (default: ${PARAMS_ENV} or ./params.yaml, if any)")
    sql.set_defaults(handler=_sql)
    gc = commands.add_parser("gc", help="delete stored outputs nothing uses any more (lists them, then asks)")
    gc.add_argument("--yes", action="store_true", help="delete without asking")
    gc.add_argument("--params", help=f"params file for store.keep_runs (default: ${PARAMS_ENV} or ./params.yaml)")
    gc.set_defaults(handler=_gc)
    report = commands.add_parser("report", help="write the HTML report of the published results (runs no stage)")
    report.add_argument("--out", help="the HTML file to write (default: the report's place under the data root)")
    report.add_argument("--open", action="store_true", help="open the report in the web browser")
    report.add_argument("--params", help=f"params file (default: ${PARAMS_ENV} or ./params.yaml)")
    report.set_defaults(handler=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except TopicPipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
