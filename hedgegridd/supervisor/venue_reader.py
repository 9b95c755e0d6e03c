"""Signed REST reads of the venue's truth for the venue watch (the warmup client's signing).

Per check: ``GET /fapi/v3/positionRisk`` (weight 5) and ``/fapi/v1/openOrders`` +
``/fapi/v1/openAlgoOrders`` for our symbol (weight 1 each); ``/fapi/v1/positionSide/dual``
(weight 30) only on its own, slower cadence or when something hints at one-way mode.
Repairs look up one of our orders the venue no longer lists open (``order_fate``):
``GET /fapi/v1/algoOrder`` (a conditional order; when triggered, ``actualOrderId`` names
the regular order that filled), ``GET /fapi/v1/order`` and, when it executed,
``GET /fapi/v1/userTrades?orderId=`` (weight 1, 1, 5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import aiohttp

from hedgegridd.core.types import ZERO, Side
from hedgegridd.errors import HedgegridError, WarmupError
from hedgegridd.strategy.reconciler import VenueOrder
from hedgegridd.supervisor.settings import WarmupSettings
from hedgegridd.supervisor.warmup import WarmupClient
from hedgegridd.venues.guards import BinanceKeys


class VenueReadError(WarmupError):
    """The venue did not answer a check (network, 5xx, 429, malformed answer)."""


UNKNOWN_ORDER_CODES = frozenset({-2011, -2013})  # Binance: unknown order / does not exist
_CODE = re.compile(r"code=(-?\d+)")
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED", "TRIGGERING"})


@dataclass(frozen=True, slots=True)
class VenueTrade:
    """One fill of one order as ``/fapi/v1/userTrades`` lists it (``id`` is the stream's ``t``)."""

    trade_id: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    maker: bool
    position_side: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class OrderFate:
    """What became of one of our orders at the venue: its status and every fill of it.

    ``venue_order_id`` is the regular order carrying the fills (for a triggered
    conditional order, the order the trigger created); None when none exists (an algo
    order cancelled, expired or rejected before triggering, or still waiting).
    """

    client_id: str
    status: str  # NEW | PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED | REJECTED | TRIGGERING
    venue_order_id: str | None
    executed: Decimal
    trades: tuple[VenueTrade, ...] = ()
    algo: bool = False
    algo_id: str | None = None  # the conditional order's own id (its venue id until triggered)

    @property
    def is_open(self) -> bool:
        """Whether the venue still works the order (nothing final to apply but fills)."""
        return self.status in OPEN_STATUSES

    @property
    def traded(self) -> Decimal:
        """Quantity the listed fills add up to (less than ``executed``: fills not listed)."""
        return sum((t.qty for t in self.trades), ZERO)


@dataclass(frozen=True, slots=True)
class VenueRead:
    """One reading of the account on our symbol."""

    legs: dict[Side, Decimal]  # absolute size of the LONG and SHORT legs
    orders: tuple[VenueOrder, ...]
    one_way_rows: bool  # positionRisk answered BOTH rows: the account looks one-way


class VenueReader(Protocol):
    """Where the venue watch reads the venue (REST in the daemon, a fake in tests)."""

    async def read(self) -> VenueRead:
        """Legs and open orders on our symbol; ``VenueReadError`` when unreachable."""
        ...

    async def dual_side(self) -> bool:
        """Whether the account is in hedge mode; ``VenueReadError`` when unreachable."""
        ...

    async def order_fate(self, client_id: str, *, algo: bool) -> OrderFate | None:
        """Final state and fills of one of our orders; None when the venue does not know it."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def _dec(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise VenueReadError(f"venue check: malformed {what}") from exc


def parse_legs(rows: Any) -> tuple[dict[Side, Decimal], bool]:
    """``positionRisk`` rows -> absolute leg sizes, and whether a one-way row was seen."""
    if not isinstance(rows, list):
        raise VenueReadError("venue check: positionRisk is not a list")
    legs = {Side.LONG: ZERO, Side.SHORT: ZERO}
    one_way = False
    for row in rows:
        side = str(row.get("positionSide", "")) if isinstance(row, dict) else ""
        amt = _dec(row.get("positionAmt", "0"), "positionAmt") if side else ZERO
        if side in ("LONG", "SHORT"):
            legs[Side(side)] += abs(amt)
        elif side == "BOTH":
            one_way = True
    return legs, one_way


def parse_orders(rows: Any, *, algo: bool) -> tuple[VenueOrder, ...]:
    """``openOrders`` / ``openAlgoOrders`` rows -> ``VenueOrder``s (remaining quantity)."""
    if not isinstance(rows, list):
        raise VenueReadError("venue check: open orders is not a list")
    out: list[VenueOrder] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        if algo:
            client_id = str(row.get("clientAlgoId", ""))
            remaining = _dec(row.get("quantity", "0"), "quantity")
        else:
            client_id = str(row.get("clientOrderId", ""))
            remaining = _dec(row.get("origQty", "0"), "origQty") - _dec(
                row.get("executedQty", "0"), "executedQty"
            )
        out.append(
            VenueOrder(
                client_id=client_id,
                position_side=str(row.get("positionSide", "")),
                side=str(row.get("side", "")),
                remaining=remaining,
                algo=algo,
            )
        )
    return tuple(out)


def parse_trades(rows: Any) -> tuple[VenueTrade, ...]:
    """``userTrades`` rows -> ``VenueTrade``s, oldest first."""
    if not isinstance(rows, list):
        raise VenueReadError("venue check: userTrades is not a list")
    out = [
        VenueTrade(
            trade_id=str(row["id"]),
            price=_dec(row.get("price"), "price"),
            qty=_dec(row.get("qty"), "qty"),
            commission=_dec(row.get("commission", "0"), "commission"),
            commission_asset=str(row.get("commissionAsset", "USDT")),
            maker=bool(row.get("maker", False)),
            position_side=str(row.get("positionSide", "")),
            time_ms=int(row.get("time", 0)),
        )
        for row in rows
        if isinstance(row, dict) and "id" in row
    ]
    return tuple(sorted(out, key=lambda t: (t.time_ms, t.trade_id)))


def parse_fate(
    client_id: str,
    order: Any,
    trades: tuple[VenueTrade, ...] = (),
    *,
    algo: Any = None,
) -> OrderFate:
    """An ``order`` row (``GET /fapi/v1/order``; None when an algo order never triggered)
    and, for a conditional order, its ``algo`` row -> ``OrderFate``."""
    if algo is not None and not isinstance(algo, dict):
        raise VenueReadError("venue check: malformed algoOrder answer")
    algo_id = str(algo["algoId"]) if algo and "algoId" in algo else None
    if order is None:
        if algo is None:
            raise VenueReadError("venue check: no order and no algo order")
        status = str(algo.get("algoStatus", ""))
        return OrderFate(client_id, status, None, ZERO, algo=True, algo_id=algo_id)
    if not isinstance(order, dict) or "orderId" not in order:
        raise VenueReadError("venue check: malformed order answer")
    return OrderFate(
        client_id,
        str(order.get("status", "")),
        str(order["orderId"]),
        _dec(order.get("executedQty", "0"), "executedQty"),
        trades,
        algo=algo is not None,
        algo_id=algo_id,
    )


def error_code(exc: BaseException) -> int | None:
    """The Binance error code a refused request carried (None: no code, e.g. network)."""
    found = _CODE.search(str(exc))
    return int(found.group(1)) if found else None


class RestVenueReader:
    """``VenueReader`` over Binance USD-M REST with the warmup client's HMAC signing."""

    def __init__(
        self,
        *,
        base_url: str,
        symbol: str,
        keys: BinanceKeys,
        recv_window_ms: int,
        timeout_s: float,
    ) -> None:
        self._base_url = base_url
        self._symbol = symbol
        self._keys = keys
        self._recv_window_ms = recv_window_ms
        self._settings = WarmupSettings(request_timeout_s=timeout_s, max_attempts=2)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> WarmupClient:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return WarmupClient(
            self._session, self._base_url, self._settings, self._keys, self._recv_window_ms
        )

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return await self._client().get(path, params, signed=True)
        except HedgegridError as exc:  # transient failures and refused credentials alike
            raise VenueReadError(str(exc)) from exc

    async def read(self) -> VenueRead:
        """Legs and open orders on our symbol."""
        sym = {"symbol": self._symbol}
        legs, one_way = parse_legs(await self._get("/fapi/v3/positionRisk", sym))
        orders = parse_orders(await self._get("/fapi/v1/openOrders", sym), algo=False)
        algos = parse_orders(await self._get("/fapi/v1/openAlgoOrders", sym), algo=True)
        return VenueRead(legs=legs, orders=orders + algos, one_way_rows=one_way)

    async def order_fate(self, client_id: str, *, algo: bool) -> OrderFate | None:
        """Final state and fills of one of our orders (None: the venue does not know it)."""
        sym = {"symbol": self._symbol}
        try:
            algo_row: Any = None
            order_params: dict[str, Any] = {**sym, "origClientOrderId": client_id}
            if algo:
                algo_row = await self._get("/fapi/v1/algoOrder", {"clientAlgoId": client_id})
                if not isinstance(algo_row, dict):
                    raise VenueReadError("venue check: malformed algoOrder answer")
                actual = str(algo_row.get("actualOrderId") or "")
                if not actual:
                    return parse_fate(client_id, None, algo=algo_row)
                order_params = {**sym, "orderId": actual}
            order = await self._get("/fapi/v1/order", order_params)
        except VenueReadError as exc:
            if error_code(exc) in UNKNOWN_ORDER_CODES:
                return None
            raise
        fate = parse_fate(client_id, order, algo=algo_row)
        if fate.executed > 0 and fate.venue_order_id is not None:
            rows = await self._get(
                "/fapi/v1/userTrades", {**sym, "orderId": fate.venue_order_id, "limit": 1000}
            )
            fate = parse_fate(client_id, order, parse_trades(rows), algo=algo_row)
        return fate

    async def dual_side(self) -> bool:
        """Hedge mode of the account (``dualSidePosition``)."""
        body = await self._get("/fapi/v1/positionSide/dual")
        if not isinstance(body, dict) or not isinstance(body.get("dualSidePosition"), bool):
            raise VenueReadError("venue check: malformed positionSide/dual answer")
        return bool(body["dualSidePosition"])

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
