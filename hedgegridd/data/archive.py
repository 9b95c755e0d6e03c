"""Binance public archive files (data.binance.vision): read, and write for fixtures.

Supported USD-M files (monthly or daily, ``.zip`` holding one CSV, or the CSV):

- ``klines`` (``BTCUSDT-1m-2024-01.zip``) and ``mark_klines`` (markPriceKlines,
  same layout): open_time, open, high, low, close, volume, close_time,
  quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore;
- ``agg_trades`` (``BTCUSDT-aggTrades-2024-01.zip``): agg_trade_id, price,
  quantity, first_trade_id, last_trade_id, transact_time, is_buyer_maker;
- ``funding`` (``BTCUSDT-fundingRate-2024-01.zip``): calc_time,
  funding_interval_hours, last_funding_rate.

Older files have no header row, newer ones do; a header is recognised by its
first field not being a number. The data KIND and the timestamp UNIT are never
inferred: the caller declares both (USD-M futures archives are ms; spot archives
switched to us in 2025). Files are read in chunks of ``chunk_rows`` so memory
stays bounded; each chunk comes with the file line number of its first row.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from hedgegridd.data.instruments import BTCUSDT_PERP, InstrumentSpec
from hedgegridd.data.schema import (
    AGG_TRADE_COLUMNS,
    FUNDING_ARCHIVE_COLUMNS,
    KLINE_COLUMNS,
    DataKind,
    TimeUnit,
)
from hedgegridd.data.synthetic import SyntheticSpec, generate
from hedgegridd.errors import DataError

ARCHIVE_COLUMNS: dict[DataKind, tuple[str, ...]] = {
    DataKind.KLINES: KLINE_COLUMNS,
    DataKind.MARK_KLINES: KLINE_COLUMNS,
    DataKind.AGG_TRADES: AGG_TRADE_COLUMNS,
    DataKind.FUNDING: FUNDING_ARCHIVE_COLUMNS,
}
_FUNDING_RENAME = {
    "calc_time": "funding_time",
    "funding_interval_hours": "interval_hours",
    "last_funding_rate": "funding_rate",
}
_TIME_COLUMNS = ("open_time", "close_time", "transact_time", "calc_time")


@contextmanager
def _open_text(path: Path) -> Iterator[IO[bytes]]:
    """The CSV byte stream of ``path`` (inside a zip, its single .csv member)."""
    try:
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as zf:
                members = [n for n in zf.namelist() if n.lower().endswith(".csv")]
                if len(members) != 1:
                    raise DataError(f"{path}: expected one .csv inside the zip, found {members}")
                with zf.open(members[0]) as fh:
                    yield fh
        else:
            with path.open("rb") as fh:
                yield fh
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc


def _has_header(first_line: bytes) -> bool:
    field = first_line.removeprefix(b"\xef\xbb\xbf").split(b",", 1)[0].strip()
    try:
        float(field)
    except ValueError:
        return True
    return False


def read_archive(
    path: str | Path, kind: DataKind, *, chunk_rows: int = 1_000_000
) -> Iterator[tuple[pd.DataFrame, int]]:
    """Yield ``(chunk, line number of its first row)`` in the canonical layout of ``kind``.

    Column count is checked against the archive layout; a file with another
    layout raises ``DataError`` naming the file (wrong ``--kind``).
    """
    path = Path(path)
    columns = ARCHIVE_COLUMNS[kind]
    with _open_text(path) as raw:
        # Binary files and zip members both support peek(): look at line 1 without consuming it.
        stream: Any = raw
        first = stream.peek(4096)[:4096].split(b"\n", 1)[0]
        if not first.strip():
            return
        header = _has_header(first)
        width = len(first.rstrip(b"\r").split(b","))
        if width != len(columns):
            raise DataError(
                f"{path}: {width} columns, a Binance {kind.value} archive has {len(columns)} "
                f"({', '.join(columns)}); wrong --kind?"
            )
        try:
            reader = pd.read_csv(
                stream,
                header=None,
                names=list(columns),
                skiprows=1 if header else 0,
                chunksize=chunk_rows,
                engine="c",
                encoding="utf-8-sig",
                skip_blank_lines=True,
                low_memory=False,
            )
            line = 2 if header else 1
            for chunk in reader:
                if kind is DataKind.FUNDING:
                    chunk = chunk.rename(columns=_FUNDING_RENAME)
                yield chunk, line
                line += len(chunk)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"{path}: malformed CSV: {exc}") from exc


# -- writing archive files (fixtures, demos, benchmarks) ----------------------


def _column(frame: pd.DataFrame, name: str, n: int) -> np.ndarray:
    values: np.ndarray = frame[name].to_numpy() if name in frame else np.zeros(n)
    return values


def _fmt(values: np.ndarray, decimals: int) -> np.ndarray:
    result: np.ndarray = np.char.mod(f"%.{decimals}f", values)
    return result


def archive_frame(
    frame: pd.DataFrame,
    kind: DataKind,
    *,
    time_unit: TimeUnit = "ms",
    instrument: InstrumentSpec = BTCUSDT_PERP,
) -> pd.DataFrame:
    """A synthetic frame (ms times) as the strings Binance puts in the archive CSV.

    ``time_unit`` is ``ms`` (USD-M futures) or ``us`` (spot since 2025).
    """
    if time_unit not in ("ms", "us"):
        raise DataError(f"archive files use ms or us timestamps, not {time_unit!r}")
    scale = 1 if time_unit == "ms" else 1000
    pp = max(instrument.price_precision, 2)
    sp = instrument.size_precision
    out = pd.DataFrame()
    if kind in (DataKind.KLINES, DataKind.MARK_KLINES):
        n = len(frame)
        open_t = frame["open_time"].to_numpy(dtype=np.int64) * scale
        out["open_time"] = open_t.astype(str)
        for col in ("open", "high", "low", "close"):
            out[col] = _fmt(frame[col].to_numpy(), pp)
        out["volume"] = _fmt(_column(frame, "volume", n), sp)
        out["close_time"] = (open_t + 60_000 * scale - 1).astype(str)
        out["quote_volume"] = _fmt(_column(frame, "quote_volume", n), 5)
        out["count"] = _column(frame, "count", n).astype(np.int64).astype(str)
        out["taker_buy_volume"] = _fmt(_column(frame, "taker_buy_volume", n), sp)
        out["taker_buy_quote_volume"] = _fmt(_column(frame, "taker_buy_quote_volume", n), 5)
        out["ignore"] = "0"
        return out
    if kind is DataKind.AGG_TRADES:
        out["agg_trade_id"] = frame["agg_trade_id"].astype(str)
        out["price"] = _fmt(frame["price"].to_numpy(), pp)
        out["quantity"] = _fmt(frame["quantity"].to_numpy(), sp)
        out["first_trade_id"] = frame["first_trade_id"].astype(str)
        out["last_trade_id"] = frame["last_trade_id"].astype(str)
        out["transact_time"] = (frame["transact_time"].to_numpy(dtype=np.int64) * scale).astype(str)
        out["is_buyer_maker"] = np.where(frame["is_buyer_maker"].to_numpy(), "true", "false")
        return out
    out["calc_time"] = (frame["funding_time"].to_numpy(dtype=np.int64) * scale).astype(str)
    out["funding_interval_hours"] = "8"
    out["last_funding_rate"] = _fmt(frame["funding_rate"].to_numpy(), 8)
    return out


def write_archive(
    frame: pd.DataFrame,
    kind: DataKind,
    path: str | Path,
    *,
    header: bool = True,
    time_unit: TimeUnit = "ms",
    instrument: InstrumentSpec = BTCUSDT_PERP,
) -> Path:
    """Write ``frame`` as a Binance archive file (``.zip`` with one CSV, or ``.csv``)."""
    path = Path(path)
    text = archive_frame(frame, kind, time_unit=time_unit, instrument=instrument).to_csv(
        index=False, header=header, lineterminator="\n"
    )
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(path.with_suffix(".csv").name, text)
    else:
        path.write_text(text)
    return path


ARCHIVE_DIRS: dict[DataKind, tuple[str, str]] = {
    DataKind.KLINES: ("klines", "1m"),
    DataKind.MARK_KLINES: ("markPriceKlines", "1m"),
    DataKind.AGG_TRADES: ("aggTrades", "aggTrades"),
    DataKind.FUNDING: ("fundingRate", "fundingRate"),
}


def write_synthetic_archives(
    directory: str | Path, spec: SyntheticSpec, *, include_trades: bool = True
) -> list[Path]:
    """Generate ``spec`` and write it as Binance archive zips, one sub-directory per kind.

    Names follow data.binance.vision (``klines/BTCUSDT-1m-2024-01-01.zip``, ...); the
    files carry header rows and ms timestamps like current USD-M archives.
    """
    data = generate(spec, BTCUSDT_PERP)
    day = spec.start.strftime("%Y-%m-%d")
    frames = {
        DataKind.KLINES: data.bars,
        DataKind.MARK_KLINES: data.mark_bars,
        DataKind.AGG_TRADES: data.trades,
        DataKind.FUNDING: data.funding,
    }
    written: list[Path] = []
    for kind, frame in frames.items():
        if kind is DataKind.AGG_TRADES and not include_trades:
            continue
        sub, label = ARCHIVE_DIRS[kind]
        target = Path(directory) / sub
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create {target}: {exc}") from exc
        name = f"{BTCUSDT_PERP.symbol}-{label}-{day}.zip"
        written.append(write_archive(frame, kind, target / name))
    return written
