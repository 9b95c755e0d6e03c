"""Synthetic generator: determinism, consistency, regimes and funding schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from pydantic import ValidationError

from hedgegridd.data.synthetic import (
    MINUTE_MS,
    RANGE,
    REGIME_NAMES,
    TREND_DOWN,
    TREND_UP,
    VOL_BURST,
    SyntheticSpec,
    generate,
)

WEEK = 7 * 1440


@pytest.fixture(scope="module")
def week():
    """One week of synthetic data, seed 11."""
    return generate(SyntheticSpec(seed=11, minutes=WEEK))


def test_same_seed_same_bytes_and_different_seed_differs(week) -> None:
    """Two runs with one seed are byte-identical; another seed gives other data."""
    assert generate(SyntheticSpec(seed=11, minutes=WEEK)).digest() == week.digest()
    assert generate(SyntheticSpec(seed=12, minutes=WEEK)).digest() != week.digest()


def test_bars_are_contiguous_minutes_with_binance_close_time(week) -> None:
    """One bar per minute from start, close_time = open_time + 59999 ms."""
    bars = week.bars
    assert len(bars) == WEEK
    assert bars.open_time.iloc[0] == week.spec.start_ms
    assert (np.diff(bars.open_time.to_numpy()) == MINUTE_MS).all()
    assert (bars.close_time - bars.open_time == MINUTE_MS - 1).all()


def test_bars_aggregate_trades_exactly(week) -> None:
    """OHLCV equals the aggregate of the trades inside each minute."""
    trades = week.trades
    assert len(trades) >= WEEK
    minute = (trades.transact_time - week.spec.start_ms) // MINUTE_MS
    grouped = trades.groupby(minute)
    bars = week.bars
    assert np.array_equal(grouped.price.first().to_numpy(), bars.open.to_numpy())
    assert np.array_equal(grouped.price.last().to_numpy(), bars.close.to_numpy())
    assert np.array_equal(grouped.price.max().to_numpy(), bars.high.to_numpy())
    assert np.array_equal(grouped.price.min().to_numpy(), bars.low.to_numpy())
    assert np.allclose(grouped.quantity.sum().to_numpy(), bars.volume.to_numpy())
    assert (np.diff(trades.transact_time.to_numpy()) >= 0).all()
    assert (np.diff(trades.agg_trade_id.to_numpy()) == 1).all()


def test_prices_on_tick_and_quantities_on_step(week) -> None:
    """Every price is a multiple of 0.1 and every quantity a positive multiple of 0.001."""
    price_ticks = week.trades.price.to_numpy() * 10
    assert np.allclose(price_ticks, np.round(price_ticks))
    qty_steps = week.trades.quantity.to_numpy() * 1000
    assert np.allclose(qty_steps, np.round(qty_steps))
    assert (week.trades.quantity > 0).all()
    assert (week.bars[["open", "high", "low", "close"]] > 0).all().all()
    sample = f"{week.trades.price.iloc[5]:.1f}"
    assert Decimal(sample) % Decimal("0.1") == 0


def test_all_regimes_occur(week) -> None:
    """A week contains ranges, up and down trends and volatility bursts."""
    present = set(np.unique(week.regimes).tolist())
    assert present == {RANGE, TREND_UP, TREND_DOWN, VOL_BURST}
    assert len(REGIME_NAMES) == 4


def test_volatility_bursts_are_more_volatile(week) -> None:
    """1m returns in burst minutes are clearly wider than in range minutes."""
    close = week.bars.close.to_numpy()
    ret = np.abs(np.diff(np.log(close), prepend=np.log(close[0])))
    assert ret[week.regimes == VOL_BURST].mean() > 2 * ret[week.regimes == RANGE].mean()


def test_funding_every_eight_hours_on_utc_grid(week) -> None:
    """Funding times are 00/08/16 UTC within the range, with bounded rates and mark prices."""
    funding = week.funding
    assert len(funding) == 21
    times = funding.funding_time.to_numpy()
    assert (times % (8 * 3_600_000) == 0).all()
    assert times[0] >= week.spec.start_ms
    assert times[-1] < week.spec.end_ms
    assert (funding.funding_rate.abs() <= 0.003).all()
    assert (funding.mark_price > 0).all()


def test_funding_skips_times_before_start() -> None:
    """A start at 01:00 has its first funding at 08:00."""
    data = generate(SyntheticSpec(seed=1, minutes=600, start=datetime(2024, 3, 1, 1, tzinfo=UTC)))
    first = datetime.fromtimestamp(data.funding.funding_time.iloc[0] / 1000, tz=UTC)
    assert first == datetime(2024, 3, 1, 8, tzinfo=UTC)


def test_mark_bars_are_consistent(week) -> None:
    """Mark-price bars have high >= open/close >= low, one per minute."""
    mb = week.mark_bars
    assert len(mb) == WEEK
    assert (mb.high >= mb[["open", "close"]].max(axis=1)).all()
    assert (mb.low <= mb[["open", "close"]].min(axis=1)).all()


def test_spec_validation_names_field() -> None:
    """Invalid spec values fail with the field named; naive start times are refused."""
    with pytest.raises(ValidationError, match="minutes"):
        SyntheticSpec(minutes=0)
    with pytest.raises(ValidationError, match="start"):
        SyntheticSpec(start=datetime(2024, 1, 1))
    with pytest.raises(ValidationError, match="whole minute"):
        SyntheticSpec(start=datetime(2024, 1, 1, 0, 0, 5, tzinfo=UTC))
