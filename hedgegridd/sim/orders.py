"""Order, algo order, trade and position records of the simulated account (Decimal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


class VenueError(Exception):
    """A request the venue refuses: carries Binance's error code, message and HTTP status."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, Any]:
        """The JSON body Binance sends for this error."""
        return {"code": self.code, "msg": self.msg}


@dataclass(slots=True)
class Formats:
    """Decimals the venue prints prices and quantities with (from the served filters)."""

    price: int
    qty: int

    def px(self, value: Decimal) -> str:
        """A price string with the tick's decimals."""
        return f"{value:.{self.price}f}"

    def qt(self, value: Decimal) -> str:
        """A quantity string with the step's decimals."""
        return f"{value:.{self.qty}f}"


def money(value: Decimal) -> str:
    """A balance or PnL string (8 decimals, as Binance prints USDT amounts)."""
    return f"{value:.8f}"


@dataclass(slots=True)
class SimOrder:
    """A regular (matching-engine) order."""

    order_id: int
    client_id: str
    symbol: str
    side: str
    position_side: str
    type: str
    tif: str
    price: Decimal
    qty: Decimal
    reduce_only: bool
    time_ms: int
    orig_type: str = ""
    stop_price: Decimal = Decimal(0)
    executed: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)
    status: str = "NEW"
    update_ms: int = 0
    algo_id: int | None = None  # the algo order whose trigger placed it
    working_type: str = "CONTRACT_PRICE"
    close_position: bool = False
    price_protect: bool = False

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return self.qty - self.executed

    @property
    def avg_price(self) -> Decimal:
        """Average fill price (0 when unfilled)."""
        return self.cum_quote / self.executed if self.executed else Decimal(0)

    @property
    def is_open(self) -> bool:
        """Whether the order still rests on the book."""
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def to_rest(self, fmt: Formats) -> dict[str, Any]:
        """The order as ``GET /fapi/v1/order`` returns it."""
        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status,
            "clientOrderId": self.client_id,
            "price": fmt.px(self.price),
            "avgPrice": fmt.px(self.avg_price),
            "origQty": fmt.qt(self.qty),
            "executedQty": fmt.qt(self.executed),
            "cumQuote": money(self.cum_quote),
            "timeInForce": self.tif,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": self.close_position,
            "side": self.side,
            "positionSide": self.position_side,
            "stopPrice": fmt.px(self.stop_price),
            "workingType": self.working_type,
            "priceProtect": self.price_protect,
            "origType": self.orig_type or self.type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": self.time_ms,
            "updateTime": self.update_ms or self.time_ms,
        }


@dataclass(slots=True)
class AlgoOrder:
    """A conditional (algo) order held off-book until triggered: STOP_MARKET /
    TAKE_PROFIT_MARKET (a MARKET order at the trigger), STOP / TAKE_PROFIT (a LIMIT at
    ``price``); ``close_position`` (qty 0) closes the whole leg at the trigger."""

    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    position_side: str
    order_type: str
    qty: Decimal
    trigger_price: Decimal
    working_type: str
    tif: str
    reduce_only: bool
    create_ms: int
    price: Decimal = Decimal(0)
    close_position: bool = False
    price_protect: bool = False
    status: str = "NEW"
    update_ms: int = 0
    trigger_ms: int = 0
    actual_order_id: int | None = None
    avg_price: Decimal = Decimal(0)
    executed: Decimal = Decimal(0)

    @property
    def is_open(self) -> bool:
        """Whether the algo order still waits for its trigger."""
        return self.status == "NEW"

    @property
    def actual_type(self) -> str:
        """The type of the order a trigger places: LIMIT for STOP/TAKE_PROFIT, else MARKET."""
        return "LIMIT" if self.order_type in ("STOP", "TAKE_PROFIT") else "MARKET"

    def to_rest(self, fmt: Formats) -> dict[str, Any]:
        """The algo order as ``/fapi/v1/algoOrder`` and ``openAlgoOrders`` return it."""
        return {
            "algoId": self.algo_id,
            "clientAlgoId": self.client_algo_id,
            "algoType": "CONDITIONAL",
            "orderType": self.order_type,
            "symbol": self.symbol,
            "side": self.side,
            "positionSide": self.position_side,
            "timeInForce": self.tif,
            "quantity": fmt.qt(self.qty),
            "algoStatus": self.status,
            "triggerPrice": fmt.px(self.trigger_price),
            "price": fmt.px(self.price),
            "workingType": self.working_type,
            "priceMatch": "NONE",
            "closePosition": self.close_position,
            "priceProtect": self.price_protect,
            "reduceOnly": self.reduce_only,
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "createTime": self.create_ms,
            "updateTime": self.update_ms or self.create_ms,
            "triggerTime": self.trigger_ms,
            "goodTillDate": 0,
            "actualOrderId": str(self.actual_order_id) if self.actual_order_id else "",
        }

    def to_event(self, fmt: Formats) -> dict[str, Any]:
        """The ``o`` object of an ALGO_UPDATE user-stream event."""
        return {
            "caid": self.client_algo_id,
            "aid": self.algo_id,
            "at": "CONDITIONAL",
            "o": self.order_type,
            "s": self.symbol,
            "S": self.side,
            "ps": self.position_side,
            "f": self.tif,
            "q": fmt.qt(self.qty),
            "X": self.status,
            "tp": fmt.px(self.trigger_price),
            "p": fmt.px(self.price),
            "wt": self.working_type,
            "pm": "NONE",
            "cp": self.close_position,
            "pP": self.price_protect,
            "R": self.reduce_only,
            "tt": self.trigger_ms,
            "gtd": 0,
            "ai": str(self.actual_order_id) if self.actual_order_id else "",
            "ap": fmt.px(self.avg_price),
            "aq": fmt.qt(self.executed),
            "act": (self.actual_type if self.actual_order_id else ""),
            "V": "EXPIRE_MAKER",
        }


@dataclass(slots=True)
class SimTrade:
    """One fill of one order (the row ``/fapi/v1/userTrades`` returns)."""

    trade_id: int
    order_id: int
    symbol: str
    side: str
    position_side: str
    price: Decimal
    qty: Decimal
    realized_pnl: Decimal
    commission: Decimal
    maker: bool
    time_ms: int

    def to_rest(self, fmt: Formats) -> dict[str, Any]:
        """The trade as ``GET /fapi/v1/userTrades`` returns it."""
        return {
            "buyer": self.side == "BUY",
            "commission": money(self.commission),
            "commissionAsset": "USDT",
            "id": self.trade_id,
            "maker": self.maker,
            "orderId": self.order_id,
            "price": fmt.px(self.price),
            "qty": fmt.qt(self.qty),
            "quoteQty": money(self.price * self.qty),
            "realizedPnl": money(self.realized_pnl),
            "side": self.side,
            "positionSide": self.position_side,
            "symbol": self.symbol,
            "time": self.time_ms,
        }


@dataclass(slots=True)
class SimPosition:
    """One position leg: LONG (amt >= 0), SHORT (amt <= 0) or BOTH (signed) in one-way mode."""

    side: str
    amt: Decimal = Decimal(0)
    entry: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    update_ms: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def unrealized(self, mark: Decimal) -> Decimal:
        """Unrealized PnL at ``mark``."""
        return (mark - self.entry) * self.amt if self.amt else Decimal(0)
