"""Account views and position mode through ccxt ``binanceusdm`` and Binance's connector."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.sim.conformance.harness import SYMBOL, ccxt_client, connector, in_thread, running_sim


@pytest.mark.asyncio
async def test_fetch_balance() -> None:
    """Account REST "Account Information V3" / "Futures Account Balance": USDT wallet."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        balance = await ex.fetch_balance()
        assert Decimal(str(balance["USDT"]["total"])) == sim.config.starting_balance
        assert Decimal(str(balance["USDT"]["free"])) == sim.config.starting_balance


@pytest.mark.asyncio
async def test_position_mode_round_trip() -> None:
    """Trade REST "Change Position Mode" and Account REST "Get Current Position Mode"."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        assert (await ex.fetch_position_mode(SYMBOL))["hedged"] is True
        await ex.set_position_mode(False)
        assert (await ex.fetch_position_mode(SYMBOL))["hedged"] is False
        assert sim.account.dual_side is False
        await ex.set_position_mode(True)
        assert (await ex.fetch_position_mode(SYMBOL))["hedged"] is True


@pytest.mark.asyncio
async def test_connector_position_mode_and_account() -> None:
    """Trade REST "Change Position Mode", "Get Current Position Mode", Account REST
    "Account Information V3" via UMFutures (parameters signed in the query)."""
    async with running_sim() as sim:
        client = connector(sim)
        assert (await in_thread(client.get_position_mode))["dualSidePosition"] is True
        reply = await in_thread(client.change_position_mode, dualSidePosition="false")
        assert reply["code"] == 200
        assert (await in_thread(client.get_position_mode))["dualSidePosition"] is False
        account = await in_thread(client.account)
        assert Decimal(account["totalWalletBalance"]) == sim.config.starting_balance


@pytest.mark.asyncio
async def test_connector_balance() -> None:
    """Account REST "Futures Account Balance V2" (UMFutures.balance)."""
    async with running_sim() as sim:
        rows = await in_thread(connector(sim).balance)
        usdt = next(r for r in rows if r["asset"] == "USDT")
        assert Decimal(usdt["balance"]) == sim.config.starting_balance


@pytest.mark.asyncio
async def test_fetch_positions_in_hedge_mode() -> None:
    """Trade REST "Position Information V3": a LONG leg opened by a market order shows as
    one long position, hedged."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        order = await ex.create_order(SYMBOL, "market", "buy", 0.01, None, {"positionSide": "LONG"})
        assert order["status"] in ("closed", "open")
        positions = [p for p in await ex.fetch_positions([SYMBOL]) if p["contracts"]]
        assert len(positions) == 1
        long = positions[0]
        assert (long["side"], long["hedged"]) == ("long", True)
        assert long["contracts"] == pytest.approx(0.01)
        assert long["entryPrice"] > 0
