"""Faithful stress on the running simulator: jumps, every scenario kind, the mark premium."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.sim.client import SignedClient
from tests.sim.market_watch import until, watching

D = Decimal
FLAT = [SimBar(D("60000"), D("60000"), D("60000"), D("60000"))] * 5000
SWING = [SimBar(D("60000"), D("60050"), D("59950"), D("60010"))] * 5000


@pytest.mark.asyncio
async def test_jump_mid_bar_moves_the_whole_remaining_path() -> None:
    """After a -5 % jump mid-bar no print returns above the midpoint and a TP above never fills."""
    async with (
        SimExchange(SimConfig(speed=60), bars=SWING) as sim,
        aiohttp.ClientSession() as session,
    ):
        api = SignedClient(sim, session)
        status, _ = await api.order(
            side="BUY", positionSide="LONG", type="MARKET", quantity="0.010", timeInForce=None
        )
        assert status == 200
        async with watching(sim, session) as watch:
            # Jump between two recorded points of a bar (4 points per 1 s sim-minute).
            await until(lambda: len(watch.prices()) >= 2, "two trade prints")
            bar_before = sim.ticker.bar_index
            mark = len(watch.prints)
            await sim.jump_price(pct=D("-5"))
            # A take-profit above the new market, below where the bar was before the jump.
            status, tp = await api.order(
                side="SELL", positionSide="LONG", price="58500", quantity="0.010"
            )
            assert (status, tp["status"]) == (200, "NEW")
            await until(
                lambda: len(watch.closed_klines(mark)) >= 2, "two closed klines after the jump"
            )
            assert sim.ticker.bar_index >= bar_before + 1
            after = [
                p
                for s in ("aggTrade", "markPrice", "bookTicker")
                for p in watch.prices(f"btcusdt@{s}", mark)
            ]
            assert after
            assert max(after) < D("58500")
            closes = [D(k["c"]) for k in watch.closed_klines(mark)]
            assert max(closes) < D("58500")
            assert sim.engine.find_order(str(tp["orderId"]), None).status == "NEW"
            assert sim.engine.positions["LONG"].amt == D("0.010")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("kind", "params", "final", "extreme"),
    [
        ("crash", {"pct": -10, "seconds": 30}, D("54000"), D("54000")),
        ("spike", {"pct": 8, "seconds": 5}, D("64800"), D("64800")),
        ("wick", {"pct": -5, "seconds": 20}, D("60000"), D("57000")),
        ("bleed", {"pct": -2, "minutes": 3}, D("58800"), D("58800")),
    ],
)
async def test_shaped_moves_walk_progressively(
    kind: str, params: dict[str, object], final: Decimal, extreme: Decimal
) -> None:
    """Crash/spike/wick/bleed move the price through many points, reach the extreme, settle."""
    async with (
        SimExchange(SimConfig(speed=600), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
        watching(sim, session) as watch,
    ):
        mark = len(watch.prints)
        sim.scenario(kind, **params)
        await until(lambda: sim.director.idle, f"{kind} to finish")
        await until(lambda: watch.prices(since=mark)[-1:] == [final], f"{kind} settled at {final}")
        settled = len(watch.prints)
        await until(lambda: watch.closed_klines(settled), "the bar that ended the move to close")
        prices = watch.prices(since=mark)
        lo, hi = min(prices), max(prices)
        assert (lo if extreme < D("60000") else hi) == extreme
        between = {p for p in prices if min(extreme, D("60000")) < p < max(extreme, D("60000"))}
        assert len(between) >= 4, f"{kind} moved in jumps: {sorted(between)}"
        trades = [(d["T"], D(d["p"])) for s, d in watch.prints[mark:] if s.endswith("aggTrade")]
        moving = [t for t, p in trades if p not in (D("60000"), final)]
        duration_ms = int(str(params.get("seconds", 0))) * 1000
        duration_ms += int(str(params.get("minutes", 0))) * 60_000
        assert max(moving) - min(moving) <= duration_ms
        assert sim.engine.price == final
        klines = watch.closed_klines(mark)
        if extreme < D("60000"):
            assert min(D(k["l"]) for k in klines) == extreme
        else:
            assert max(D(k["h"]) for k in klines) == extreme


@pytest.mark.asyncio
async def test_gap_scenario_jumps_without_intermediate_prints() -> None:
    """A gap prints no price between the old and new level; a stop below fills at the market."""
    async with (
        SimExchange(SimConfig(speed=600), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
        watching(sim, session) as watch,
    ):
        api = SignedClient(sim, session)
        await api.order(
            side="BUY", positionSide="LONG", type="MARKET", quantity="0.010", timeInForce=None
        )
        status, _, _ = await api.call(
            "POST",
            "/fapi/v1/algoOrder",
            {
                "symbol": "BTCUSDT",
                "side": "SELL",
                "positionSide": "LONG",
                "type": "STOP_MARKET",
                "algoType": "CONDITIONAL",
                "triggerPrice": "59000",
                "quantity": "0.010",
            },
        )
        assert status == 200
        mark = len(watch.prints)
        sim.scenario("gap", pct=-5)
        await until(lambda: D("57000") in watch.prices(since=mark), "the gap print")
        prices = watch.prices(since=mark)
        assert not [p for p in prices if D("57000") < p < D("60000")]
        await until(lambda: sim.engine.positions["LONG"].amt == 0, "the stop to fill")
        assert sim.engine.trades[-1].price == D("57000")


@pytest.mark.asyncio
async def test_funding_spike_and_premium_reach_every_view() -> None:
    """funding/premium steps change markPrice r/p, premiumIndex and positionRisk."""
    async with (
        SimExchange(SimConfig(speed=600), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
        watching(sim, session) as watch,
    ):
        api = SignedClient(sim, session)
        await api.order(
            side="BUY", positionSide="LONG", type="MARKET", quantity="0.010", timeInForce=None
        )
        sim.scenario("funding", rate="0.003")
        sim.scenario("premium", bps=50)
        await until(lambda: sim.director.idle, "steps applied")
        mark = len(watch.prints)
        await until(lambda: watch.marks(mark), "a mark print")
        data = next(d for s, d in watch.prints[mark:] if s.endswith("markPrice"))
        assert (data["r"], data["p"], data["i"]) == ("0.00300000", "60300.00", "60000.00")
        sym = {"symbol": "BTCUSDT"}
        _, index, _ = await api.call("GET", "/fapi/v1/premiumIndex", sym, signed=False)
        assert (index["lastFundingRate"], index["markPrice"], index["indexPrice"]) == (
            "0.00300000",
            "60300.00",
            "60000.00",
        )
        _, risk, _ = await api.call("GET", "/fapi/v3/positionRisk")
        long_leg = next(r for r in risk if r["positionSide"] == "LONG")
        assert long_leg["markPrice"] == "60300.00"
        assert D(long_leg["unRealizedProfit"]) == (D("60300") - D("60000.10")) * D("0.010")


@pytest.mark.asyncio
async def test_funding_override_is_what_settles() -> None:
    """The next funding settlement charges the overridden rate."""
    async with (
        SimExchange(SimConfig(speed=20_000), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        api = SignedClient(sim, session)
        await api.order(
            side="BUY", positionSide="LONG", type="MARKET", quantity="0.010", timeInForce=None
        )
        sim.set_funding_rate(D("0.003"))
        wallet = sim.engine.wallet
        await until(lambda: sim.ticker.funding_settlements >= 1, "a funding settlement", 60)
        assert wallet - sim.engine.wallet == D("0.010") * D("60000") * D("0.003")
