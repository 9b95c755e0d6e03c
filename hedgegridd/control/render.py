"""Human-readable tables for ``hedgegridctl`` results (``--json`` bypasses this)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel

from hedgegridd.control.results import (
    FlattenResult,
    KillSwitchResult,
    LaddersResult,
    OrdersResult,
    PositionsResult,
    ReloadResult,
    SideResult,
    StateResult,
    StatusResult,
    ThrottleResult,
    VersionResult,
)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # no trailing zeros, never scientific
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _utc(ns: int | None) -> str | None:
    """Engine-clock nanoseconds as an ISO UTC time (seconds precision)."""
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a header rule."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
    return "\n".join(lines)


def pairs(items: Sequence[tuple[str, object]]) -> str:
    """``key  value`` lines with aligned values."""
    width = max((len(k) for k, _ in items), default=0)
    return "\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in items)


def _sides(sides: Sequence[SideResult]) -> str:
    headers = ("side", "qty", "avg_price", "upnl", "notional", "entries", "tp_qty", "sl_qty")
    rows = [
        (
            s.side,
            s.quantity,
            s.avg_price,
            s.unrealized_pnl,
            s.notional,
            s.entry_orders,
            s.tp_quantity,
            s.sl_quantity,
        )
        for s in sides
    ]
    return table(headers, rows)


def _throttle(result: ThrottleResult) -> str:
    items: list[tuple[str, object]] = [("throttle", result.throttle), ("previous", result.previous)]
    if result.entry_rungs:
        rungs = ", ".join(f"{side} {n}" for side, n in sorted(result.entry_rungs.items()))
        items.append(("entry rungs", rungs))
    text = pairs(items)
    for side, need in sorted(result.empty_sides.items()):
        text += (
            f"\nWARNING: at throttle {_cell(result.throttle)} {side} places no entries: every "
            f"scaled rung is under the venue's minimum quantity or notional; "
            f"{side} needs throttle >= {_cell(need)}"
        )
    return text


def render(result: BaseModel) -> str:
    """The human form of any command result."""
    match result:
        case StatusResult():
            head = pairs(
                [
                    ("mode", result.mode),
                    ("state", result.state),
                    ("pause reasons", result.pause_reasons),
                    ("kill switch", "LATCHED" if result.killswitch_latched else "armed"),
                    ("instrument", result.instrument_id),
                    ("regime", result.regime),
                    ("last price", result.last_price),
                    ("center price", result.center_price),
                    ("throttle", result.throttle),
                    ("realized pnl", result.realized_pnl),
                    ("unrealized pnl", result.unrealized_pnl),
                    ("equity", result.equity),
                    ("peak equity", result.peak_equity),
                    ("margin ratio", result.margin_ratio),
                    ("funding rate", result.funding_rate),
                    ("next funding", _utc(result.next_funding_ns)),
                    ("last bar", _utc(result.last_bar_ns)),
                    ("fills", result.fills),
                    ("breaker trips", result.circuit_breaker_trips),
                    ("bar gaps", result.bar_gaps),
                ]
            )
            return head + "\n\n" + _sides([result.long, result.short])
        case PositionsResult():
            return _sides([result.long, result.short])
        case OrdersResult():
            headers = ("client_order_id", "pos", "kind", "side", "type", "price", "qty", "filled")
            order_rows: list[tuple[object, ...]] = [
                (
                    o.client_order_id,
                    o.position_side,
                    o.kind,
                    o.order_side,
                    o.order_type,
                    o.price,
                    o.quantity,
                    o.filled,
                )
                for o in result.orders
            ]
            return table(headers, order_rows) if order_rows else "no open orders"
        case LaddersResult():
            rungs = [(r.side, r.level, r.price, r.quantity) for r in result.rungs]
            return table(("side", "level", "price", "qty"), rungs) if rungs else "no rungs yet"
        case StateResult():
            return pairs([("state", result.state), ("pause reasons", result.pause_reasons)])
        case ThrottleResult():
            return _throttle(result)
        case FlattenResult():
            closing = [(side, qty) for side, qty in result.closing_orders.items()]
            flat = {True: "verified flat", False: "NOT VERIFIED FLAT", None: "not verified"}
            head = pairs(
                [
                    ("sides", result.sides),
                    ("entries cancelled", result.entries_cancelled),
                    ("flat", f"{flat[result.verified]} (attempts: {result.attempts})"),
                ]
            )
            return head + ("\n\n" + table(("side", "closing qty"), closing) if closing else "")
        case KillSwitchResult():
            items: list[tuple[str, object]] = [
                ("kill switch", "LATCHED" if result.latched else "armed"),
                ("reason", result.reason),
                ("fired at (ns)", result.fired_at_ns),
            ]
            items.extend((f"  {k}", v) for k, v in sorted(result.details.items()))
            return pairs(items)
        case ReloadResult():
            return pairs(
                [("applied", result.applied), ("restart required", result.restart_required)]
            )
        case VersionResult():
            return pairs(
                [
                    ("hedgegridd", result.daemon_version),
                    ("protocol", result.protocol_version),
                    ("nautilus_trader", result.nautilus_version),
                    ("python", result.python_version),
                ]
            )
    return str(result.model_dump(mode="json"))
