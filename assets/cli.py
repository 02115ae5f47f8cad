"""The ``topic-pipeline`` command: run the pipeline through Dagster, query it with SQL.

It lives beside the assets (not in ``topic_pipeline``) because ``run`` needs
Dagster, and the library itself never imports Dagster.
"""

from __future__ import annotations

import argparse
import os
import sys

from topic_pipeline.errors import TopicPipelineError
from topic_pipeline.params import PARAMS_ENV, load_params
from topic_pipeline.store import StageStore

FORMATS = ("table", "csv", "json")


def _run(args: argparse.Namespace) -> int:
    if args.params:
        os.environ[PARAMS_ENV] = args.params  # read by the definitions (code versions) and the resource
    load_params()  # a bad params file is reported in one line before Dagster starts
    import dagster as dg

    from assets.definitions import defs

    from assets.sensors import RANGE_END_TAG, RANGE_START_TAG

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    tags = {"topic_pipeline/launched_by": "topic-pipeline run"}
    if args.partition_range:
        start, _, end = args.partition_range.partition("...")
        tags |= {RANGE_START_TAG: start, RANGE_END_TAG: end or start}
    result = dg.materialize(
        list(defs.assets),
        selection=args.select,
        instance=instance,
        resources=defs.resources,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
        tags=tags,
        partition_key=args.partition,
    )
    shown_ranges = set()
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        name = event.asset_key.to_user_string() + (f"[{event.partition}]" if event.partition else "")
        if "store_key" in meta:
            state = "computed" if meta["computed"].value else "reused  "
            print(f"{name:<22} {state} {meta['seconds'].value:8.2f}s  key {meta['store_key'].value}")
        elif event.asset_key not in shown_ranges:  # a range run: one line per asset with its counts
            shown_ranges.add(event.asset_key)
            label = f"{event.asset_key.to_user_string()}[{args.partition_range}]"
            print(f"{label:<22} {meta['computed'].value} of {meta['partitions'].value} partitions computed")
    if result.success:
        return 0
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        message = data.user_failure_data.description if data.user_failure_data else (data.error.message if data.error else "")
        print(f"error: {event.step_key}: {message}".rstrip(), file=sys.stderr)
    return 1


def _sql(args: argparse.Namespace) -> int:
    from topic_pipeline.warehouse import query

    frame = query(StageStore(), args.query)
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        with_width = frame.to_string(index=False, max_colwidth=60)
        print(with_width)
    return 0


def _gc(args: argparse.Namespace) -> int:
    removed = StageStore().gc()
    print(f"removed {len(removed)} stored outputs that are not current")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="topic-pipeline", description="BERTopic-style topics as cached Dagster stages.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="materialize the pipeline in-process through Dagster")
    run.add_argument("--params", help=f"params file (default: ${PARAMS_ENV} or ./params.yaml)")
    run.add_argument("--select", default="*", help="Dagster asset selection, e.g. 'clusters*' (default: all)")
    window = run.add_mutually_exclusive_group()
    window.add_argument("--partition", help="one time window (when partitions.granularity is set), e.g. 1993-04-04")
    window.add_argument("--partition-range", help="windows FIRST...LAST in one run, e.g. 1993-03-28...1993-05-23")
    run.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    run.set_defaults(handler=_run)
    sql = commands.add_parser("sql", help="run a read-only SQL query against the DuckDB warehouse")
    sql.add_argument("query")
    sql.add_argument("--format", choices=FORMATS, default="table")
    sql.set_defaults(handler=_sql)
    gc = commands.add_parser("gc", help="delete stored stage outputs that are no longer current")
    gc.set_defaults(handler=_gc)
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
