"""``hedgegrid backtest CONFIG.toml [--out DIR] [--engine nautilus|screen]``: config -> report.

``--engine nautilus`` (default) runs the real strategy on the Nautilus engine and writes
report.json + report.html; ``--engine screen`` runs the compiled screening kernel
(``hedgegridd.screen``) on the same bars, funding and fees and writes report.json
only. Both carry ``engine``, ``bars``, ``fills``, ``round_trips``, ``fees``,
``net_pnl`` and ``run_seconds`` (engine time, excluding imports and data loading).

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
    parser.add_argument(
        "--engine",
        choices=("nautilus", "screen"),
        default="nautilus",
        help="nautilus (reference, default) or screen (compiled kernel, for screening)",
    )
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
    if args.engine == "screen":
        return _run_screen(cfg, args.out)
    from hedgegridd.backtest.runner import run_backtest

    try:
        outcome = run_backtest(cfg, out_dir=args.out, progress=not args.no_progress)
    except (BacktestError, DataError) as exc:
        print(f"hedgegrid backtest: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(summary_text(outcome.metrics))
    paths = [p for p in (outcome.report_json, outcome.report_html) if p is not None]
    print("report: " + " ".join(str(p.resolve()) for p in paths))
    return EXIT_OK


def summary_text(m: dict[str, Any]) -> str:
    """The headline figures with units and the Sharpe's annualization basis."""
    quote = m.get("units", {}).get("net_pnl", "")
    lines = [
        f"net_pnl={m['net_pnl']} {quote}  return={m.get('total_return_pct')} %  "
        f"max_drawdown={m.get('max_drawdown_pct')} %  fees={m['fees']} {quote}",
        f"round_trips={m['round_trips']} fills={m['fills']} orders={m['orders']}",
    ]
    ann = m.get("annualization")
    if ann:
        lines.append(f"sharpe={m['sharpe']} sortino={m['sortino']} (annualized)")
        lines.append(f"  basis: {ann['basis']}; period {ann['period_days']} days")
        if ann.get("caveat"):
            lines.append(f"caveat: {ann['caveat']}")
    return "\n".join(lines)


def _run_screen(cfg: Any, out: Path | None) -> int:
    """The screening engine on the backtest's own data; writes report.json."""
    from hedgegridd.backtest.report import currencies, run_record, write_json
    from hedgegridd.backtest.runner import _load, ensure_catalog, with_fees
    from hedgegridd.screen.market import from_nautilus
    from hedgegridd.screen.run import ScreenVenue, run_screen

    try:
        ensure_catalog(cfg)
        instrument, bars, funding, marks = _load(cfg)
        if not bars:
            raise BacktestError(f"no bars for {cfg.instrument_id} in the window")
        instrument = with_fees(instrument, cfg.venue.maker_fee, cfg.venue.taker_fee)
        arrays = from_nautilus(instrument, bars, funding, marks)
        result = run_screen(cfg.strategy, arrays, ScreenVenue.of(cfg.venue), record_fills=False)
    except (BacktestError, DataError) as exc:
        print(f"hedgegrid backtest: {exc}", file=sys.stderr)
        return EXIT_FAILED
    m = result.summary()
    m.update(
        instrument_id=cfg.instrument_id,
        start_balance=str(cfg.venue.starting_balance),
        funding_paid=f"{result.funding_paid:.4f}",
        funding_received=f"{result.funding_received:.4f}",
        orders=result.orders,
        cancels=result.cancels,
        rejects=result.rejects,
        maker_ratio=None if not result.fills else round(result.maker_fills / result.fills, 4),
        run=run_record(
            params=cfg.strategy.model_dump(mode="json"),
            catalog=cfg.catalog,
            instrument_id=cfg.instrument_id,
            start=cfg.start,
            end=cfg.end,
            bars=len(bars),
            engine="screen",
        ),
    )
    target = out or cfg.out_dir
    target.mkdir(parents=True, exist_ok=True)
    path = write_json(m, target)
    print(
        f"engine=screen net_pnl={m['net_pnl']} {currencies(cfg.instrument_id)[1]} "
        f"max_drawdown={round(float(m['max_drawdown']) * 100, 4)} % "
        f"round_trips={m['round_trips']} fills={m['fills']} run_seconds={m['run_seconds']} s"
    )
    print(f"report: {path.resolve()}")
    return EXIT_OK
