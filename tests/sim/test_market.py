"""The replayed price path: intra-bar walk, jumps, wrap-around, synthetic determinism."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from hedgegridd.errors import DataError
from hedgegridd.sim import SimConfig, SimExchange
from hedgegridd.sim.market import PricePath, SimBar, data_from_synthetic, intra_bar_points

D = Decimal
TICK = D("0.1")


def test_up_bar_walks_low_first_and_down_bar_high_first() -> None:
    """A bar closing up visits its low before its high; a down bar the reverse."""
    up = SimBar(D("100"), D("110"), D("95"), D("105"))
    down = SimBar(D("100"), D("110"), D("95"), D("97"))
    assert intra_bar_points(up, 4, TICK) == [D("100"), D("95"), D("110"), D("105")]
    assert intra_bar_points(down, 4, TICK) == [D("100"), D("110"), D("95"), D("97")]
    many = intra_bar_points(up, 10, TICK)
    assert len(many) == 10
    assert (many[0], many[-1], min(many), max(many)) == (D("100"), D("105"), D("95"), D("110"))


def test_wrap_keeps_continuity() -> None:
    """Wrapping around the recorded bars continues from the last close."""
    bars = [
        SimBar(D("100"), D("102"), D("99"), D("101")),
        SimBar(D("101"), D("103"), D("100"), D("102")),
    ]
    path = PricePath(bars, TICK)
    assert path.bar(0).open == D("100")
    assert path.bar(1).open == D("101")
    wrapped = path.bar(2)
    assert wrapped.open == D("102")  # bar 0 (100) + wrap (102 - 100)


def test_inconsistent_bar_is_refused() -> None:
    """A bar whose high is below its close is a data error."""
    with pytest.raises(DataError):
        SimBar(D("100"), D("99"), D("95"), D("101"))


def test_synthetic_replay_is_deterministic_per_seed() -> None:
    """The same seed gives the same bars; another seed differs."""
    from hedgegridd.data.instruments import BTCUSDT_PERP

    a = data_from_synthetic(3, 60, D("60000"), BTCUSDT_PERP)
    b = data_from_synthetic(3, 60, D("60000"), BTCUSDT_PERP)
    c = data_from_synthetic(4, 60, D("60000"), BTCUSDT_PERP)
    assert len(a.bars) == 60
    assert a.bars == b.bars
    assert a.bars != c.bars
    assert a.funding_rates


def test_config_refuses_non_loopback_host_and_hides_secret() -> None:
    """Binding 0.0.0.0 is refused naming the field; the secret is not in the repr."""
    with pytest.raises(ValidationError) as err:
        SimConfig(host="0.0.0.0")
    assert "host" in str(err.value)
    cfg = SimConfig(api_secret="very-secret-value")
    assert "very-secret-value" not in repr(cfg)
    with pytest.raises(ValidationError):
        SimConfig(speed=0)


@pytest.mark.asyncio
async def test_catalog_replay_matches_the_written_bars(tmp_path: Path) -> None:
    """A catalog written from synthetic data replays the same bars and funding rates."""
    from hedgegridd.data import synthetic
    from hedgegridd.data.catalog import write_synthetic_catalog
    from hedgegridd.data.instruments import BTCUSDT_PERP
    from hedgegridd.sim.market import data_from_catalog

    spec = synthetic.SyntheticSpec(seed=9, minutes=24 * 60, start_price=D("60000"))
    write_synthetic_catalog(tmp_path / "cat", spec, include_trades=False)
    replay = data_from_catalog(tmp_path / "cat", BTCUSDT_PERP, limit=100)
    direct = synthetic.generate(spec).bars
    assert len(replay.bars) == 100
    assert [b.close for b in replay.bars[:5]] == [D(str(c)) for c in direct["close"][:5]]
    assert len(replay.funding_rates) == 3
    config = SimConfig(catalog=tmp_path / "cat", minutes=50, history_bars=10, speed=1)
    async with SimExchange(config) as sim:  # loads the catalog in a worker thread
        assert len(sim.path) == 60
        assert sim.history_bars == 10
        assert sim.funding_rates == replay.funding_rates
        assert sim.engine.price == replay.bars[10].open
