"""``hedgegrid backtest CONFIG.toml [--out DIR]``: one command from a config to a report.

Exit codes: 0 done, 2 invalid config, 1 the backtest could not run (data, engine).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import structlog

from hedgegridd.errors import BacktestError, ConfigError, DataError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


def register(subparsers: Any) -> None:
    """Add the ``backtest`` subcommand to the ``hedgegrid`` tool."""
    parser = subparsers.add_parser(
        "backtest",
        help="run a backtest from a TOML config and write report.json + report.html",
        description=__doc__,
    )
    parser.add_argument("config", type=Path, help="backtest TOML (see etc/hedgegrid/)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (overrides out_dir)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log strategy INFO events")
    parser.set_defaults(handler=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    """Handler of ``hedgegrid backtest``."""
    level = logging.INFO if args.verbose else logging.WARNING
    previous = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
    try:
        return _run(args)
    finally:
        structlog.configure(**previous)  # leave the process' logging as it was


def _run(args: argparse.Namespace) -> int:
    from hedgegridd.backtest.config import load_backtest_config

    try:
        cfg = load_backtest_config(args.config)
    except ConfigError as exc:
        print(f"hedgegrid backtest: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from hedgegridd.backtest.runner import run_backtest

    try:
        outcome = run_backtest(cfg, out_dir=args.out, progress=not args.no_progress)
    except (BacktestError, DataError) as exc:
        print(f"hedgegrid backtest: {exc}", file=sys.stderr)
        return EXIT_FAILED
    m = outcome.metrics
    print(
        f"net_pnl={m['net_pnl']} return={m['total_return']} sharpe={m['sharpe']} "
        f"max_dd={m['max_drawdown']} round_trips={m['round_trips']} fills={m['fills']} "
        f"orders={m['orders']}"
    )
    print(f"report: {outcome.report_json} {outcome.report_html}")
    return EXIT_OK
