"""End-to-end fault classes against the real Binance adapter, and the expected recovery."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import ClientOrderId

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.sim.probe import decimal, sim_with_node, wait_for

SWING = [SimBar(Decimal("60000"), Decimal("60050"), Decimal("59950"), Decimal("60000"))] * 5000


def posts(sim: SimExchange, path: str) -> int:
    """How many POSTs reached ``path``."""
    return len(sim.seen(path, "POST"))


@pytest.mark.slow
@pytest.mark.asyncio
async def test_streams_recover_after_drop_and_listen_key_expiry() -> None:
    """Dropped market/user streams reconnect and resubscribe; an expired listenKey is renewed."""
    async with sim_with_node(SimConfig(speed=600), SWING) as (sim, strat):
        await wait_for(lambda: len(strat.bars) >= 2, what="bars")
        first = strat.limit(OrderSide.BUY, "50000.00", "0.002", "LONG")
        await wait_for(lambda: len(strat.accepted()) == 1, what="first accept")
        # Market streams dropped server-side: the adapter reconnects and resubscribes.
        market_connects = sim.hub.connects["market"]
        assert await sim.drop_streams("market") >= 1
        await wait_for(lambda: sim.hub.connects["market"] > market_connects, what="reconnect")
        bars_after_drop = len(strat.bars)
        await wait_for(lambda: len(strat.bars) >= bars_after_drop + 3, what="bars resume")
        assert "btcusdt@kline_1m" in sim.hub.subscriptions()
        # listenKey expiry: the adapter creates a new key and reconnects the user stream.
        keys_before = posts(sim, "/fapi/v1/listenKey")
        assert await sim.expire_listen_key() == 1
        # Generous: the adapter's resubscription holds events back while its full mass
        # status runs (no lookback cap), which is slow on a loaded machine.
        await wait_for(
            lambda: posts(sim, "/fapi/v1/listenKey") > keys_before, limit_s=90, what="new key"
        )
        await wait_for(lambda: sim.hub.user_connections == 1, limit_s=90, what="user stream back")
        second = strat.limit(OrderSide.BUY, "50000.00", "0.002", "LONG")
        await wait_for(
            lambda: len(strat.accepted()) == 2, limit_s=90, what="accept on the new stream"
        )
        # User stream dropped: reconnect rotates the key again; events keep flowing.
        keys_before = posts(sim, "/fapi/v1/listenKey")
        assert await sim.drop_streams("user") == 1
        await wait_for(lambda: posts(sim, "/fapi/v1/listenKey") > keys_before, what="rotate")
        await wait_for(lambda: sim.hub.user_connections == 1, what="user stream again")
        strat.cancel_order(first)
        strat.cancel_order(second)
        await wait_for(lambda: len(strat.canceled()) == 2, what="cancels")
        assert not sim.engine.open_orders()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_rejections_5xx_latency_and_hedge_mode_off() -> None:
    """Injected rejects and post-only takers become OrderRejected; a 5xx is retried once."""
    async with sim_with_node(SimConfig(speed=600), SWING) as (sim, strat):
        await wait_for(lambda: strat.quotes, what="quotes")
        sim.reject_next_orders(1, code=-2019)
        rejected = strat.limit(OrderSide.BUY, "50000.00", "0.002", "LONG")
        await wait_for(lambda: len(strat.rejected()) == 1, what="injected reject")
        assert strat.rejected()[0].client_order_id == rejected.client_order_id
        assert "-2019" in strat.rejected()[0].reason
        assert posts(sim, "/fapi/v1/order") == 1  # -2019 is not retried
        taker = strat.limit(OrderSide.BUY, "61000.00", "0.002", "LONG", post_only=True)
        await wait_for(lambda: len(strat.rejected()) == 2, what="post-only reject")
        assert strat.rejected()[1].client_order_id == taker.client_order_id
        assert strat.rejected()[1].due_post_only
        # One 503 on the order endpoint: the adapter retries and the order lands.
        sim.fail_next_requests(1, status=503, path_prefix="/fapi/v1/order")
        sim.set_latency(0.3, path_prefix="/fapi/v1/order")
        before = posts(sim, "/fapi/v1/order")
        landed = strat.limit(OrderSide.BUY, "50000.00", "0.002", "LONG")
        await wait_for(lambda: strat.accepted(), what="accept after 5xx")
        assert strat.accepted()[0].client_order_id == landed.client_order_id
        assert posts(sim, "/fapi/v1/order") - before == 2
        sim.clear_faults()
        strat.cancel_order(landed)
        await wait_for(lambda: strat.canceled(), what="cancel")
        # Hedge mode switched off at the venue: LONG/SHORT orders are refused (-4061).
        sim.set_hedge_mode(False)
        strat.limit(OrderSide.BUY, "50000.00", "0.002", "LONG")
        await wait_for(lambda: len(strat.rejected()) == 3, what="-4061 reject")
        assert "-4061" in strat.rejected()[2].reason
        assert not sim.engine.open_orders()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_rate_limit_429_has_no_retry_storm() -> None:
    """Under 429 the adapter retries at most max_retries times, then rejects; no 418 ban."""
    async with sim_with_node(SimConfig(speed=600), SWING) as (sim, strat):
        await wait_for(lambda: strat.quotes, what="quotes")
        sim.set_weight_limit(0)  # every request is over the limit
        sim.requests.clear()
        order = strat.limit(OrderSide.BUY, "50000.00", "0.002", "LONG")
        await wait_for(lambda: strat.rejected(), what="rejected after 429s")
        assert strat.rejected()[0].client_order_id == order.client_order_id
        attempts = posts(sim, "/fapi/v1/order")
        assert 1 <= attempts <= 3  # max_retries=2 in the probe node config
        assert sim.limiter.count_429 >= 1
        assert sim.limiter.count_418 == 0
        assert not sim.engine.orders


@pytest.mark.slow
@pytest.mark.asyncio
async def test_partial_fills_reach_the_strategy() -> None:
    """Partial fills arrive as several OrderFilled events; the order ends FILLED."""
    async with sim_with_node(SimConfig(speed=600), SWING) as (sim, strat):
        await wait_for(lambda: strat.quotes, what="quotes")
        sim.set_partial_fills(True)
        # At the swing's low: it can never cross on arrival (ask = last + 1 tick >= 59950.1),
        # so it always rests and is filled by touches, which partial fills split.
        order = strat.limit(OrderSide.BUY, "59950.00", "0.004", "LONG")
        await wait_for(lambda: strat.cache.order(order.client_order_id).is_closed, what="filled")
        fills = [f for f in strat.fills() if f.client_order_id == order.client_order_id]
        assert len(fills) >= 2
        assert sum(decimal(f.last_qty) for f in fills) == Decimal("0.004")
        assert str(strat.cache.order(order.client_order_id).status_string()) == "FILLED"
        assert sim.engine.positions["LONG"].amt == Decimal("0.004")


@pytest.mark.slow
@pytest.mark.asyncio
async def test_liquidation_after_a_price_jump_reaches_the_node() -> None:
    """A jump that exhausts margin liquidates the leg; the adapter reports the autoclose fill.

    Nautilus 1.231 books the liquidation to an EXTERNAL position (the LONG leg stays
    open in its cache), so after a liquidation the daemon must trust the venue's legs.
    """
    config = SimConfig(speed=600, starting_balance=Decimal("200"))
    async with sim_with_node(config, SWING) as (sim, strat):
        await wait_for(lambda: strat.quotes, what="quotes")
        strat.limit(OrderSide.BUY, "61000.00", "0.030", "LONG")  # crosses: taker fill
        await wait_for(lambda: strat.fills(), what="entry fill")
        await sim.jump_price(pct=Decimal("-15"))
        assert sim.engine.positions["LONG"].amt == 0
        autoclose = [o for o in sim.engine.orders.values() if o.client_id.startswith("autoclose")]
        assert len(autoclose) == 1
        await wait_for(
            lambda: any(
                o.client_order_id.value == autoclose[0].client_id for o in strat.cache.orders()
            ),
            what="liquidation order reconciled into the cache",
        )
        order = strat.cache.order(ClientOrderId(autoclose[0].client_id))
        assert order.is_closed
