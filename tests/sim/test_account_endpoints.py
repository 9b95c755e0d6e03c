"""Account endpoints as Binance USD-M documents them: v2/v3 layouts, income, settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.sim.rest_client import Rest

D = Decimal
FLAT = [SimBar(D("60000"), D("60000"), D("60000"), D("60000"))] * 50
SYM = {"symbol": "BTCUSDT"}
V3_RISK = {
    "symbol",
    "positionSide",
    "positionAmt",
    "entryPrice",
    "breakEvenPrice",
    "markPrice",
    "unRealizedProfit",
    "liquidationPrice",
    "isolatedMargin",
    "notional",
    "marginAsset",
    "isolatedWallet",
    "initialMargin",
    "maintMargin",
    "positionInitialMargin",
    "openOrderInitialMargin",
    "adl",
    "bidNotional",
    "askNotional",
    "updateTime",
}
V2_RISK = {
    "symbol",
    "positionAmt",
    "entryPrice",
    "breakEvenPrice",
    "markPrice",
    "unRealizedProfit",
    "liquidationPrice",
    "leverage",
    "maxNotionalValue",
    "marginType",
    "isolatedMargin",
    "isAutoAddMargin",
    "positionSide",
    "notional",
    "isolatedWallet",
    "updateTime",
}


@pytest_asyncio.fixture
async def rest() -> AsyncIterator[Rest]:
    """A running simulator on a flat 60000 path (slow clock) and a signing client."""
    async with (
        SimExchange(SimConfig(speed=1), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        yield Rest(sim, session)


async def _long(rest: Rest, qty: str = "0.010") -> None:
    status, body = await rest.order(
        side="BUY", positionSide="LONG", type="MARKET", quantity=qty, timeInForce=None
    )
    assert status == 200, body


@pytest.mark.asyncio
async def test_position_risk_v2_and_v3_layouts(rest: Rest) -> None:
    """USD-M Futures > Trade > Position Information V2 and V3 (USER_DATA)."""
    _, v3, _ = await rest.signed("GET", "/fapi/v3/positionRisk")
    assert v3 == []  # v3: only symbols with a position or open orders
    _, v2, _ = await rest.signed("GET", "/fapi/v2/positionRisk")
    assert [(r["symbol"], r["positionSide"]) for r in v2] == [
        ("BTCUSDT", "LONG"),
        ("BTCUSDT", "SHORT"),
    ]
    await _long(rest)
    _, v3, _ = await rest.signed("GET", "/fapi/v3/positionRisk", SYM)
    _, v2, _ = await rest.signed("GET", "/fapi/v2/positionRisk", SYM)
    assert all(set(r) == V3_RISK for r in v3)
    assert all(set(r) == V2_RISK for r in v2)
    long2 = next(r for r in v2 if r["positionSide"] == "LONG")
    assert (long2["positionAmt"], long2["leverage"], long2["marginType"]) == (
        "0.010",
        "20",
        "cross",
    )
    assert (long2["isAutoAddMargin"], long2["isolatedMargin"]) == ("false", "0.00000000")
    assert isinstance(long2["maxNotionalValue"], str)
    long3 = next(r for r in v3 if r["positionSide"] == "LONG")
    assert (long3["positionAmt"], long3["marginAsset"]) == ("0.010", "USDT")
    assert D(long3["positionInitialMargin"]) == D("0.010") * D("60000") / 20
    status, body, _ = await rest.signed("GET", "/fapi/v2/positionRisk", {"symbol": "NOPE"})
    assert (status, body["code"]) == (400, -1121)


@pytest.mark.asyncio
async def test_account_v2_and_v3_list_real_positions(rest: Rest) -> None:
    """USD-M Futures > Account > Account Information V2 / V3 (positions of every symbol)."""
    _, v3, _ = await rest.signed("GET", "/fapi/v3/account")
    assert v3["positions"] == []
    await _long(rest)
    _, v3, _ = await rest.signed("GET", "/fapi/v3/account")
    legs = {p["positionSide"]: p for p in v3["positions"]}
    assert set(legs) == {"LONG", "SHORT"}  # hedge mode: LONG and SHORT only
    assert legs["LONG"]["positionAmt"] == "0.010"
    assert D(legs["LONG"]["notional"]) == D("600")
    assert "feeTier" not in v3
    assert "marginAvailable" not in v3["assets"][0]
    _, v2, _ = await rest.signed("GET", "/fapi/v2/account")
    assert (v2["feeTier"], v2["canTrade"], v2["multiAssetsMargin"]) == (0, True, False)
    long2 = next(p for p in v2["positions"] if p["positionSide"] == "LONG")
    assert (long2["leverage"], long2["isolated"], long2["positionAmt"]) == ("20", False, "0.010")
    assert v2["assets"][0]["marginAvailable"] is True
    wallet = D(v2["totalWalletBalance"])
    assert wallet < D("10000")  # the taker fee was paid
    assert D(v2["availableBalance"]) == wallet + D(v2["totalUnrealizedProfit"]) - D(
        v2["totalInitialMargin"]
    )


@pytest.mark.asyncio
async def test_balance_v2_and_v3(rest: Rest) -> None:
    """USD-M Futures > Account > Futures Account Balance V2 / V3."""
    for path in ("/fapi/v2/balance", "/fapi/v3/balance"):
        status, rows, headers = await rest.signed("GET", path)
        assert status == 200
        assert set(rows[0]) == {
            "accountAlias",
            "asset",
            "balance",
            "crossWalletBalance",
            "crossUnPnl",
            "availableBalance",
            "maxWithdrawAmount",
            "marginAvailable",
            "updateTime",
        }
        assert (rows[0]["asset"], rows[0]["balance"]) == ("USDT", "10000.00000000")
        assert "X-MBX-USED-WEIGHT-1M" in headers


@pytest.mark.asyncio
async def test_leverage_bracket(rest: Rest) -> None:
    """USD-M Futures > Account > Notional and Leverage Brackets (USER_DATA)."""
    _, one, _ = await rest.signed("GET", "/fapi/v1/leverageBracket", SYM)
    assert one["symbol"] == "BTCUSDT"
    (bracket,) = one["brackets"]
    assert (bracket["bracket"], bracket["notionalFloor"]) == (1, 0)
    assert bracket["initialLeverage"] == 125  # what POST /fapi/v1/leverage accepts
    assert isinstance(bracket["maintMarginRatio"], float)
    _, every, _ = await rest.signed("GET", "/fapi/v1/leverageBracket")
    assert every == [one]
    status, body, _ = await rest.signed("GET", "/fapi/v1/leverageBracket", {"symbol": "X"})
    assert (status, body["code"]) == (400, -1121)


@pytest.mark.asyncio
async def test_income_history(rest: Rest) -> None:
    """USD-M Futures > Account > Get Income History (USER_DATA)."""
    await _long(rest)
    status, body = await rest.order(
        side="SELL", positionSide="LONG", type="MARKET", quantity="0.010", timeInForce=None
    )
    assert status == 200, body
    _, rows, _ = await rest.signed("GET", "/fapi/v1/income")
    kinds = [r["incomeType"] for r in rows]
    assert kinds.count("COMMISSION") == 2
    assert set(rows[0]) == {
        "symbol",
        "incomeType",
        "income",
        "asset",
        "info",
        "time",
        "tranId",
        "tradeId",
    }
    _, fees, _ = await rest.signed("GET", "/fapi/v1/income", {"incomeType": "COMMISSION"})
    assert [r["incomeType"] for r in fees] == ["COMMISSION", "COMMISSION"]
    assert all(D(r["income"]) < 0 for r in fees)
    status, body, _ = await rest.signed("GET", "/fapi/v1/income", {"incomeType": "NOPE"})
    assert (status, body["code"]) == (400, -1130)


@pytest.mark.asyncio
async def test_margin_type_answers(rest: Rest) -> None:
    """USD-M Futures > Trade > Change Margin Type: CROSSED -4046; ISOLATED refused (cross only)."""
    crossed = {**SYM, "marginType": "CROSSED"}
    status, body, _ = await rest.signed("POST", "/fapi/v1/marginType", crossed)
    assert (status, body) == (400, {"code": -4046, "msg": "No need to change margin type."})
    isolated = {**SYM, "marginType": "ISOLATED"}
    status, body, _ = await rest.signed("POST", "/fapi/v1/marginType", isolated)
    assert (status, body) == (400, {"code": -1020, "msg": "This operation is not supported."})
    await _long(rest)
    status, body, _ = await rest.signed("POST", "/fapi/v1/marginType", isolated)
    assert (status, body["code"]) == (400, -4048)
    _, config, _ = await rest.signed("GET", "/fapi/v1/symbolConfig", SYM)
    assert config[0]["marginType"] == "CROSSED"


@pytest.mark.asyncio
async def test_position_mode_and_leverage_settings(rest: Rest) -> None:
    """USD-M Futures > Trade > Change Position Mode / Change Initial Leverage."""
    hedge = {"dualSidePosition": "true"}
    status, body, _ = await rest.signed("POST", "/fapi/v1/positionSide/dual", hedge)
    assert (status, body["code"]) == (400, -4059)
    status, body = await rest.order(
        side="BUY", positionSide="LONG", price="59000", quantity="0.010"
    )
    assert status == 200, body
    oneway = {"dualSidePosition": "false"}
    status, body, _ = await rest.signed("POST", "/fapi/v1/positionSide/dual", oneway)
    assert (status, body["code"]) == (400, -4067)
    status, body, _ = await rest.signed("POST", "/fapi/v1/leverage", {**SYM, "leverage": "7"})
    assert (status, body["leverage"], body["symbol"]) == (200, 7, "BTCUSDT")
    _, v2, _ = await rest.signed("GET", "/fapi/v2/positionRisk", SYM)
    assert {r["leverage"] for r in v2} == {"7"}
    status, body, _ = await rest.signed("POST", "/fapi/v1/leverage", {**SYM, "leverage": "200"})
    assert (status, body) == (400, {"code": -4028, "msg": "Leverage 200 is not valid"})


@pytest.mark.asyncio
async def test_account_config_and_asset_mode(rest: Rest) -> None:
    """USD-M Futures > Account > Account Config / Get-Change Multi-Assets Mode."""
    _, config, _ = await rest.signed("GET", "/fapi/v1/accountConfig")
    assert config == {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "dualSidePosition": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
    }
    _, mode, _ = await rest.signed("GET", "/fapi/v1/multiAssetsMargin")
    assert mode == {"multiAssetsMargin": False}
    status, body, _ = await rest.signed(
        "POST", "/fapi/v1/multiAssetsMargin", {"multiAssetsMargin": "false"}
    )
    assert (status, body["code"]) == (400, -4171)
    status, body, _ = await rest.signed(
        "POST", "/fapi/v1/multiAssetsMargin", {"multiAssetsMargin": "true"}
    )
    assert (status, body) == (400, {"code": -1020, "msg": "This operation is not supported."})


@pytest.mark.asyncio
async def test_funding_fees_reach_the_income_history() -> None:
    """USD-M Futures > Account > Get Income History (FUNDING_FEE rows at settlements)."""
    async with (
        SimExchange(SimConfig(speed=20_000), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        rest = Rest(sim, session)
        await _long(rest)
        ticker = sim.market("BTCUSDT").ticker
        deadline = time.monotonic() + 60
        while ticker.funding_settlements < 1:
            assert time.monotonic() < deadline, "no funding settlement"
            await asyncio.sleep(0.05)
        query = {"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE"}
        _, rows, _ = await rest.signed("GET", "/fapi/v1/income", query)
        assert rows
        assert rows[0]["symbol"] == "BTCUSDT"
        assert D(rows[0]["income"]) == -D("0.010") * D("60000") * D("0.0001")
