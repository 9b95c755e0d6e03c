"""Signed REST reads of the venue's truth for the venue watch (the warmup client's signing).

Per check: ``GET /fapi/v3/positionRisk`` (weight 5) and ``/fapi/v1/openOrders`` +
``/fapi/v1/openAlgoOrders`` for our symbol (weight 1 each); ``/fapi/v1/positionSide/dual``
(weight 30) only on its own, slower cadence or when something hints at one-way mode.
"""

from __future__ import annotations

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
