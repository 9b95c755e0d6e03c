"""The ``StrategyHandle`` operations (snapshot, orders, pause, throttle, flatten, halt).

Called by the daemon on the node's event loop. Commands that can place entries
(resume, throttle, unhalt) go through the same ``_sync`` as bars, so the risk
gate applies to them too; pause/halt/flatten only ever reduce activity.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import structlog
from nautilus_trader.model.identifiers import ClientOrderId

from hedgegridd.core.policy import validate_throttle
from hedgegridd.core.types import ZERO, ExitKind, Side
from hedgegridd.errors import ConfigError, DomainError
from hedgegridd.strategy.closer import FLATTEN_REASON
from hedgegridd.strategy.command_sync import CommandResync
from hedgegridd.strategy.handle import (
    FlattenSide,
    FlattenTicket,
    OrderView,
    RungView,
    SideSnapshot,
    StrategySnapshot,
    TradingState,
)
from hedgegridd.strategy.orders import ENTRY
from hedgegridd.strategy.state import StrategyAttrs
from hedgegridd.strategy.throttle_effect import throttle_effect

log = structlog.get_logger(__name__)
_ORDER_TYPES = {"LIMIT": "LIMIT", "STOP_MARKET": "STOP_MARKET", "MARKET": "MARKET"}
FLATTEN_PAUSE = "flatten"
MONEY_PLACES = 8  # PnL, equity, notional, ratios and funding rates in replies
AVG_EXTRA_PLACES = 2  # an average entry price is kept 2 digits finer than the tick


def _places(increment: Decimal | None, default: int) -> int:
    """Decimal places of an increment (tick 0.10 -> 1, step 0.001 -> 3)."""
    if increment is None:
        return default
    exponent = increment.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else default


def _round(value: Decimal | None, places: int) -> Decimal | None:
    """``value`` at ``places`` decimals (no float noise such as 59314.375999999975)."""
    if value is None:
        return None
    return _round_z(value, places)


def _round_z(value: Decimal, places: int) -> Decimal:
    """Like ``_round`` for a value that is always present; zero stays a plain ``0``."""
    if value == 0:
        return ZERO
    return value.quantize(Decimal(1).scaleb(-places))


def _sides(side: FlattenSide) -> tuple[Side, ...]:
    if side is FlattenSide.BOTH:
        return (Side.LONG, Side.SHORT)
    return (Side(side.value),)


class ControlMixin(StrategyAttrs):
    """``StrategyHandle`` for ``HedgeGridStrategy`` (mixed in; uses its state)."""

    def state_now(self) -> TradingState:
        """Coarse trading state derived from the lifecycle and the risk gate."""
        if self.start_failure is not None or self.trading_state is TradingState.STOPPED:
            return TradingState.STOPPED
        if self.trading_state is TradingState.STARTING or self.risk is None:
            return TradingState.STARTING
        if self.halted_reason is not None:
            return TradingState.HALTED
        if "degraded" in self.risk.pause_reasons:
            return TradingState.DEGRADED
        if self.pause_reasons_now():
            return TradingState.PAUSED
        return TradingState.RUNNING

    def pause_reasons_now(self) -> tuple[str, ...]:
        """Every reason entries are not placed right now (pauses, drawdown, breaker)."""
        if self.risk is None:
            return ()
        reasons = list(self.risk.pause_reasons)
        if self.risk.drawdown_latched:
            reasons.append("drawdown")
        if self.risk.breaker_tripped:
            reasons.append("circuit_breaker")
        return tuple(sorted(set(reasons)))

    def _precisions(self) -> tuple[int, int]:
        """(price places, size places) of the instrument (tick/step once started)."""
        rules = self.rules
        return (
            _places(rules.tick if rules is not None else None, 8),
            _places(rules.step if rules is not None else None, 8),
        )

    def snapshot(self) -> StrategySnapshot:
        """Current state in plain values (cheap: no order history is scanned).

        Prices are at the instrument's price precision (average prices 2 digits finer),
        quantities at its size precision, money, ratios and funding at 8 decimals.
        """
        long, short = self.confirmed_positions()
        live, resting = self.book.views()
        price = self.last_price
        px, sz = self._precisions()
        m = MONEY_PLACES

        def side_snap(pos_side: Side) -> SideSnapshot:
            pos = long if pos_side is Side.LONG else short
            sign = 1 if pos_side is Side.LONG else -1
            upnl = ZERO
            if price is not None and pos.avg_price is not None:
                upnl = (price - pos.avg_price) * pos.qty * sign
            return SideSnapshot(
                side=pos_side.value,
                quantity=_round_z(pos.qty, sz),
                avg_price=_round(pos.avg_price, px + AVG_EXTRA_PLACES),
                unrealized_pnl=_round_z(upnl, m),
                notional=_round_z(pos.qty * price if price is not None else ZERO, m),
                entry_orders=sum(1 for e in live if e.side is pos_side and not e.pending_cancel),
                tp_quantity=_round_z(
                    sum(
                        (
                            e.qty
                            for e in resting
                            if e.side is pos_side and e.kind is ExitKind.TP and not e.pending_cancel
                        ),
                        ZERO,
                    ),
                    sz,
                ),
                sl_quantity=_round_z(
                    sum(
                        (
                            e.qty
                            for e in resting
                            if e.side is pos_side and e.kind is ExitKind.SL and not e.pending_cancel
                        ),
                        ZERO,
                    ),
                    sz,
                ),
                closing_quantity=_round_z(self.book.closing_qty(pos_side), sz),
                closing=self.closer.is_closing(pos_side),
            )

        ls, ss = side_snap(Side.LONG), side_snap(Side.SHORT)
        risk = self.risk
        return StrategySnapshot(
            instrument_id=str(self.instrument_id),
            state=self.state_now(),
            pause_reasons=self.pause_reasons_now(),
            regime=self.regime.regime.value if self.regime is not None else "WARMUP",
            center_price=_round(self.center, px),
            last_price=_round(price, px),
            throttle=self.throttle,
            long=ls,
            short=ss,
            realized_pnl=_round_z(self.book.realized_pnl, m),
            unrealized_pnl=_round_z(ls.unrealized_pnl + ss.unrealized_pnl, m),
            equity=_round(self.equity, m),
            peak_equity=_round(risk.peak_equity if risk is not None else None, m),
            margin_ratio=_round(self._margin_ratio(), m),
            funding_rate=_round(self.funding.rate if self.funding is not None else None, m),
            next_funding_ns=self.funding.next_funding_ns if self.funding is not None else None,
            last_bar_ns=self.last_bar_ns,
            fills=self.book.fills,
            circuit_breaker_trips=risk.trips if risk is not None else 0,
            rejects_by_reason=dict(self.book.rejects_by_reason),
            bar_gaps=self.bar_gaps,
            bars=self.bars,
        )

    def _margin_ratio(self) -> Decimal | None:
        account = self.cache.account_for_venue(self.instrument_id.venue)
        if account is None or self.equity is None or self.equity <= 0:
            return None
        margins = getattr(account, "margins_maint", None)
        if margins is None:
            return None
        maint = sum((m.as_decimal() for m in margins().values()), ZERO)
        return maint / self.equity

    def open_orders(self) -> Sequence[OrderView]:
        """Our open orders (entries, exits, flatten) as plain views."""
        views: list[OrderView] = []
        px, sz = self._precisions()
        for key, meta in self.book.open_ids.items():
            order = self.cache.order(ClientOrderId(key))
            if order is None or order.is_closed:
                continue
            price = order.price if meta.kind != "sl" and order.has_price else None
            if meta.kind == "sl":
                price = order.trigger_price
            views.append(
                OrderView(
                    client_order_id=key,
                    position_side=meta.side.value,
                    kind=meta.kind,
                    order_side=order.side_string(),
                    order_type=_ORDER_TYPES.get(order.type_string(), order.type_string()),
                    price=_round(price.as_decimal() if price is not None else None, px),
                    quantity=_round_z(order.quantity.as_decimal(), sz),
                    filled=_round_z(order.filled_qty.as_decimal(), sz),
                    status=order.status_string(),
                    level=meta.level if meta.kind == ENTRY else None,
                )
            )
        return views

    def ladders(self) -> Sequence[RungView]:
        """Desired rungs of the last grid decision."""
        d = self.last_decision
        if d is None:
            return ()
        px, sz = self._precisions()
        return tuple(
            RungView(
                side=r.side.value,
                level=r.level,
                price=_round_z(r.price, px),
                quantity=_round_z(r.qty, sz),
            )
            for r in d.desired_rungs
        )

    def pause(self, reason: str, *, keep_orders: bool = False) -> None:
        """Stop new exposure under ``reason``: resting entries are withdrawn (cancelled),
        or with ``keep_orders`` left resting untouched (frozen). Exits always stay.

        Reasons accumulate; entries stay frozen only while every pause reason in force
        was given with ``keep_orders`` (a later pause without it withdraws them).
        """
        if self.risk is None:
            return
        if keep_orders:
            self.frozen_pauses.add(reason)
        else:
            self.frozen_pauses.discard(reason)
        self.risk.pause(reason)
        log.info(
            "strategy.paused",
            reason=reason,
            keep_orders=keep_orders,
            reasons=list(self.pause_reasons_now()),
        )
        self._sync_guarded("pause")

    def resume(self, reason: str | None = None) -> None:
        """Clear ``reason`` ("*": every operator/degraded reason; "drawdown" re-bases the peak).

        This name is also Nautilus' component ``resume()`` (DEGRADED -> RUNNING): called
        without a reason, or with "degraded"/"*" while the node has the component
        DEGRADED, the component is resumed too so events flow again.
        """
        if reason is None or reason in ("degraded", "*"):
            from nautilus_trader.trading.strategy import Strategy

            if self.is_degraded:
                Strategy.resume(self)
            reason = reason or "degraded"
        if self.risk is None:
            return
        if reason == "*":
            for r in self.risk.pause_reasons:
                if r != "halted":
                    self.risk.resume(r)
                    self.frozen_pauses.discard(r)
            self.degraded_reason = None
        elif reason == "drawdown":
            equity = self.current_equity()
            if equity is not None:
                self.risk.clear_drawdown(equity)
        else:
            self.risk.resume(reason)
            self.frozen_pauses.discard(reason)
            if reason == "degraded":
                self.degraded_reason = None
        log.info("strategy.resumed", reason=reason, reasons=list(self.pause_reasons_now()))
        self._command_sync("resume")

    def set_throttle(self, value: Decimal) -> None:
        """Scale entry quantities by ``value`` in [0, 1]; ConfigError otherwise. A side whose
        scaled rungs all fall under the venue's minimums is logged as a warning."""
        try:
            throttle = validate_throttle(Decimal(value))
        except (DomainError, ArithmeticError, TypeError, ValueError) as exc:
            raise ConfigError(f"throttle must be a number within [0, 1], got {value!r}") from exc
        if throttle != self.throttle:
            self.throttle = throttle
            log.info("strategy.throttle", throttle=str(throttle))
            self._command_sync("throttle")
        for side, (_, need) in self.throttle_effect().items():
            if need is not None:
                log.warning(
                    "strategy.throttle_empties_side",
                    side=side,
                    throttle=str(throttle),
                    min_throttle=str(need),
                    why="every scaled rung falls under the minimum quantity or notional",
                )

    def throttle_effect(self) -> dict[str, tuple[int, Decimal | None]]:
        """Entry rungs per side now; for a side the throttle empties, the throttle keeping one."""
        decision, grid = self.last_decision, self.grid
        if decision is None or grid is None or self.regime is None or self.last_price is None:
            return {}
        effect = throttle_effect(
            grid,
            decision,
            regime=self.regime.regime,
            mid=self.last_price,
            positions=self.confirmed_positions(),
            throttle=self.throttle,
        )
        return {side.value: (e.rungs, e.min_throttle) for side, e in effect.items()}

    def cancel_entries(self) -> int:
        """Cancel every resting entry; returns how many cancels were sent."""
        count = self._cancel_kind(entries=True, exits=False)
        log.info("strategy.entries_cancelled", count=count)
        return count

    def flatten(self, side: FlattenSide) -> FlattenTicket:
        """Pause, cancel entries of ``side`` and close what is not already being closed.

        Idempotent by quantity: closes in flight (and the part queued behind exits being
        cancelled) count against the position, so any number of calls (operator, kill
        switch retries, gap closes) closes the position once, never more. A call while a
        close waits for its retry backoff retries at once.
        """
        self.pause(FLATTEN_PAUSE)
        sides = _sides(side)
        cancelled = 0
        closing: dict[str, Decimal] = {}
        already: dict[str, Decimal] = {}
        sent: dict[str, Decimal] = {}
        for s in sides:
            cancelled += self._cancel_kind(entries=True, exits=False, side=s)
            held = self._held(s)
            if held == 0 and not self.closer.is_closing(s):
                continue
            before = self.closer.committed(s, held)
            now = self.closer.request(s, None, FLATTEN_REASON)
            after = self.closer.committed(s, self._held(s))
            if before > 0:
                already[s.value] = before
            if after > before:
                closing[s.value] = after - before
            if now > 0:
                sent[s.value] = now
        log.warning(
            "strategy.flatten",
            sides=[s.value for s in sides],
            closing={k: str(v) for k, v in closing.items()},
            already_closing={k: str(v) for k, v in already.items()},
            sent_now={k: str(v) for k, v in sent.items()},
        )
        return FlattenTicket(
            sides=tuple(s.value for s in sides),
            entries_cancelled=cancelled,
            closing_orders=closing,
            already_closing=already,
            sent_now=sent,
        )

    def _held(self, side: Side) -> Decimal:
        long, short = self.confirmed_positions()
        return (long if side is Side.LONG else short).qty

    def is_flat(self, side: FlattenSide) -> bool:
        """True when the confirmed position of ``side`` (or both) is zero."""
        long, short = self.confirmed_positions()
        qty = {Side.LONG: long.qty, Side.SHORT: short.qty}
        return all(qty[s] == 0 for s in _sides(side))

    def halt(self, reason: str) -> None:
        """Kill switch latched: withdraw entries until ``unhalt``."""
        self.halted_reason = reason
        if self.risk is not None:
            self.risk.pause("halted")
        log.warning("strategy.halted", reason=reason)
        self._sync_guarded("halt")

    def unhalt(self) -> None:
        """Operator reset of the kill switch: trading resumes unless other pauses remain."""
        self.halted_reason = None
        if self.risk is not None:
            self.risk.resume("halted")
        log.info("strategy.unhalted", reasons=list(self.pause_reasons_now()))
        self._command_sync("unhalt")

    def _command_sync(self, source: str) -> None:
        """Re-sync for a command that can place entries: bursts coalesce (command_sync.py)."""
        if (resync := getattr(self, "_command_resync", None)) is None:
            resync = self._command_resync = CommandResync(self.clock, self._sync_guarded)
        resync.request(source)
