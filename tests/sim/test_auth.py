"""Signed requests as Binance USD-M documents them: query, form body, both; raw bytes."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from hedgegridd.sim.auth import RawRequest, check_signed
from hedgegridd.sim.orders import VenueError
from tests.sim.rest_client import Rest, now_ms, sign

FLAT = [SimBar(Decimal("60000"), Decimal("60000"), Decimal("60000"), Decimal("60000"))] * 50
DOC_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
DOC_PARAMS = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
    "&recvWindow=5000&timestamp=1591702613943"
)
DOC_SIG = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
DOC_TS = 1591702613943
ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "positionSide": "LONG",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "price": "59000",
    "quantity": "0.010",
}


@pytest_asyncio.fixture
async def rest() -> AsyncIterator[Rest]:
    """A running simulator on a flat 60000 path and a raw Binance-style client."""
    async with (
        SimExchange(SimConfig(speed=1), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        yield Rest(sim, session)


def _check(raw: RawRequest) -> None:
    check_signed(
        raw, raw.params(), secret=DOC_SECRET, now_ms=DOC_TS + 10, recv_window_max_ms=60_000
    )


def test_documented_hmac_example_in_query_and_in_body() -> None:
    """USD-M Futures > General Info > SIGNED Endpoint Examples (HMAC), examples 1 and 2."""
    signed = f"{DOC_PARAMS}&signature={DOC_SIG}".encode()
    _check(RawRequest(signed, b""))
    _check(RawRequest(b"", signed, "application/x-www-form-urlencoded"))
    with pytest.raises(VenueError) as bad:
        _check(RawRequest(signed.replace(b"price=9000", b"price=9001"), b""))
    assert bad.value.code == -1022


def test_total_params_is_query_then_body_with_no_ampersand() -> None:
    """USD-M Futures > General Info > SIGNED Endpoint Examples, example 3 (mixed)."""
    raw = RawRequest(
        b"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC",
        b"quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943&signature=ab",
    )
    assert raw.total_params() == (
        b"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
        b"quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943"
    )
    assert raw.params()["quantity"] == "1"
    assert raw.params()["timeInForce"] == "GTC"


@pytest.mark.asyncio
async def test_signed_post_with_parameters_in_the_body(rest: Rest) -> None:
    """USD-M Futures > General Info > General Information on Endpoints (request body)."""
    status, body, _ = await rest.signed("POST", "/fapi/v1/order", body=ORDER)
    assert status == 200, body
    assert body["status"] == "NEW"
    assert [o.client_id for o in rest.sim.engine.open_orders()] == [body["clientOrderId"]]


@pytest.mark.asyncio
async def test_signed_post_mixing_query_and_body(rest: Rest) -> None:
    """USD-M Futures > General Info > SIGNED Endpoint Examples, example 3 (mixed)."""
    query = {k: ORDER[k] for k in ("symbol", "side", "positionSide", "type", "timeInForce")}
    body = {k: ORDER[k] for k in ("price", "quantity")}
    status, answer, _ = await rest.signed("POST", "/fapi/v1/order", query, body)
    assert status == 200, answer
    assert (answer["price"], answer["origQty"]) == ("59000.00", "0.010")
    assert len(rest.sim.engine.open_orders()) == 1


@pytest.mark.asyncio
async def test_query_parameter_wins_over_the_body(rest: Rest) -> None:
    """USD-M Futures > General Info: a parameter in both places takes the query's value."""
    status, answer, _ = await rest.signed(
        "POST", "/fapi/v1/order", {"price": "58000"}, {**ORDER, "price": "59000"}
    )
    assert status == 200, answer
    assert answer["price"] == "58000.00"


@pytest.mark.asyncio
async def test_percent_encoded_query_is_signed_as_sent(rest: Rest) -> None:
    """USD-M Futures > Trade > Place Multiple Orders: percent-encoded JSON in the query."""
    batch = json.dumps([ORDER, {**ORDER, "price": "58000"}], separators=(",", ":"))
    qs = urllib.parse.urlencode({"batchOrders": batch, "timestamp": now_ms()})
    assert "%22" in qs
    status, rows, _ = await rest.raw(
        "POST", "/fapi/v1/batchOrders", query=f"{qs}&signature={sign(rest.secret, qs)}"
    )
    assert status == 200, rows
    assert [r["status"] for r in rows] == ["NEW", "NEW"]
    decoded = urllib.parse.unquote(qs)
    status, body, _ = await rest.raw(
        "POST", "/fapi/v1/batchOrders", query=f"{qs}&signature={sign(rest.secret, decoded)}"
    )
    assert (status, body["code"]) == (400, -1022)
    assert len(rest.sim.engine.open_orders()) == 2


@pytest.mark.asyncio
async def test_signature_is_not_case_sensitive(rest: Rest) -> None:
    """USD-M Futures > General Info > SIGNED Endpoint Security: signature not case sensitive."""
    status, body, _ = await rest.signed("GET", "/fapi/v2/balance", upper=True)
    assert status == 200, body
    assert body[0]["asset"] == "USDT"


@pytest.mark.asyncio
async def test_api_key_errors(rest: Rest) -> None:
    """USD-M Futures > Error Codes: -2014 API-key format invalid, -2015 invalid key (401)."""
    qs = urllib.parse.urlencode({"timestamp": now_ms()})
    query = f"{qs}&signature={sign(rest.secret, qs)}"
    rest.key = ""
    status, body, _ = await rest.raw("GET", "/fapi/v2/balance", query=query)
    assert (status, body) == (401, {"code": -2014, "msg": "API-key format invalid."})
    rest.key = "not-our-key"
    status, body, _ = await rest.raw("POST", "/fapi/v1/listenKey")
    assert (status, body["code"]) == (401, -2015)
    assert body["msg"] == "Invalid API-key, IP, or permissions for action."


@pytest.mark.asyncio
async def test_timing_security(rest: Rest) -> None:
    """USD-M Futures > General Info > Timing Security: -1102 no timestamp, -1021 outside."""
    status, body, _ = await rest.raw("GET", "/fapi/v2/balance", query="recvWindow=5000")
    assert (status, body["code"]) == (400, -1102)
    assert body["msg"] == (
        "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
    )
    for ts, msg in (
        (now_ms() + 5000, "Timestamp for this request was 1000ms ahead of the server's time."),
        (now_ms() - 10_000, "Timestamp for this request is outside of the recvWindow."),
    ):
        qs = f"timestamp={ts}"
        status, body, _ = await rest.raw(
            "GET", "/fapi/v2/balance", query=f"{qs}&signature={sign(rest.secret, qs)}"
        )
        assert (status, body) == (400, {"code": -1021, "msg": msg})
    qs = f"timestamp={now_ms()}"
    status, body, _ = await rest.raw("GET", "/fapi/v2/balance", query=qs)
    assert (status, body["code"]) == (400, -1102)
    assert "'signature'" in body["msg"]


@pytest.mark.asyncio
async def test_duplicate_parameter_is_refused(rest: Rest) -> None:
    """USD-M Futures > Error Codes > -1101 TOO_MANY_PARAMETERS (duplicate values)."""
    status, body, _ = await rest.raw(
        "GET", "/fapi/v1/klines", query="symbol=BTCUSDT&interval=1m&interval=5m"
    )
    assert (status, body) == (
        400,
        {"code": -1101, "msg": "Duplicate values for a parameter detected."},
    )


@pytest.mark.asyncio
async def test_listen_key_keepalive_takes_no_parameter(rest: Rest) -> None:
    """USD-M Futures > User Data Streams > Keepalive User Data Stream (no parameters)."""
    status, created, _ = await rest.raw("POST", "/fapi/v1/listenKey")
    assert status == 200
    status, kept, _ = await rest.raw("PUT", "/fapi/v1/listenKey")
    assert (status, kept) == (200, {"listenKey": created["listenKey"]})
