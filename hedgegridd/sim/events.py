"""User-data-stream event payloads, exactly as Binance pushes them (JSON-ready dicts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgegridd.sim.orders import AlgoOrder, Formats, SimOrder, SimPosition, SimTrade, money

Event = dict[str, Any]


def order_event(
    fmt: Formats, order: SimOrder, exec_type: str, now_ms: int, trade: SimTrade | None = None
) -> Event:
    """An ORDER_TRADE_UPDATE event (``x`` = ``exec_type``, with the fill when given)."""
    data: dict[str, Any] = {
        "s": order.symbol,
        "c": order.client_id,
        "S": order.side,
        "o": order.type,
        "f": order.tif,
        "q": fmt.qt(order.qty),
        "p": fmt.px(order.price),
        "ap": fmt.px(order.avg_price),
        "sp": fmt.px(order.stop_price),
        "x": exec_type,
        "X": order.status,
        "i": order.order_id,
        "l": fmt.qt(trade.qty if trade else Decimal(0)),
        "z": fmt.qt(order.executed),
        "L": fmt.px(trade.price if trade else Decimal(0)),
        "T": now_ms,
        "t": trade.trade_id if trade else 0,
        "b": money(Decimal(0)),
        "a": money(Decimal(0)),
        "m": trade.maker if trade else False,
        "R": order.reduce_only,
        "wt": order.working_type,
        "ot": order.orig_type or order.type,
        "ps": order.position_side,
        "cp": order.close_position,
        "rp": money(trade.realized_pnl if trade else Decimal(0)),
        "pP": order.price_protect,
        "si": 0,
        "ss": 0,
        "V": "EXPIRE_MAKER",
        "pm": "NONE",
        "gtd": 0,
    }
    if trade is not None:
        data["N"] = "USDT"
        data["n"] = money(trade.commission)
    return {"e": "ORDER_TRADE_UPDATE", "E": now_ms, "T": now_ms, "o": data}


def trade_lite(fmt: Formats, order: SimOrder, trade: SimTrade) -> Event:
    """A TRADE_LITE event for one fill."""
    return {
        "e": "TRADE_LITE",
        "E": trade.time_ms,
        "T": trade.time_ms,
        "s": order.symbol,
        "q": fmt.qt(order.qty),
        "p": fmt.px(order.price),
        "m": trade.maker,
        "c": order.client_id,
        "S": order.side,
        "L": fmt.px(trade.price),
        "l": fmt.qt(trade.qty),
        "t": trade.trade_id,
        "i": order.order_id,
    }


def algo_event(fmt: Formats, algo: AlgoOrder, now_ms: int) -> Event:
    """An ALGO_UPDATE event with the algo order's current status."""
    return {"e": "ALGO_UPDATE", "E": now_ms, "T": now_ms, "o": algo.to_event(fmt)}


def account_event(
    fmt: Formats,
    symbol: str,
    wallet: Decimal,
    price: Decimal,
    legs: list[SimPosition],
    reason: str,
    now_ms: int,
    balance_change: Decimal = Decimal(0),
) -> Event:
    """An ACCOUNT_UPDATE event: USDT balance and the given position legs.

    ``balance_change`` is Binance's ``bc`` (change other than PnL and commission,
    e.g. the funding fee).
    """
    positions = []
    for pos in legs:
        positions.append(
            {
                "s": symbol,
                "pa": fmt.qt(pos.amt),
                "ep": fmt.px(pos.entry),
                "bep": fmt.px(pos.entry),
                "cr": money(pos.realized),
                "up": money(pos.unrealized(price)),
                "mt": "cross",
                "iw": money(Decimal(0)),
                "ps": pos.side,
            }
        )
    balance = {"a": "USDT", "wb": money(wallet), "cw": money(wallet), "bc": money(balance_change)}
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "a": {"m": reason, "B": [balance], "P": positions},
    }
