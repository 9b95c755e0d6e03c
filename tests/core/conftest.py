"""Shared fixtures and builders for the core tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgegridd.core import ExitSpec, GridParams, InstrumentRules, LadderSpec

D = Decimal

BTC_RULES = InstrumentRules(
    tick=D("0.10"), step=D("0.001"), min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("100")
)


def grid_params(**ladder: object) -> GridParams:
    """GridParams for BTCUSDT-like tests with ladder overrides."""
    base: dict[str, object] = {
        "step_bps": D(25),
        "levels_per_side": 10,
        "base_qty": D("0.003"),
        "max_inventory_qty": D("1"),
    }
    base.update(ladder)
    return GridParams(
        ladder=LadderSpec(**base),  # type: ignore[arg-type]
        exits=ExitSpec(tp_bps=D(40), sl_bps=D(400)),
    )


@pytest.fixture
def rules() -> InstrumentRules:
    """BTCUSDT-PERP filters (tick 0.1, step 0.001, min notional 100)."""
    return BTC_RULES
