"""Several symbols on one simulated account: own books and prices, one wallet and stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from hedgegridd.data.instruments import ETHUSDT_PERP
from hedgegridd.errors import ConfigError
from hedgegridd.sim import SimBar, SimConfig, SimExchange
from hedgegridd.sim.orders import VenueError
from tests.sim.test_streams import receive_until

D = Decimal
BTC = [SimBar(D("60000"), D("60000"), D("60000"), D("60000"))] * 500
ETH = [SimBar(D("3000"), D("3000"), D("3000"), D("3000"))] * 500
CONFIG = SimConfig(speed=1, symbols=("BTCUSDT", "ETHUSDT"))


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimExchange]:
    """A running two-symbol simulator on flat paths (BTC 60000, ETH 3000)."""
    async with SimExchange(CONFIG, bars={"BTCUSDT": BTC, "ETHUSDT": ETH}) as running:
        yield running


def market(symbol: str, side: str, ps: str, qty: str) -> dict[str, str]:
    """POST /fapi/v1/order params of a MARKET order."""
    return {"symbol": symbol, "side": side, "positionSide": ps, "type": "MARKET", "quantity": qty}


def limit(symbol: str, side: str, ps: str, price: str, qty: str) -> dict[str, str]:
    """POST /fapi/v1/order params of a GTC LIMIT order."""
    return {
        "symbol": symbol,
        "side": side,
        "positionSide": ps,
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": price,
        "quantity": qty,
    }


@pytest.mark.asyncio
async def test_two_symbols_trade_independently_and_one_wallet_pays_both_fees(
    sim: SimExchange,
) -> None:
    """Each symbol has its own book, price and legs; both fees leave the one wallet."""
    assert list(sim.markets) == ["BTCUSDT", "ETHUSDT"]
    eth = sim.market("ETHUSDT")
    assert (sim.engine.price, eth.engine.price) == (D("60000"), D("3000"))
    assert (eth.spec.tick_size, eth.fmt.price) == (D("0.01"), 2)
    btc_fill = await sim.place_order(market("BTCUSDT", "BUY", "LONG", "0.010"))
    eth_fill = await sim.place_order(market("ETHUSDT", "SELL", "SHORT", "0.500"))
    resting = await sim.place_order(limit("ETHUSDT", "BUY", "LONG", "2900.00", "0.100"))
    assert (btc_fill["status"], eth_fill["status"], resting["status"]) == (
        "FILLED",
        "FILLED",
        "NEW",
    )
    assert sim.engine.positions["LONG"].amt == D("0.010")
    assert sim.engine.positions["SHORT"].amt == 0
    assert eth.engine.positions["SHORT"].amt == D("-0.500")
    assert [o.order_id for o in eth.engine.open_orders()] == [resting["orderId"]]
    assert sim.engine.open_orders() == []
    assert len({btc_fill["orderId"], eth_fill["orderId"], resting["orderId"]}) == 3
    btc_fee = D("0.010") * D("60000.1") * D("0.0005")
    eth_fee = D("0.500") * D("3000") * D("0.0005")
    assert sim.account.wallet == D("10000") - btc_fee - eth_fee
    assert sim.engine.wallet == eth.engine.wallet == sim.account.wallet
    rows = [r.to_rest() for r in sim.account.income_history(income_type="COMMISSION")]
    assert [(r["symbol"], r["income"]) for r in rows] == [
        ("BTCUSDT", f"{-btc_fee:.8f}"),
        ("ETHUSDT", f"{-eth_fee:.8f}"),
    ]
    assert rows[0]["tradeId"]
    assert rows[0]["asset"] == "USDT"


@pytest.mark.asyncio
async def test_margin_is_cross_over_symbols(sim: SimExchange) -> None:
    """Margin used by a BTC leg is gone for ETH orders: -2019 once the account is spent."""
    await sim.place_order(market("BTCUSDT", "BUY", "LONG", "3.000"))  # 180k at 20x = 9000
    available = sim.account.available_balance()
    assert D(0) < available < D(1000)
    assert sim.market("ETHUSDT").engine.available_balance() == available
    with pytest.raises(VenueError) as refused:
        await sim.place_order(market("ETHUSDT", "BUY", "LONG", "10.000"))  # 30k at 20x
    assert refused.value.code == -2019


@pytest.mark.asyncio
async def test_funding_settles_per_symbol(sim: SimExchange) -> None:
    """ETH funding charges only the ETH leg, records FUNDING_FEE for ETHUSDT, pushes no legs."""
    await sim.place_order(market("BTCUSDT", "BUY", "LONG", "0.010"))
    await sim.place_order(market("ETHUSDT", "BUY", "LONG", "1.000"))
    wallet = sim.account.wallet
    await sim.venue.settle_funding(D("0.001"), symbol="ETHUSDT")
    assert wallet - sim.account.wallet == D("1.000") * D("3000") * D("0.001")
    rows = sim.account.income_history(income_type="FUNDING_FEE")
    assert [(r.symbol, r.amount) for r in rows] == [("ETHUSDT", D("-3.00000000"))]
    assert rows[0].to_rest()["info"] == "FUNDING_FEE"
    assert sim.market("ETHUSDT").ticker.funding_settlements == 0  # the clock's count only


@pytest.mark.asyncio
async def test_user_stream_sees_every_symbol_and_account_update_only_the_changed_one(
    sim: SimExchange,
) -> None:
    """One listenKey gets both symbols' events; an ETH fill's ACCOUNT_UPDATE lists ETH legs."""
    key = sim.hub.create_listen_key()
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{sim.base_url_ws}/ws/{key}")
        await sim.place_order(market("BTCUSDT", "BUY", "LONG", "0.010"))
        await sim.place_order(market("ETHUSDT", "BUY", "LONG", "0.200"))

        def fill_of(symbol: str) -> Any:
            return lambda m: (
                m.get("e") == "ORDER_TRADE_UPDATE"
                and m["o"]["s"] == symbol
                and m["o"]["x"] == "TRADE"
            )

        assert (await receive_until(ws, fill_of("BTCUSDT")))["o"]["ps"] == "LONG"
        update = await receive_until(
            ws,
            lambda m: m.get("e") == "ACCOUNT_UPDATE"
            and any(p["s"] == "ETHUSDT" for p in m["a"]["P"]),
        )
        assert {p["s"] for p in update["a"]["P"]} == {"ETHUSDT"}
        assert [(p["ps"], p["pa"]) for p in update["a"]["P"]] == [("LONG", "0.200")]
        assert update["a"]["B"][0]["wb"] == f"{sim.account.wallet:.8f}"
        await ws.close()


@pytest.mark.asyncio
async def test_unknown_or_missing_symbol_is_refused(sim: SimExchange) -> None:
    """market(None) is -1102, an unlisted symbol -1121, for lookups and orders alike."""
    with pytest.raises(VenueError) as missing:
        sim.market(None)
    assert (missing.value.code, missing.value.msg) == (
        -1102,
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    )
    with pytest.raises(VenueError) as unknown:
        sim.market("XRPUSDT")
    assert (unknown.value.code, unknown.value.msg) == (-1121, "Invalid symbol.")
    with pytest.raises(VenueError) as order:
        await sim.place_order(market("XRPUSDT", "BUY", "LONG", "1.000"))
    assert order.value.code == -1121
    with pytest.raises(ConfigError, match="XRPUSDT"):
        await sim.jump_price(pct=D("-5"), symbol="XRPUSDT")


@pytest.mark.asyncio
async def test_price_jump_and_state_are_per_symbol_over_http(sim: SimExchange) -> None:
    """price_jump and scenario steps with a symbol act on that symbol only; state shows it."""
    async with aiohttp.ClientSession() as session:
        url = f"{sim.base_url_http}/_sim"
        async with session.post(
            f"{url}/faults/price_jump", json={"pct": "-10", "symbol": "ETHUSDT"}
        ) as resp:
            assert (resp.status, (await resp.json())["price"]) == (200, "2700.00")
        assert sim.engine.price == D("60000")
        await sim.place_order(market("BTCUSDT", "BUY", "LONG", "0.010"))
        async with session.get(f"{url}/state", params={"symbol": "ETHUSDT"}) as resp:
            state = await resp.json()
        legs = [(leg["symbol"], leg["side"], leg["amt"]) for leg in state["account_legs"]]
        assert legs == [("BTCUSDT", "LONG", "0.010")]
        assert (state["symbol"], state["last"], state["symbols"]) == (
            "ETHUSDT",
            "2700.00",
            ["BTCUSDT", "ETHUSDT"],
        )
        async with session.post(
            f"{url}/scenario", json={"kind": "funding", "rate": "0.002", "symbol": "ETHUSDT"}
        ) as resp:
            assert resp.status == 200
        deadline = time.monotonic() + 60
        eth_ticker = sim.market("ETHUSDT").ticker
        while eth_ticker.funding_rate != D("0.002") and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the ETH clock applies the step at its next point
        assert eth_ticker.funding_rate == D("0.002")
        assert sim.ticker.funding_rate == D("0.0001")
        async with session.get(f"{url}/scenario", params={"symbol": "ETHUSDT"}) as resp:
            assert [s["kind"] for s in (await resp.json())["done"]] == ["funding"]
        async with session.post(
            f"{url}/faults/price_jump", json={"pct": "-10", "symbol": "NOPE"}
        ) as resp:
            assert resp.status == 400
            assert "NOPE" in (await resp.json())["error"]


@pytest.mark.asyncio
async def test_liquidation_is_account_wide() -> None:
    """A BTC crash that eats the wallet liquidates the ETH legs too (cross margin)."""
    config = SimConfig(speed=1, symbols=("BTCUSDT", "ETHUSDT"), starting_balance=D("1000"))
    async with SimExchange(config, bars={"BTCUSDT": BTC, "ETHUSDT": ETH}) as sim:
        await sim.place_order(market("BTCUSDT", "BUY", "LONG", "0.300"))
        await sim.place_order(market("ETHUSDT", "BUY", "LONG", "0.500"))
        await sim.jump_price(pct=D("-6"))
        eth = sim.market("ETHUSDT").engine
        assert sim.engine.positions["LONG"].amt == 0
        assert eth.positions["LONG"].amt == 0
        assert list(eth.orders.values())[-1].client_id.startswith("autoclose-")


def test_config_resolves_each_symbol_and_names_an_unknown_one() -> None:
    """Symbols map to built-in specs with their own seeds and start prices; unknown: error."""
    config = SimConfig.model_validate({"symbols": "btcusdt, ETHUSDT", "seed": 4})
    assert config.symbols == ("BTCUSDT", "ETHUSDT")
    assert config.symbol_seed("BTCUSDT") == 4
    assert config.symbol_seed("ETHUSDT") not in (4, 5)
    assert config.symbol_start_price("ETHUSDT") == D("3000")
    sim = SimExchange(config)
    assert sim.market("ETHUSDT").spec.min_notional == D("20")
    with pytest.raises(ConfigError, match="DOGEUSDT"):
        SimExchange(SimConfig(symbols=("BTCUSDT", "DOGEUSDT")))
    with pytest.raises(ConfigError, match="'ETHUSDT' is listed twice"):
        SimExchange(specs=[ETHUSDT_PERP, ETHUSDT_PERP])


@pytest.mark.asyncio
async def test_synthetic_paths_are_loaded_per_symbol() -> None:
    """Without explicit bars each symbol gets its own synthetic path near its start price."""
    config = SimConfig(speed=1, symbols=("BTCUSDT", "ETHUSDT"), minutes=30, history_bars=5)
    async with SimExchange(config) as sim:
        eth = sim.market("ETHUSDT")
        assert (eth.history_bars, len(eth.path)) == (5, 35)
        assert D(2000) < eth.engine.price < D(4000) < D(40000) < sim.engine.price
        assert len(eth.ticker.closed) == 5
