"""Binance archive and generic CSV imports into the catalog, end to end on real files."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from hedgegridd.data.archive import read_archive, write_archive
from hedgegridd.data.catalog import load_bars, load_funding, load_mark_prices, load_trades
from hedgegridd.data.csv_source import CsvMapping, parse_column_map
from hedgegridd.data.importer import run_import
from hedgegridd.data.instruments import BTCUSDT_PERP
from hedgegridd.data.schema import DataKind
from hedgegridd.data.synthetic import SyntheticSpec, generate
from hedgegridd.data.validate import RejectThresholdError
from hedgegridd.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def data():
    """One day of synthetic market data."""
    return generate(SyntheticSpec(seed=21, minutes=1440))


def _import(paths, kind, catalog, unit="ms", **kw):
    return run_import(
        paths, kind=kind, catalog=catalog, instrument=BTCUSDT_PERP, time_unit=unit, **kw
    ).kinds[0]


def _lines(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.read(zf.namelist()[0]).decode().splitlines()


def _rezip(path: Path, lines: list[str]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(path.with_suffix(".csv").name, "\n".join(lines) + "\n")


@pytest.mark.parametrize("header", [True, False])
def test_klines_archive_with_and_without_header(tmp_path: Path, data, header: bool) -> None:
    """A 1m klines zip, headerless (old) or with header (new), imports every bar exactly."""
    path = write_archive(
        data.bars, DataKind.KLINES, tmp_path / "BTCUSDT-1m-2024-01-01.zip", header=header
    )
    assert _lines(path)[0].startswith("open_time") == header
    kind = _import([path], DataKind.KLINES, tmp_path / "cat")
    assert (kind.rows_read, kind.rows_written, kind.rejected) == (1440, 1440, 0)
    bars = load_bars(tmp_path / "cat")
    assert [b.close.as_decimal() for b in bars[:3]] == [
        Decimal(f"{c:.1f}") for c in data.bars.close[:3]
    ]
    assert bars[0].ts_event == (data.bars.open_time.iloc[0] + 60_000) * 1_000_000


def test_agg_trades_in_microseconds_declared_us(tmp_path: Path, data) -> None:
    """A us-stamped aggTrades file declared us gives the same instants as the ms file."""
    ms = write_archive(data.trades, DataKind.AGG_TRADES, tmp_path / "t.zip", header=False)
    us = write_archive(data.trades, DataKind.AGG_TRADES, tmp_path / "t-us.csv", time_unit="us")
    assert _lines(ms)[0].split(",")[5] + "000" == us.read_text().splitlines()[1].split(",")[5]
    _import([ms], DataKind.AGG_TRADES, tmp_path / "a")
    _import([us], DataKind.AGG_TRADES, tmp_path / "b", unit="us")
    a, b = load_trades(tmp_path / "a"), load_trades(tmp_path / "b")
    assert len(a) == len(b) == len(data.trades)
    assert [t.ts_event for t in a[:50]] == [t.ts_event for t in b[:50]]


def test_unit_mismatch_fails_naming_file_and_row_and_writes_nothing(tmp_path: Path, data) -> None:
    """A us file imported as ms fails with file and line; the catalog gets no trades."""
    us = write_archive(data.trades, DataKind.AGG_TRADES, tmp_path / "spot-us.csv", time_unit="us")
    with pytest.raises(DataError, match=r"spot-us.csv: row 2: timestamp \d+ is not a ms"):
        _import([us], DataKind.AGG_TRADES, tmp_path / "cat", unit="ms")
    assert not list((tmp_path / "cat").rglob("*.parquet"))


def test_corrupted_rows_reported_by_line(tmp_path: Path, data) -> None:
    """Garbage, truncated and negative rows are rejected with their file line numbers."""
    path = write_archive(data.bars, DataKind.KLINES, tmp_path / "k.zip", header=True)
    lines = _lines(path)
    fields = lines[10].split(",")
    lines[10] = ",".join([fields[0], "abc", *fields[2:]])  # line 11
    lines[20] = ",".join(lines[20].split(",")[:4])  # line 21: truncated
    fields = lines[30].split(",")
    lines[30] = ",".join([*fields[:3], "-5.00", *fields[4:]])  # line 31: negative low
    _rezip(path, lines)
    kind = _import([path], DataKind.KLINES, tmp_path / "cat", max_reject_fraction=0.01)
    assert kind.rejected == 3
    assert kind.rows_written == 1437
    assert kind.rejected_samples == [
        (11, "unparsable"),
        (21, "unparsable"),
        (31, "non_positive_price"),
    ]
    assert kind.gaps.gap_count == 3


def test_too_many_bad_rows_fail_the_import(tmp_path: Path, data) -> None:
    """Above the threshold the import raises and nothing reaches the catalog."""
    path = write_archive(data.bars, DataKind.KLINES, tmp_path / "k.zip", header=False)
    lines = _lines(path)
    for i in range(0, 100, 2):
        f = lines[i].split(",")
        lines[i] = ",".join([*f[:3], "-1", *f[4:]])
    _rezip(path, lines)
    with pytest.raises(RejectThresholdError, match="50 of 1440"):
        _import([path], DataKind.KLINES, tmp_path / "cat")
    assert not list((tmp_path / "cat").rglob("*.parquet"))


def test_gaps_and_duplicates_in_archive(tmp_path: Path, data) -> None:
    """Missing minutes show in the gap report; duplicated lines are dropped and counted."""
    path = write_archive(data.bars, DataKind.KLINES, tmp_path / "k.zip", header=False)
    lines = _lines(path)
    lines = lines[:100] + lines[105:500] + [lines[499], lines[499]] + lines[500:]
    _rezip(path, lines)
    kind = _import([path], DataKind.KLINES, tmp_path / "cat", chunk_rows=250)
    assert kind.duplicates == 2
    assert (kind.gaps.gap_count, kind.gaps.missing_total) == (1, 5)
    assert kind.rows_written == 1435
    assert len(load_bars(tmp_path / "cat")) == 1435


def test_idempotent_reimport_of_monthly_files(tmp_path: Path, data) -> None:
    """Importing a directory of daily files twice writes each bar once."""
    d = tmp_path / "in"
    d.mkdir()
    write_archive(data.bars.iloc[:700], DataKind.KLINES, d / "BTCUSDT-1m-2024-01-01a.zip")
    write_archive(data.bars.iloc[700:], DataKind.KLINES, d / "BTCUSDT-1m-2024-01-01b.zip")
    first = _import([d], DataKind.KLINES, tmp_path / "cat")
    second = _import([d], DataKind.KLINES, tmp_path / "cat")
    assert first.rows_written == 1440
    assert (second.rows_written, second.rows_skipped_existing) == (0, 1440)
    assert len(load_bars(tmp_path / "cat")) == 1440


def test_funding_archive(tmp_path: Path, data) -> None:
    """The fundingRate archive imports rate and interval; rates are exact decimals."""
    path = write_archive(data.funding, DataKind.FUNDING, tmp_path / "BTCUSDT-fundingRate.zip")
    assert _lines(path)[0] == "calc_time,funding_interval_hours,last_funding_rate"
    kind = _import([path], DataKind.FUNDING, tmp_path / "cat")
    assert kind.rows_written == len(data.funding)
    rates = load_funding(tmp_path / "cat")
    assert rates[0].rate == Decimal(f"{data.funding.funding_rate.iloc[0]:.8f}").normalize()
    assert rates[0].interval == 480


def test_wrong_kind_is_refused(tmp_path: Path, data) -> None:
    """A funding file imported as klines fails on its column count, naming the file."""
    path = write_archive(data.funding, DataKind.FUNDING, tmp_path / "f.csv")
    with pytest.raises(DataError, match=r"f.csv: 3 columns, a Binance klines archive has 12"):
        list(read_archive(path, DataKind.KLINES))


def test_generic_csv_with_column_mapping(tmp_path: Path, data) -> None:
    """A CSV with its own column names imports through a mapping; ids default to lines."""
    path = tmp_path / "mine.csv"
    trades = data.trades.head(500)
    path.write_text(
        "when;px;amount\n"
        + "".join(
            f"{t};{p:.1f};{q:.3f}\n"
            for t, p, q in zip(trades.transact_time, trades.price, trades.quantity, strict=True)
        )
    )
    mapping = CsvMapping(
        kind=DataKind.AGG_TRADES,
        time_unit="ms",
        delimiter=";",
        columns=parse_column_map("transact_time=when,price=px,quantity=amount"),
    )
    kind = _import([path], DataKind.AGG_TRADES, tmp_path / "cat", mapping=mapping)
    assert kind.rows_written == 500
    ticks = load_trades(tmp_path / "cat")
    assert np.allclose([float(t.price) for t in ticks], trades.price)
    assert ticks[0].trade_id.value == "2"


def test_csv_mapping_validation() -> None:
    """Mappings missing a required column or naming unknown ones are refused."""
    with pytest.raises(ValidationError, match="needs a mapping"):
        CsvMapping(kind=DataKind.KLINES, time_unit="ms", columns={"open_time": "t"})
    with pytest.raises(ValidationError, match="unknown canonical"):
        CsvMapping(
            kind=DataKind.FUNDING,
            time_unit="ms",
            columns={"funding_time": "t", "funding_rate": "r", "bogus": "x"},
        )
    with pytest.raises(ConfigError, match="canonical=source"):
        parse_column_map("price")


def test_mark_price_klines_archive(tmp_path: Path, data) -> None:
    """markPriceKlines files import as MarkPriceUpdates at each bar's close."""
    path = write_archive(data.mark_bars, DataKind.MARK_KLINES, tmp_path / "BTCUSDT-1m-mark.zip")
    kind = _import([path], DataKind.MARK_KLINES, tmp_path / "cat")
    assert kind.rows_written == 1440
    marks = load_mark_prices(tmp_path / "cat")
    assert marks[0].ts_event == (data.mark_bars.open_time.iloc[0] + 60_000) * 1_000_000
    assert marks[0].value.as_decimal() == Decimal(f"{data.mark_bars.close.iloc[0]:.1f}")


def test_import_logs_summary_event(tmp_path: Path, data, log_events) -> None:
    """An import emits data.import.done with rows written and gaps as fields."""
    path = write_archive(data.bars.drop(index=[7]), DataKind.KLINES, tmp_path / "k.zip")
    _import([path], DataKind.KLINES, tmp_path / "cat")
    done = [e for e in log_events.entries if e["event"] == "data.import.done"]
    assert len(done) == 1
    assert (done[0]["rows_written"], done[0]["gaps"], done[0]["kind"]) == (1439, 1, "klines")


def test_headerless_file_with_byte_order_mark(tmp_path: Path, data) -> None:
    """A BOM before a headerless first row is not mistaken for a header (row 1 kept)."""
    path = write_archive(data.bars.head(10), DataKind.KLINES, tmp_path / "k.csv", header=False)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    chunks = list(read_archive(path, DataKind.KLINES))
    frame, first_line = chunks[0]
    assert first_line == 1
    assert len(frame) == 10
    assert frame.open_time.iloc[0] == data.bars.open_time.iloc[0]
