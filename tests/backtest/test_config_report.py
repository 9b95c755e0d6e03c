"""BacktestConfig validation and report metrics from known fills."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from hedgegridd.backtest.config import load_backtest_config
from hedgegridd.backtest.report import round_trips
from hedgegridd.backtest.results import FillRecord
from hedgegridd.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

BASE = """
[backtest]
catalog = "cat"
start = 2024-01-01T00:00:00Z
end = {end}
strategy_file = "{strategy}"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bt.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_with_paths_relative_to_it() -> None:
    """The shipped example validates; catalog and strategy paths resolve next to the file."""
    cfg = load_backtest_config(REPO / "etc/hedgegrid/backtest-example.toml")
    assert cfg.start < cfg.end
    assert cfg.synthetic is not None
    assert cfg.catalog.is_absolute()
    assert cfg.strategy.grid.levels_per_side == 10


def test_start_not_before_end_is_rejected_naming_the_fields(tmp_path: Path) -> None:
    """start >= end fails at load time with both field names in the message."""
    strategy = REPO / "etc/hedgegrid/strategy-example.toml"
    path = _write(tmp_path, BASE.format(end="2024-01-01T00:00:00Z", strategy=strategy))
    with pytest.raises(ConfigError, match=r"backtest\.start .* must be before backtest\.end"):
        load_backtest_config(path)


def test_out_of_range_venue_value_names_the_field(tmp_path: Path) -> None:
    """A fee outside its range is a ConfigError naming backtest.venue.taker_fee."""
    strategy = REPO / "etc/hedgegrid/strategy-example.toml"
    text = BASE.format(end="2024-01-02T00:00:00Z", strategy=strategy)
    path = _write(tmp_path, text + '\n[backtest.venue]\ntaker_fee = "0.5"\n')
    with pytest.raises(ConfigError, match=r"backtest\.venue\.taker_fee"):
        load_backtest_config(path)


def test_missing_strategy_is_rejected(tmp_path: Path) -> None:
    """Without strategy_file or [strategy] the config is refused."""
    path = _write(
        tmp_path,
        '[backtest]\ncatalog = "c"\nstart = 2024-01-01T00:00:00Z\nend = 2024-01-02T00:00:00Z\n',
    )
    with pytest.raises(ConfigError, match="strategy"):
        load_backtest_config(path)


def _fill(ts: int, side: str, order_side: str, px: str, qty: str, fee: str) -> FillRecord:
    return FillRecord(
        ts_ns=ts,
        client_order_id=f"O-{ts}",
        trade_id=f"T-{ts}",
        position_side=side,
        order_side=order_side,
        price=Decimal(px),
        quantity=Decimal(qty),
        commission=Decimal(fee),
        maker=True,
        tag="",
    )


def test_round_trips_use_average_cost_and_fees_per_closing_fill() -> None:
    """Two LONG buys then one sell: one round trip priced from the average, fees included."""
    fills = (
        _fill(1, "LONG", "BUY", "100", "1", "0.1"),
        _fill(2, "LONG", "BUY", "90", "1", "0.1"),
        _fill(3, "LONG", "SELL", "110", "2", "0.2"),
        _fill(4, "SHORT", "SELL", "100", "1", "0"),
        _fill(5, "SHORT", "BUY", "105", "1", "0"),
    )
    trips = round_trips(fills)
    assert [(t.side, t.quantity) for t in trips] == [("LONG", Decimal(2)), ("SHORT", Decimal(1))]
    assert trips[0].pnl == Decimal("30") - Decimal("0.4")  # (110 - 95) * 2 - all fees
    assert trips[1].pnl == Decimal("-5")
