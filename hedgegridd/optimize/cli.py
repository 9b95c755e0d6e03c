"""``hedgegrid optimize CONFIG.toml [--workers N] [--trials N] [--out DIR] [--resume]``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

import structlog

from hedgegridd.errors import HedgegridError

log = structlog.get_logger(__name__)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {value}")
    return value


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def register(subparsers: Any) -> None:
    """Add the ``optimize`` subcommand."""
    p = subparsers.add_parser(
        "optimize",
        help="search grid parameters with Optuna over backtests",
        description="Optuna study over backtests: searches with the screening engine, "
        "re-runs the [rerun] top_k finalists on the held-out window with Nautilus and "
        "writes the best of those (best-params.toml), summary.json, report.txt and "
        "report.html. --resume continues an interrupted study or joins one shared by "
        "other hosts (same storage and config).",
    )
    p.add_argument(
        "config", type=Path, help="optimizer TOML (see etc/hedgegrid/optimize-example.toml)"
    )
    p.add_argument("--workers", type=_positive, default=None, help="worker processes on this host")
    p.add_argument("--trials", type=_positive, default=None, help="total trials in the study")
    p.add_argument("--out", type=Path, default=Path("optimize-out"), help="output folder")
    p.add_argument("--resume", action="store_true", help="continue or join an existing study")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handler: 0 done, 2 bad config or failed run, 130/143 interrupted (SIGINT/SIGTERM)."""
    from hedgegridd.optimize.config import load_optimize_config
    from hedgegridd.optimize.study import run_optimization

    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # unwinds: workers fail their trial, exit
    try:
        config = load_optimize_config(args.config)
        result = run_optimization(
            config,
            args.out,
            workers=args.workers,
            trials=args.trials,
            resume=args.resume,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
    except HedgegridError as exc:
        print(f"hedgegrid optimize: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, SystemExit) as exc:
        code = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 130
        print(
            "hedgegrid optimize: interrupted; running trials were recorded as failed. "
            "Continue the study with --resume.",
            file=sys.stderr,
        )
        return code
    from hedgegridd.optimize.output import SUMMARY_FILE, TEXT_REPORT_FILE, final_summary

    print(f"study {result.study.study_name}: {len(result.study.trials)} trials")
    print((args.out / TEXT_REPORT_FILE).read_text(encoding="utf-8"), end="")
    summary = json.loads((args.out / SUMMARY_FILE).read_text(encoding="utf-8"))
    print(final_summary(summary, args.out.resolve()), end="")
    return 0
