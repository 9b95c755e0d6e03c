"""Catalog writes: round trip, close stamping, idempotent re-import, staging on failure."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nautilus_trader.model.data import Bar, TradeTick

from hedgegridd.data.catalog import (
    CatalogWriter,
    load_bars,
    load_funding,
    load_mark_prices,
    load_trades,
    open_catalog,
    write_synthetic_catalog,
)
from hedgegridd.data.instruments import BTCUSDT_PERP, spec_from_exchange_info
from hedgegridd.data.pipeline import import_chunks, summarize
from hedgegridd.data.schema import MINUTE_NS, DataKind
from hedgegridd.data.synthetic import SyntheticSpec, generate
from hedgegridd.data.validate import RejectThresholdError, Validator
from hedgegridd.errors import DataError

SPEC = SyntheticSpec(seed=5, minutes=1440)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet"))


def test_synthetic_catalog_round_trip(tmp_path: Path) -> None:
    """Bars, trades, mark prices, funding and the instrument read back from the catalog."""
    summary = write_synthetic_catalog(tmp_path, SPEC)
    data = generate(SPEC)
    written = {k.kind: k.rows_written for k in summary.kinds}
    assert written[DataKind.KLINES] == 1440
    assert written[DataKind.AGG_TRADES] == len(data.trades)
    bars = load_bars(tmp_path)
    assert len(bars) == 1440
    first = bars[0]
    assert str(first.bar_type) == "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL"
    assert first.open.as_decimal() == Decimal(f"{data.bars.open.iloc[0]:.1f}")
    assert first.close.as_decimal() == Decimal(f"{data.bars.close.iloc[0]:.1f}")
    assert first.volume.as_decimal() == Decimal(f"{data.bars.volume.iloc[0]:.3f}")
    trades = load_trades(tmp_path)
    assert len(trades) == len(data.trades)
    assert trades[0].trade_id.value == str(data.trades.agg_trade_id.iloc[0])
    assert len(load_mark_prices(tmp_path)) == 1440
    funding = load_funding(tmp_path)
    assert len(funding) == len(data.funding) == 3
    assert funding[0].rate == Decimal(repr(float(data.funding.funding_rate.iloc[0])))
    assert isinstance(funding[0].rate, Decimal)
    assert funding[0].interval == 480
    instruments = open_catalog(tmp_path).instruments()
    assert [str(i.id) for i in instruments] == ["BTCUSDT-PERP.BINANCE"]
    assert not list(tmp_path.glob(".staging-*"))


def test_bars_stamped_at_close_no_look_ahead(tmp_path: Path) -> None:
    """A bar's ts_event is open_time + 1 minute: it is never visible before its minute ends."""
    write_synthetic_catalog(tmp_path, SPEC, include_trades=False)
    bars = load_bars(tmp_path)
    opens_ns = generate(SPEC).bars.open_time.to_numpy() * 1_000_000
    ts = np.array([b.ts_event for b in bars], dtype=np.int64)
    assert (ts == opens_ns + MINUTE_NS).all()
    assert all(b.ts_init == b.ts_event for b in bars)


def test_reimport_adds_no_duplicates(tmp_path: Path) -> None:
    """Writing the same range twice writes nothing the second time; files are unchanged."""
    write_synthetic_catalog(tmp_path, SPEC)
    before = _files(tmp_path)
    again = write_synthetic_catalog(tmp_path, SPEC)
    assert all(k.rows_written == 0 for k in again.kinds)
    assert all(k.rows_skipped_existing > 0 for k in again.kinds)
    assert _files(tmp_path) == before
    assert len(load_bars(tmp_path)) == 1440
    assert len(load_trades(tmp_path)) == len(generate(SPEC).trades)


def test_extending_a_range_writes_only_new_rows(tmp_path: Path) -> None:
    """An overlapping longer import adds just the new minutes; the catalog stays readable."""
    write_synthetic_catalog(tmp_path, SPEC, include_trades=False)
    longer = SyntheticSpec(seed=5, minutes=2000)
    summary = write_synthetic_catalog(tmp_path, longer, include_trades=False)
    bars_kind = next(k for k in summary.kinds if k.kind is DataKind.KLINES)
    assert bars_kind.rows_written == 560
    assert bars_kind.rows_skipped_existing == 1440
    bars = load_bars(tmp_path)
    assert len(bars) == 2000
    ts = np.array([b.ts_event for b in bars])
    assert (np.diff(ts) == MINUTE_NS).all()


def test_equal_timestamps_at_chunk_edges_are_not_lost(tmp_path: Path) -> None:
    """Trades sharing a millisecond across a chunk boundary all land in the catalog."""
    trades = generate(SPEC).trades.head(1000).copy()
    trades["transact_time"] = trades.transact_time.iloc[0] + np.arange(1000) // 10
    with CatalogWriter(tmp_path, BTCUSDT_PERP) as writer:
        v = Validator(DataKind.AGG_TRADES, BTCUSDT_PERP, source="t", time_unit="ms")
        chunks = ((trades.iloc[i : i + 95], i + 1) for i in range(0, 1000, 95))
        import_chunks(writer, v, chunks)
        summary = summarize(writer, v, ["t"])
    assert summary.rows_written == 1000
    ticks = open_catalog(tmp_path).query(TradeTick)
    assert len(ticks) == 1000
    assert len({t.trade_id.value for t in ticks}) == 1000


def test_failed_import_leaves_catalog_untouched(tmp_path: Path) -> None:
    """Over the reject threshold, staged files are discarded and the catalog is unchanged."""
    write_synthetic_catalog(tmp_path, SPEC, include_trades=False)
    before = _files(tmp_path)
    later = generate(SyntheticSpec(seed=5, minutes=3000)).bars.iloc[1440:].copy()
    later.loc[later.index[:100], "low"] = -1.0

    def run_import() -> None:
        with CatalogWriter(tmp_path, BTCUSDT_PERP) as writer:
            v = Validator(DataKind.KLINES, BTCUSDT_PERP, source="bad.csv", time_unit="ms")
            import_chunks(writer, v, [(later, 1)])
            summarize(writer, v, ["bad.csv"])

    with pytest.raises(RejectThresholdError):
        run_import()
    assert _files(tmp_path) == before
    assert not list(tmp_path.glob(".staging-*"))
    assert len(open_catalog(tmp_path).query(Bar)) == 1440


def test_open_missing_catalog_is_data_error(tmp_path: Path) -> None:
    """Opening a catalog path that does not exist raises DataError."""
    with pytest.raises(DataError, match="not a directory"):
        open_catalog(tmp_path / "nope")


def test_committed_log_event(tmp_path: Path, log_events) -> None:
    """A commit logs data.catalog.committed with the rows written per kind."""
    write_synthetic_catalog(tmp_path, SPEC, include_trades=False)
    events = [e for e in log_events.entries if e["event"] == "data.catalog.committed"]
    assert events
    assert events[0]["rows"]["klines"] == 1440
    assert pd.notna(events[0]["path"])


def test_other_instrument_precision_round_trips(tmp_path: Path) -> None:
    """A 0.01-tick instrument's trades round-trip exactly: no hard-coded 8 or 2 decimals."""
    eth = spec_from_exchange_info(
        {
            "symbols": [
                {
                    "symbol": "ETHUSDT",
                    "baseAsset": "ETH",
                    "quoteAsset": "USDT",
                    "marginAsset": "USDT",
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "tickSize": "0.01",
                            "minPrice": "1",
                            "maxPrice": "100000",
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "stepSize": "0.001",
                            "minQty": "0.001",
                            "maxQty": "10000",
                        },
                        {"filterType": "MIN_NOTIONAL", "notional": "20"},
                    ],
                }
            ]
        },
        "ETHUSDT",
    )
    trades = pd.DataFrame(
        {
            "agg_trade_id": [1, 2, 3],
            "price": [2345.67, 2345.01, 0.05],
            "quantity": [0.001, 12.345, 3.0],
            "first_trade_id": [1, 2, 3],
            "last_trade_id": [1, 2, 3],
            "transact_time": [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002],
            "is_buyer_maker": [True, False, True],
        }
    )
    with CatalogWriter(tmp_path, eth) as writer:
        v = Validator(DataKind.AGG_TRADES, eth, source="eth", time_unit="ms")
        import_chunks(writer, v, [(trades, 2)])
        summarize(writer, v, ["eth"])
    ticks = load_trades(tmp_path, eth)
    assert [t.price.as_decimal() for t in ticks] == [
        Decimal("2345.67"),
        Decimal("2345.01"),
        Decimal("0.05"),
    ]
    assert [t.size.as_decimal() for t in ticks] == [
        Decimal("0.001"),
        Decimal("12.345"),
        Decimal("3.000"),
    ]
    assert str(ticks[0].instrument_id) == "ETHUSDT-PERP.BINANCE"


def test_no_duplicate_copies_of_test_files() -> None:
    """No stray copies of test modules (names with spaces, 'x 2.py') can be collected twice."""
    here = Path(__file__).parent
    names = [p.name for p in here.rglob("*.py")]
    assert not [n for n in names if " " in n]
    assert len(names) == len(set(names))


def test_batches_never_split_an_instant(tmp_path: Path) -> None:
    """Committing in batches hands the last instant's rows on, so none are lost as 'stored'."""
    trades = generate(SPEC).trades.head(40).copy()
    trades["transact_time"] = trades.transact_time.iloc[0] + np.arange(40) // 8
    v = Validator(DataKind.AGG_TRADES, BTCUSDT_PERP, source="t", time_unit="ms")
    first = CatalogWriter(tmp_path, BTCUSDT_PERP)
    first.write(DataKind.AGG_TRADES, v.process(trades.iloc[:20], 1))
    tail = first.detach_tail(DataKind.AGG_TRADES)
    first.commit()
    assert tail is not None
    assert len(tail) == 4
    second = CatalogWriter(tmp_path, BTCUSDT_PERP)
    second.write(DataKind.AGG_TRADES, tail)
    second.write(DataKind.AGG_TRADES, v.process(trades.iloc[20:], 21))
    stats = second.commit()
    assert stats[DataKind.AGG_TRADES].rows_skipped_existing == 0
    assert len(load_trades(tmp_path)) == 40
