"""``hedgegrid data import|fetch|synth|inspect``: the market data pipeline's command line.

Exit codes (also in ``--help``): 0 ok; 2 usage error; 3 data rejected (bad rows
above ``--max-reject-fraction``, or timestamps not in the declared
``--time-unit``); 4 I/O or network error (unreadable file, unwritable catalog,
REST failure). Nothing is written to the catalog when an import fails.

The command functions import the pipeline modules when they run, so that
``hedgegrid --help`` does not pay for importing nautilus_trader.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import structlog
from pydantic import ValidationError

from hedgegridd.data.instruments import (
    BTCUSDT_PERP,
    InstrumentSpec,
    load_exchange_info,
    spec_from_exchange_info,
)
from hedgegridd.data.kinds import (
    DEFAULT_TIME_UNIT,
    TIME_UNITS,
    DataKind,
    RejectThresholdError,
    TimestampUnitError,
)
from hedgegridd.errors import ConfigError, DataError

DESCRIPTION = (
    "Import Binance public archives or CSV files, fetch history from the REST API, "
    "generate seeded synthetic data, and inspect the Nautilus Parquet catalog that "
    "backtests, the optimizer and the simulator read. Bars are stamped at their close."
)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_IO = 4

EXIT_CODES_HELP = (
    "exit codes: 0 ok; 2 usage error; 3 data rejected (bad rows above "
    "--max-reject-fraction, or timestamps not in the declared --time-unit); "
    "4 I/O or network error. A failed import leaves the catalog unchanged."
)
KINDS = [k.value for k in DataKind]


def _utc(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be within 0..1")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _common(p: argparse.ArgumentParser, *, instrument: bool = True) -> None:
    p.add_argument("--catalog", required=instrument, type=Path, help="ParquetDataCatalog directory")
    if instrument:
        p.add_argument("--symbol", default="BTCUSDT", help="symbol (default BTCUSDT)")
        p.add_argument(
            "--exchange-info",
            type=Path,
            help="saved GET /fapi/v1/exchangeInfo JSON (default: built-in BTCUSDT-PERP)",
        )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers: Any) -> None:
    """Add ``data`` and its subcommands to the ``hedgegrid`` parser."""
    data = subparsers.add_parser(
        "data",
        help="import, fetch, generate and inspect market data",
        description=DESCRIPTION,
        epilog=EXIT_CODES_HELP,
    )
    sub = data.add_subparsers(dest="data_command", metavar="COMMAND", required=True)

    imp = sub.add_parser(
        "import",
        help="import Binance archive files (or a mapped CSV) into a catalog",
        epilog=EXIT_CODES_HELP,
    )
    imp.add_argument("paths", nargs="+", type=Path, help=".zip/.csv files or directories")
    imp.add_argument("--kind", required=True, choices=KINDS, help="what the files hold")
    imp.add_argument(
        "--time-unit",
        choices=TIME_UNITS,
        help="unit of the file's timestamps (default ms: USD-M archives; spot 2025+ is us)",
    )
    imp.add_argument(
        "--columns",
        help="generic CSV: canonical=source column pairs, e.g. transact_time=ts,price=px",
    )
    imp.add_argument("--delimiter", default=",", help="generic CSV delimiter (default: ,)")
    imp.add_argument(
        "--max-reject-fraction",
        type=_fraction,
        default=0.001,
        help="fail (exit 3) when more than this fraction of rows is invalid (default: 0.001)",
    )
    imp.add_argument(
        "--chunk-rows",
        type=_positive,
        default=1_000_000,
        help="rows read per chunk; bounds memory (default: 1000000)",
    )
    imp.add_argument(
        "--mark-precision", type=int, help="decimals for mark prices (default: the tick's)"
    )
    _common(imp)
    imp.set_defaults(handler=_guarded(_cmd_import))

    fetch = sub.add_parser(
        "fetch", help="download history from the Binance REST API", epilog=EXIT_CODES_HELP
    )
    fetch.add_argument("--kind", required=True, choices=KINDS, help="what to download")
    fetch.add_argument("--start", required=True, type=_utc, help="ISO date/time (UTC)")
    fetch.add_argument("--end", required=True, type=_utc, help="ISO date/time (UTC), exclusive")
    fetch.add_argument(
        "--base-url",
        default="https://fapi.binance.com",
        help="REST base URL (default: https://fapi.binance.com)",
    )
    fetch.add_argument("--no-resume", action="store_true", help="do not skip what is stored")
    fetch.add_argument(
        "--max-attempts",
        type=_positive,
        default=6,
        help="tries per request on 429/418/5xx (default: 6)",
    )
    fetch.add_argument(
        "--max-reject-fraction",
        type=_fraction,
        default=0.001,
        help="fail (exit 3) when more than this fraction of rows is invalid (default: 0.001)",
    )
    _common(fetch)
    fetch.set_defaults(handler=_guarded(_cmd_fetch))

    synth = sub.add_parser(
        "synth", help="generate seeded synthetic data into a catalog", epilog=EXIT_CODES_HELP
    )
    synth.add_argument(
        "--seed", type=int, default=0, help="random seed; same seed, same data (default: 0)"
    )
    synth.add_argument(
        "--minutes",
        type=_positive,
        default=7 * 1440,
        help="length in 1-minute bars (default: 10080, one week)",
    )
    synth.add_argument(
        "--start",
        type=_utc,
        default=datetime(2024, 1, 1, tzinfo=UTC),
        help="ISO date/time (UTC) of the first bar's open (default: 2024-01-01T00:00Z)",
    )
    synth.add_argument(
        "--start-price", default="50000", help="price of the first bar's open (default: 50000)"
    )
    synth.add_argument("--no-trades", action="store_true", help="bars, marks, funding only")
    synth.add_argument(
        "--archive-dir",
        type=Path,
        help="instead of a catalog, write Binance archive zips (klines/, markPriceKlines/, "
        "aggTrades/, fundingRate/) to import with 'hedgegrid data import'",
    )
    _common(synth, instrument=False)
    synth.set_defaults(handler=_guarded(_cmd_synth))

    insp = sub.add_parser("inspect", help="summarize a catalog", epilog=EXIT_CODES_HELP)
    insp.add_argument("--catalog", required=True, type=Path, help="ParquetDataCatalog directory")
    insp.add_argument("--json", action="store_true", help="print the summary as JSON")
    insp.set_defaults(handler=_guarded(_cmd_inspect))


def _guarded(command: Any) -> Any:
    def handler(args: argparse.Namespace) -> int:
        _ensure_logging()
        try:
            code: int = command(args)
            return code
        except (RejectThresholdError, TimestampUnitError) as exc:
            print(f"hedgegrid data: rejected: {exc}", file=sys.stderr)
            return EXIT_REJECTED
        except (ConfigError, ValidationError) as exc:
            print(f"hedgegrid data: usage: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except DataError as exc:
            print(f"hedgegrid data: error: {exc}", file=sys.stderr)
            return EXIT_IO

    return handler


def _ensure_logging() -> None:
    """Send log events to stderr (stdout carries the summary) unless already configured."""
    if not structlog.is_configured():
        structlog.configure(
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
            wrapper_class=structlog.make_filtering_bound_logger(30),
        )


def _instrument(args: argparse.Namespace) -> InstrumentSpec:
    if args.exchange_info is None:
        if args.symbol != BTCUSDT_PERP.symbol:
            raise ConfigError(f"--symbol {args.symbol} needs --exchange-info (built-in: BTCUSDT)")
        return BTCUSDT_PERP
    return spec_from_exchange_info(load_exchange_info(args.exchange_info), args.symbol)


def _print(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    print(f"catalog: {summary['catalog']}")
    for k in summary["kinds"]:
        print(
            f"  {k['kind']:<12} read {k['rows_read']:>10}  written {k['rows_written']:>10}  "
            f"already stored {k['rows_skipped_existing']:>9}  duplicates {k['duplicates']:>6}  "
            f"rejected {k['rejected']:>6}"
        )
        print(f"  {'':<12} range {k['first']} .. {k['last']}")
        print(f"  {'':<12} gaps {k['gap_count']} (missing {k['missing_total']})")
        for g in k["gaps"][:5]:
            print(f"  {'':<14} {g['after']} -> {g['before']}: {g['missing']} missing")
        for r in k["rejected_samples"][:5]:
            print(f"  {'':<14} rejected row {r['row']}: {r['reason']}")
        if k["rejected_by_reason"]:
            print(f"  {'':<12} rejected by reason {k['rejected_by_reason']}")


def _cmd_import(args: argparse.Namespace) -> int:
    from hedgegridd.data.csv_source import CsvMapping, parse_column_map
    from hedgegridd.data.importer import run_import

    kind = DataKind(args.kind)
    unit = args.time_unit or DEFAULT_TIME_UNIT[kind]
    mapping = None
    if args.columns:
        mapping = CsvMapping(
            kind=kind,
            time_unit=unit,
            columns=parse_column_map(args.columns),
            delimiter=args.delimiter,
        )
    summary = run_import(
        args.paths,
        kind=kind,
        catalog=args.catalog,
        instrument=_instrument(args),
        time_unit=unit,
        mapping=mapping,
        max_reject_fraction=args.max_reject_fraction,
        chunk_rows=args.chunk_rows,
        mark_precision=args.mark_precision,
        progress=not args.quiet,
    )
    _print(summary.to_dict(), args.json)
    return EXIT_OK


def _cmd_fetch(args: argparse.Namespace) -> int:
    from hedgegridd.data.fetch import run_fetch
    from hedgegridd.data.importer import progress_bar
    from hedgegridd.data.pipeline import ImportSummary
    from hedgegridd.data.rest import BinanceHistoryClient, RestConfig

    kind = DataKind(args.kind)
    start_ms = int(args.start.timestamp() * 1000)
    end_ms = int(args.end.timestamp() * 1000) - 1
    if end_ms < start_ms:
        raise ConfigError("--end must be after --start")
    instrument = _instrument(args)
    config = RestConfig(base_url=args.base_url, max_attempts=args.max_attempts)

    async def go() -> ImportSummary:
        summary = ImportSummary(str(args.catalog))
        with progress_bar(None, f"fetch {kind.value}", enabled=not args.quiet) as bar:
            async with BinanceHistoryClient(config) as client:
                summary.kinds.append(
                    await run_fetch(
                        client,
                        kind=kind,
                        catalog=str(args.catalog),
                        instrument=instrument,
                        start_ms=start_ms,
                        end_ms=end_ms,
                        resume=not args.no_resume,
                        max_reject_fraction=args.max_reject_fraction,
                        on_rows=bar.update,
                    )
                )
        return summary

    _print(anyio.run(go).to_dict(), args.json)
    return EXIT_OK


def _cmd_synth(args: argparse.Namespace) -> int:
    from hedgegridd.data.archive import write_synthetic_archives
    from hedgegridd.data.catalog import write_synthetic_catalog
    from hedgegridd.data.synthetic import SyntheticSpec

    spec = SyntheticSpec(
        seed=args.seed, minutes=args.minutes, start=args.start, start_price=args.start_price
    )
    if args.archive_dir is not None:
        files = write_synthetic_archives(args.archive_dir, spec, include_trades=not args.no_trades)
        if args.json:
            print(json.dumps({"archives": [str(f) for f in files]}, indent=2))
        else:
            print("\n".join(str(f) for f in files))
        return EXIT_OK
    if args.catalog is None:
        raise ConfigError("synth needs --catalog or --archive-dir")
    summary = write_synthetic_catalog(args.catalog, spec, include_trades=not args.no_trades)
    _print(summary.to_dict(), args.json)
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    from hedgegridd.data.inspect_catalog import inspect_catalog

    instruments, series = inspect_catalog(args.catalog)
    if args.json:
        doc: dict[str, Any] = {
            "catalog": str(args.catalog),
            "instruments": instruments,
            "series": [s.to_dict() for s in series],
        }
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    print(f"catalog: {args.catalog}")
    print(f"instruments: {', '.join(instruments) or '(none)'}")
    for s in series:
        d = s.to_dict()
        print(f"  {d['kind']:<12} {d['identifier']}")
        print(f"  {'':<12} rows {d['rows']} in {d['files']} files, {d['first']} .. {d['last']}")
        print(f"  {'':<12} gaps {d['gap_count']} (missing {d['missing_total']})")
        for g in d["gaps"][:5]:
            print(f"  {'':<14} {g['after']} -> {g['before']}: {g['missing']} missing")
    return EXIT_OK
