"""Result schemas of the control commands and their builders from strategy snapshots.

Part of the protocol (shared by server and ctl). Decimals travel as JSON strings.
The builders take the plain snapshot types of ``hedgegridd.strategy.handle``; that
module is imported only for type checking so that ``hedgegridctl`` never loads the
strategy package.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from hedgegridd.strategy.handle import (
        FlattenTicket,
        OrderView,
        RungView,
        SideSnapshot,
        StrategySnapshot,
    )

_RESULT = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class SideResult(BaseModel):
    """One hedge side (mirrors ``SideSnapshot``)."""

    model_config = _RESULT
    side: str
    quantity: Decimal
    avg_price: Decimal | None
    unrealized_pnl: Decimal
    notional: Decimal
    entry_orders: int
    tp_quantity: Decimal
    sl_quantity: Decimal


class StatusResult(BaseModel):
    """``status``: the strategy snapshot plus daemon facts."""

    model_config = _RESULT
    mode: str
    daemon_version: str
    killswitch_latched: bool
    instrument_id: str
    state: str
    pause_reasons: tuple[str, ...]
    regime: str
    center_price: Decimal | None
    last_price: Decimal | None
    throttle: Decimal
    long: SideResult
    short: SideResult
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    equity: Decimal | None
    peak_equity: Decimal | None
    margin_ratio: Decimal | None
    funding_rate: Decimal | None
    next_funding_ns: int | None
    last_bar_ns: int | None
    fills: int
    circuit_breaker_trips: int
    rejects_by_reason: dict[str, int]
    bar_gaps: int


class PositionsResult(BaseModel):
    """``positions``: both hedge sides."""

    model_config = _RESULT
    instrument_id: str
    long: SideResult
    short: SideResult


class OrderResult(BaseModel):
    """One open order (mirrors ``OrderView``)."""

    model_config = _RESULT
    client_order_id: str
    position_side: str
    kind: str
    order_side: str
    order_type: str
    price: Decimal | None
    quantity: Decimal
    filled: Decimal
    status: str
    level: int | None


class OrdersResult(BaseModel):
    """``orders``: every open order of the strategy."""

    model_config = _RESULT
    orders: tuple[OrderResult, ...]


class RungResult(BaseModel):
    """One desired rung (mirrors ``RungView``)."""

    model_config = _RESULT
    side: str
    level: int
    price: Decimal
    quantity: Decimal


class LaddersResult(BaseModel):
    """``ladders``: the desired rungs of the last grid decision."""

    model_config = _RESULT
    rungs: tuple[RungResult, ...]


class StateResult(BaseModel):
    """``pause`` / ``resume``: the trading state after the command."""

    model_config = _RESULT
    state: str
    pause_reasons: tuple[str, ...]


class ThrottleResult(BaseModel):
    """``throttle``: the value before and after, and what it leaves of the entry ladders.

    ``entry_rungs``: desired entry rungs per side at the new throttle (empty before the
    first grid decision). ``empty_sides``: sides the throttle alone leaves without any
    entry (every scaled rung under the venue's minimum quantity or notional), each with
    the smallest throttle that keeps one rung there.
    """

    model_config = _RESULT
    previous: Decimal
    throttle: Decimal
    entry_rungs: dict[str, int] = {}
    empty_sides: dict[str, Decimal] = {}


class FlattenResult(BaseModel):
    """``flatten``: entries cancelled, closing orders sent per side, and whether the
    book was then verified flat (``None``: no verification, the kill switch is off).
    """

    model_config = _RESULT
    sides: tuple[str, ...]
    entries_cancelled: int
    closing_orders: dict[str, Decimal]
    verified: bool | None = None
    attempts: int = 0


class KillSwitchResult(BaseModel):
    """``killswitch status`` / ``killswitch reset``: the latch."""

    model_config = _RESULT
    latched: bool
    reason: str | None = None
    fired_at_ns: int | None = None
    details: dict[str, str] = {}


class ReloadResult(BaseModel):
    """``reload``: which settings were applied and which need a restart."""

    model_config = _RESULT
    applied: tuple[str, ...]
    restart_required: tuple[str, ...] = ()


class VersionResult(BaseModel):
    """``version``: what is running."""

    model_config = _RESULT
    daemon_version: str
    protocol_version: int
    nautilus_version: str
    python_version: str


# --------------------------------------------------------------------------- builders


def _fields(obj: object) -> dict[str, object]:
    """Shallow field dict of a flat dataclass (``dataclasses.asdict`` deep-copies: slow)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


def side_result(side: SideSnapshot) -> SideResult:
    """``SideSnapshot`` -> ``SideResult`` (the wire fields only: snapshot fields added for
    in-process readers, e.g. ``closing_quantity``, do not change the protocol)."""
    return SideResult.model_validate({name: getattr(side, name) for name in _SIDE_FIELDS})


_SIDE_FIELDS = tuple(SideResult.model_fields)


def status_result(
    snapshot: StrategySnapshot, *, mode: str, daemon_version: str, killswitch_latched: bool
) -> StatusResult:
    """``StrategySnapshot`` + daemon facts -> ``StatusResult``."""
    return StatusResult(
        mode=mode,
        daemon_version=daemon_version,
        killswitch_latched=killswitch_latched,
        instrument_id=snapshot.instrument_id,
        state=str(snapshot.state),
        pause_reasons=tuple(snapshot.pause_reasons),
        regime=snapshot.regime,
        center_price=snapshot.center_price,
        last_price=snapshot.last_price,
        throttle=snapshot.throttle,
        long=side_result(snapshot.long),
        short=side_result(snapshot.short),
        realized_pnl=snapshot.realized_pnl,
        unrealized_pnl=snapshot.unrealized_pnl,
        equity=snapshot.equity,
        peak_equity=snapshot.peak_equity,
        margin_ratio=snapshot.margin_ratio,
        funding_rate=snapshot.funding_rate,
        next_funding_ns=snapshot.next_funding_ns,
        last_bar_ns=snapshot.last_bar_ns,
        fills=snapshot.fills,
        circuit_breaker_trips=snapshot.circuit_breaker_trips,
        rejects_by_reason=dict(snapshot.rejects_by_reason),
        bar_gaps=snapshot.bar_gaps,
    )


def positions_result(snapshot: StrategySnapshot) -> PositionsResult:
    """Both sides of a snapshot."""
    return PositionsResult(
        instrument_id=snapshot.instrument_id,
        long=side_result(snapshot.long),
        short=side_result(snapshot.short),
    )


def orders_result(orders: Iterable[OrderView]) -> OrdersResult:
    """Open orders -> ``OrdersResult``."""
    return OrdersResult(orders=tuple(OrderResult.model_validate(_fields(o)) for o in orders))


def ladders_result(rungs: Iterable[RungView]) -> LaddersResult:
    """Desired rungs -> ``LaddersResult``."""
    return LaddersResult(rungs=tuple(RungResult.model_validate(_fields(r)) for r in rungs))


def state_result(snapshot: StrategySnapshot) -> StateResult:
    """Trading state and pause reasons of a snapshot."""
    return StateResult(state=str(snapshot.state), pause_reasons=tuple(snapshot.pause_reasons))


def flatten_result(
    ticket: FlattenTicket, *, verified: bool | None = None, attempts: int = 0
) -> FlattenResult:
    """``FlattenTicket`` (+ the verification outcome, if any) -> ``FlattenResult``."""
    return FlattenResult(
        sides=tuple(ticket.sides),
        entries_cancelled=ticket.entries_cancelled,
        closing_orders=dict(ticket.closing_orders),
        verified=verified,
        attempts=attempts,
    )


def killswitch_result(
    *,
    latched: bool,
    reason: str | None = None,
    fired_at_ns: int | None = None,
    details: Mapping[str, object] | None = None,
) -> KillSwitchResult:
    """A kill switch latch (details rendered as strings)."""
    return KillSwitchResult(
        latched=latched,
        reason=reason,
        fired_at_ns=fired_at_ns,
        details={str(k): str(v) for k, v in (details or {}).items()},
    )
