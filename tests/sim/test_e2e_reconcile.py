"""End-to-end: a restarted node reconciles open orders and hedge legs, then flattens."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.sim.probe import running_node, wait_for

SWING = [SimBar(Decimal("60000"), Decimal("60050"), Decimal("59950"), Decimal("60000"))] * 5000


@pytest.mark.slow
@pytest.mark.asyncio
async def test_restart_reconciles_then_flattens_both_legs() -> None:
    """Orders and LONG/SHORT legs left by one node are reconciled by the next and closed."""
    async with SimExchange(SimConfig(speed=600), bars=SWING) as sim:
        async with running_node(sim) as (_node, strat):
            await wait_for(lambda: strat.quotes, what="quotes")
            strat.limit(OrderSide.BUY, "59960.00", "0.002", "LONG")
            strat.limit(OrderSide.SELL, "60040.00", "0.003", "SHORT")
            strat.limit(OrderSide.BUY, "50000.00", "0.002", "LONG")
            await wait_for(lambda: len(strat.fills()) >= 2, what="entry fills")
            await wait_for(lambda: len(strat.accepted()) >= 3, what="accepts")
        # The first node is gone; its orders and positions stay at the venue.
        assert len(sim.engine.open_orders()) == 1
        assert sim.engine.positions["LONG"].amt == Decimal("0.002")
        assert sim.engine.positions["SHORT"].amt == Decimal("-0.003")
        async with running_node(sim, claim_external=True) as (_node, strat):
            cache = strat.cache
            await wait_for(lambda: len(cache.orders_open()) == 1, what="reconciled order")
            await wait_for(lambda: len(cache.positions_open()) == 2, what="reconciled legs")
            legs = {str(p.id): p.signed_qty for p in cache.positions_open()}
            assert legs == {
                "BTCUSDT-PERP.BINANCE-LONG": 0.002,
                "BTCUSDT-PERP.BINANCE-SHORT": -0.003,
            }
            # Flatten (what the kill switch does): cancel everything, close each leg at market.
            strat.cancel_all_orders(strat.instrument_id)
            for position in cache.positions_open():
                strat.close_position(position, reduce_only=False)
            await wait_for(
                lambda: not sim.engine.open_orders()
                and sim.engine.positions["LONG"].amt == 0
                and sim.engine.positions["SHORT"].amt == 0,
                what="venue flat",
            )
            await wait_for(lambda: not cache.positions_open(), what="cache flat")
            closes = [t for t in sim.engine.trades if not t.maker]
            assert {(t.side, t.position_side) for t in closes} >= {
                ("SELL", "LONG"),
                ("BUY", "SHORT"),
            }
        seen = {r.path for r in sim.requests}
        assert {"/fapi/v1/openOrders", "/fapi/v3/positionRisk"} <= seen
