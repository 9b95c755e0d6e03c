"""End-to-end: the real Nautilus Binance adapter trading against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.objects import Price

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.sim.probe import decimal, running_node, sim_with_node, wait_for


def swing_bars(n: int = 2000) -> list[SimBar]:
    """Bars that each dip to 59950 and rise to 60050 around 60000."""
    o = Decimal("60000")
    return [SimBar(o, Decimal("60050"), Decimal("59950"), o) for _ in range(n)]


@pytest.mark.slow
@pytest.mark.asyncio
async def test_grid_round_trip_with_real_adapter() -> None:
    """Connect, reconcile, fill hedge-mode LIMITs, exit, stop out, modify, cancel, stop."""
    async with SimExchange(SimConfig(speed=600), bars=swing_bars()) as sim:
        async with running_node(sim) as (_node, strat):
            await wait_for(
                lambda: len(strat.bars) >= 2 and strat.quotes and strat.trades and strat.marks,
                what="bars, quotes, trades and mark prices",
            )
            assert Decimal(str(strat.marks[-1].funding_rate)) == Decimal("0.0001")
            assert strat.marks[-1].next_funding_ns % (8 * 3600 * 10**9) == 0
            bar = strat.bars[-1]
            assert (str(bar.high), str(bar.low)) == ("60050.00", "59950.00")
            buy = strat.limit(OrderSide.BUY, "59960.00", "0.002", "LONG")
            sell = strat.limit(OrderSide.SELL, "60040.00", "0.002", "SHORT")
            await wait_for(lambda: len(strat.fills()) >= 2, what="two entry fills")
            assert len(strat.accepted()) >= 2
            assert {f.client_order_id for f in strat.fills()} == {
                buy.client_order_id,
                sell.client_order_id,
            }
            assert sim.engine.positions["LONG"].amt == Decimal("0.002")
            assert sim.engine.positions["SHORT"].amt == Decimal("-0.002")
            # Take-profit on the long leg; a stop-market above the swing on the short leg.
            tp = strat.limit(OrderSide.SELL, "60040.00", "0.002", "LONG")
            stop = strat.stop_market(OrderSide.BUY, "60100.00", "0.002", "SHORT")
            await wait_for(lambda: len(strat.fills()) >= 3, what="take-profit fill")
            await wait_for(lambda: sim.engine.open_algos(), what="stop accepted")
            assert len(strat.fills()) == 3
            # Price-jump fault (a gap): the stop triggers and fills at the market after the gap.
            await sim.jump_price(to=Decimal("60150"))
            await wait_for(lambda: len(strat.fills()) >= 4, what="stop fill")
            filled_ids = {f.client_order_id for f in strat.fills()}
            assert tp.client_order_id in filled_ids
            assert stop.client_order_id in filled_ids
            assert sim.engine.positions["LONG"].amt == 0
            assert sim.engine.positions["SHORT"].amt == 0
            px = {f.client_order_id: decimal(f.last_px) for f in strat.fills()}
            long_pnl = (px[tp.client_order_id] - px[buy.client_order_id]) * Decimal("0.002")
            short_pnl = (px[sell.client_order_id] - px[stop.client_order_id]) * Decimal("0.002")
            assert px[stop.client_order_id] == Decimal("60150.10")  # the ask after the gap
            assert sim.engine.positions["LONG"].realized == long_pnl > 0
            assert sim.engine.positions["SHORT"].realized == short_pnl < 0
            # A far order rests, then is cancelled.
            far = strat.limit(OrderSide.BUY, "50000.00", "0.002", "LONG")
            await wait_for(lambda: strat.cache.order(far.client_order_id).is_open, what="accept")
            # Modify (PUT /fapi/v1/order -> AMENDMENT) re-prices the resting order.
            strat.modify_order(far, price=Price.from_str("49000.00"))
            await wait_for(
                lambda: strat.cache.order(far.client_order_id).price == Price.from_str("49000.00"),
                what="amended price",
            )
            assert sim.engine.find_order(None, far.client_order_id.value).price == Decimal("49000")
            strat.cancel_order(far)
            await wait_for(lambda: strat.canceled(), what="cancel")
            assert not sim.engine.open_orders()
            cache_positions = strat.cache.positions_closed()
            assert len(cache_positions) == 2
            assert len(sim.engine.trades) == len(strat.fills()) == 4
            seen = {(r.method, r.path) for r in sim.requests}
            assert ("POST", "/fapi/v1/algoOrder") in seen
            assert ("GET", "/fapi/v3/positionRisk") in seen
        assert ("DELETE", "/fapi/v1/listenKey") in {(r.method, r.path) for r in sim.requests}


@pytest.mark.slow
@pytest.mark.asyncio
async def test_funding_fee_reaches_the_nautilus_account() -> None:
    """A FUNDING_FEE ACCOUNT_UPDATE moves the node's USDT balance to the venue wallet."""
    flat = [SimBar(Decimal("60000"), Decimal("60000"), Decimal("60000"), Decimal("60000"))] * 50
    async with sim_with_node(SimConfig(speed=3000, funding_interval_hours=1), flat) as (sim, strat):
        await wait_for(lambda: strat.quotes, what="quotes")
        strat.limit(OrderSide.BUY, "60000.10", "0.010", "LONG")  # crosses: taker fill
        await wait_for(lambda: strat.fills(), what="fill")
        settled = sim.ticker.funding_settlements
        await wait_for(lambda: sim.ticker.funding_settlements > settled, what="funding")
        assert sim.engine.wallet < Decimal("10000")

        def node_balance() -> Decimal:
            account = strat.portfolio.account(strat.instrument_id.venue)
            return decimal(account.balance_total(account.base_currency or USDT))

        await wait_for(
            lambda: node_balance() == sim.engine.wallet, what="node balance = venue wallet"
        )
        fees = sum((t.commission for t in sim.engine.trades), Decimal(0))
        funding = sim.engine.positions["LONG"].extra["funding"]
        assert funding < 0
        assert sim.engine.wallet == Decimal("10000") - fees + funding


@pytest.mark.slow
@pytest.mark.asyncio
async def test_request_bars_reads_kline_history() -> None:
    """request_bars through the adapter returns the simulator's REST kline history."""
    config = SimConfig(speed=60, minutes=30, history_bars=120)
    async with SimExchange(config) as sim, running_node(sim) as (_node, strat):
        start = datetime.fromtimestamp((sim.ticker.t0_ms - 100 * 60_000) / 1000, tz=UTC)
        strat.request_bars(strat.bar_type, start=start)
        await wait_for(lambda: len(strat.history) >= 90, what="historical bars")
        closes = [decimal(b.close) for b in strat.history]
        expected = [sim.ticker.closed[i].close for i in range(20, 20 + len(closes))]
        assert closes[:50] == expected[:50]
