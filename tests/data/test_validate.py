"""Vectorized validation: bad rows counted with row numbers, units declared, threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hedgegridd.data.instruments import BTCUSDT_PERP, spec_from_exchange_info
from hedgegridd.data.schema import MINUTE_NS, DataKind, to_ns
from hedgegridd.data.synthetic import SyntheticSpec, generate
from hedgegridd.data.validate import RejectThresholdError, Validator
from hedgegridd.errors import DataError


@pytest.fixture(scope="module")
def data():
    """Two days of synthetic data."""
    return generate(SyntheticSpec(seed=3, minutes=2880))


def _validator(kind: DataKind, **kw) -> Validator:
    return Validator(kind, BTCUSDT_PERP, source="test.csv", time_unit="ms", **kw)


def test_clean_klines_pass_and_are_stamped_at_close(data) -> None:
    """Clean klines keep every row; ts_ns is the open time + 1 minute."""
    v = _validator(DataKind.KLINES)
    out = v.process(data.bars, first_row=1)
    assert len(out) == 2880
    assert (out.ts_ns - out.open_ns == MINUTE_NS).all()
    assert out.open_ns[0] == data.bars.open_time.iloc[0] * 1_000_000
    assert v.finish().rejected == 0


def test_corrupted_klines_rejected_with_reasons_and_row_numbers(data) -> None:
    """Each kind of bad kline row is dropped, counted under its reason, and sampled by row."""
    bars = data.bars.head(100).astype({"open": object}).copy()
    bars.loc[3, "open"] = "garbage"
    bars.loc[5, "low"] = -1.0
    bars.loc[7, "high"] = bars.loc[7, "low"] - 10
    bars.loc[9, "close"] = bars.loc[9, "close"] + 0.05
    bars.loc[11, "close_time"] = bars.loc[11, "open_time"] + 60_000
    bars.loc[13, "volume"] = -5.0
    v = _validator(DataKind.KLINES, max_reject_fraction=0.5)
    out = v.process(bars, first_row=2)  # header on line 1
    rep = v.finish()
    assert rep.rejected == 6
    assert len(out) == 94
    assert rep.rejected_by_reason == {
        "unparsable": 1,
        "non_positive_price": 1,
        "ohlc_inconsistent": 1,
        "price_off_tick": 1,
        "bad_close_time": 1,
        "negative_volume": 1,
    }
    assert dict(rep.samples) == {
        5: "unparsable",
        13: "bad_close_time",
        7: "non_positive_price",
        15: "negative_volume",
        9: "ohlc_inconsistent",
        11: "price_off_tick",
    }


def test_duplicates_and_out_of_order_across_chunks(data) -> None:
    """Duplicates are dropped and counted; a row going back in time is rejected, across chunks."""
    bars = data.bars.head(10)
    chunk1 = bars.iloc[:6]
    chunk2 = pd.concat([bars.iloc[5:6], bars.iloc[6:8], bars.iloc[2:3], bars.iloc[8:]])
    v = _validator(DataKind.KLINES, max_reject_fraction=1.0)
    out1 = v.process(chunk1, 1)
    out2 = v.process(chunk2, 7)
    rep = v.finish()
    assert len(out1) + len(out2) == 10
    assert rep.duplicates == 1
    assert rep.rejected_by_reason == {"out_of_order": 1}
    assert rep.samples == [(10, "out_of_order")]


def test_threshold_exceeded_raises(data) -> None:
    """More bad rows than max_reject_fraction fails instead of silently dropping them."""
    bars = data.bars.head(1000).copy()
    bars.loc[:19, "low"] = -1.0
    v = _validator(DataKind.KLINES, max_reject_fraction=0.01)
    v.process(bars, 1)
    with pytest.raises(RejectThresholdError, match="20 of 1000 rows rejected"):
        v.finish()
    v_ok = _validator(DataKind.KLINES, max_reject_fraction=0.05)
    v_ok.process(bars, 1)
    assert v_ok.finish().rejected == 20


def test_unit_is_declared_never_guessed() -> None:
    """The same integers mean different instants per declared unit; no magnitude heuristic."""
    values = np.array([1_700_000_000_000], dtype=np.int64)
    assert to_ns(values, "ms", source="f")[0] == 1_700_000_000_000_000_000
    with pytest.raises(DataError, match=r"f: row 7: timestamp 1700000000000 is not a us"):
        to_ns(values, "us", source="f", first_row=7)
    with pytest.raises(DataError, match="is not a ns"):
        to_ns(values, "ns", source="f")
    assert to_ns(values * 1000, "us", source="f")[0] == 1_700_000_000_000_000_000


def test_unit_mismatch_names_file_and_row(data) -> None:
    """Microsecond data declared as ms stops the import naming the file row."""
    trades = data.trades.head(50).copy()
    trades.loc[30:, "transact_time"] = trades.loc[30:, "transact_time"] * 1000
    v = Validator(DataKind.AGG_TRADES, BTCUSDT_PERP, source="BTCUSDT-aggTrades.csv", time_unit="ms")
    with pytest.raises(DataError, match=r"BTCUSDT-aggTrades.csv: row 32: timestamp"):
        v.process(trades, first_row=2)


def test_trades_rules(data) -> None:
    """Trades: off-step quantity, zero price, bad flag and repeated ids are caught."""
    trades = data.trades.head(200).astype({"is_buyer_maker": object}).copy()
    trades.loc[1, "quantity"] = 0.0015
    trades.loc[2, "price"] = 0.0
    trades.loc[3, "is_buyer_maker"] = "maybe"
    trades = pd.concat([trades, trades.iloc[199:200]], ignore_index=True)
    v = _validator(DataKind.AGG_TRADES, max_reject_fraction=0.5)
    out = v.process(trades, 1)
    rep = v.finish()
    assert len(out) == 197
    assert rep.duplicates == 1
    assert rep.rejected_by_reason == {
        "unparsable": 1,
        "non_positive_price": 1,
        "quantity_off_step": 1,
    }
    assert out.is_buyer_maker.dtype == bool


def test_funding_rules_and_gaps(data) -> None:
    """Funding: absurd rates rejected; a missing funding time appears in the gap report."""
    funding = data.funding.assign(interval_hours=8)
    funding = funding.drop(index=2).reset_index(drop=True)
    funding.loc[0, "funding_rate"] = 0.5
    v = _validator(DataKind.FUNDING, max_reject_fraction=0.5)
    out = v.process(funding, 1)
    assert v.finish().rejected_by_reason == {"funding_rate_out_of_range": 1}
    assert len(out) == len(funding) - 1
    gaps = v.gaps.report
    assert gaps.gap_count == 1
    assert gaps.missing_total == 1


def test_kline_and_trade_gaps_across_chunks(data) -> None:
    """Missing minutes and quiet trade periods are reported, also across chunk edges."""
    bars = data.bars.head(100).drop(index=[50, 51, 52])
    v = _validator(DataKind.KLINES)
    v.process(bars.iloc[:50], 1)
    v.process(bars.iloc[50:], 51)
    rep = v.gaps.report
    assert (rep.gap_count, rep.missing_total) == (1, 3)
    assert rep.gaps[0].before_ns - rep.gaps[0].after_ns == 4 * MINUTE_NS

    trades = data.trades
    minute = (trades.transact_time - data.spec.start_ms) // 60_000
    quiet = trades[(minute < 100) | (minute >= 110)]
    tv = _validator(DataKind.AGG_TRADES)
    tv.process(quiet, 1)
    assert tv.gaps.report.gap_count == 1
    assert tv.gaps.report.missing_total >= 10


def test_validation_is_vectorized(monkeypatch, data) -> None:
    """Validation never iterates rows in Python (iterrows/itertuples/apply are forbidden)."""

    def forbidden(*_a, **_k):
        raise AssertionError("row-wise iteration in validation")

    for name in ("iterrows", "itertuples", "apply"):
        monkeypatch.setattr(pd.DataFrame, name, forbidden)
    monkeypatch.setattr(pd.Series, "apply", forbidden)
    for kind, frame in (
        (DataKind.KLINES, data.bars),
        (DataKind.AGG_TRADES, data.trades),
        (DataKind.FUNDING, data.funding),
    ):
        v = _validator(kind)
        assert len(v.process(frame, 1)) == len(frame)


def test_precision_follows_instrument_tick() -> None:
    """A 0.01-tick instrument accepts 2-decimal prices that BTCUSDT's 0.1 tick rejects."""
    eth_doc = {
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
                        "maxPrice": "1000000",
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
    }
    eth = spec_from_exchange_info(eth_doc, "ETHUSDT")
    trades = pd.DataFrame(
        {
            "agg_trade_id": [1, 2],
            "price": [2345.67, 2345.68],
            "quantity": [0.5, 0.25],
            "first_trade_id": [1, 2],
            "last_trade_id": [1, 2],
            "transact_time": [1_700_000_000_000, 1_700_000_000_001],
            "is_buyer_maker": [True, False],
        }
    )
    v_eth = Validator(DataKind.AGG_TRADES, eth, source="eth", time_unit="ms")
    assert len(v_eth.process(trades, 1)) == 2
    v_btc = Validator(
        DataKind.AGG_TRADES, BTCUSDT_PERP, source="btc", time_unit="ms", max_reject_fraction=1
    )
    v_btc.process(trades, 1)
    assert v_btc.finish().rejected_by_reason == {"price_off_tick": 2}


def test_integer_columns_with_garbage_stay_exact() -> None:
    """Nanosecond times next to a garbage row are parsed from text, not through float64."""
    ns = 1_700_000_000_123_456_789
    frame = pd.DataFrame(
        {
            "funding_time": [str(ns), "oops", str(ns + 8 * 3_600_000_000_000)],
            "funding_rate": [0.0001, 0.0001, 0.0002],
        }
    )
    v = Validator(DataKind.FUNDING, BTCUSDT_PERP, source="f", time_unit="ns", max_reject_fraction=1)
    out = v.process(frame, 1)
    assert out.ts_ns.tolist() == [ns, ns + 8 * 3_600_000_000_000]
    assert v.finish().samples == [(2, "unparsable")]
    floats = pd.DataFrame({"funding_time": [float(ns), np.nan], "funding_rate": [0.1, 0.1]})
    with pytest.raises(DataError, match="beyond 2"):
        Validator(DataKind.FUNDING, BTCUSDT_PERP, source="f", time_unit="ns").process(floats, 1)
