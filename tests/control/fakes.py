"""In-memory strategy state behind the control server (the real one is the daemon's)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hedgegridd.control.backend import HandleBackend
from hedgegridd.control.results import KillSwitchResult, ReloadResult, killswitch_result
from hedgegridd.errors import ConfigError
from hedgegridd.strategy.handle import (
    FlattenSide,
    FlattenTicket,
    OrderView,
    RungView,
    SideSnapshot,
    StrategySnapshot,
    TradingState,
)


def _side(name: str, qty: str, avg: str | None) -> SideSnapshot:
    quantity = Decimal(qty)
    return SideSnapshot(
        side=name,
        quantity=quantity,
        avg_price=Decimal(avg) if avg else None,
        unrealized_pnl=Decimal("1.25") if quantity else Decimal(0),
        notional=quantity * Decimal("60000"),
        entry_orders=5,
        tp_quantity=quantity,
        sl_quantity=quantity,
    )


@dataclass
class FakeStrategy:
    """A StrategyHandle with plain in-memory state; records the threads that call it."""

    pause_reasons: list[str] = field(default_factory=list)
    kept_orders: list[str] = field(default_factory=list)  # reasons paused with keep_orders
    throttle: Decimal = Decimal(1)
    halted: bool = False
    long_qty: str = "0.003"
    short_qty: str = "0.002"
    calls: list[tuple[str, int]] = field(default_factory=list)

    def _called(self, name: str) -> None:
        self.calls.append((name, threading.get_ident()))

    def snapshot(self) -> StrategySnapshot:
        self._called("snapshot")
        if self.halted:
            state = TradingState.HALTED
        elif self.pause_reasons:
            state = TradingState.PAUSED
        else:
            state = TradingState.RUNNING
        return StrategySnapshot(
            instrument_id="BTCUSDT-PERP.BINANCE",
            state=state,
            pause_reasons=tuple(self.pause_reasons),
            regime="SIDEWAYS",
            center_price=Decimal("60000.0"),
            last_price=Decimal("60012.3"),
            throttle=self.throttle,
            long=_side("LONG", self.long_qty, "59950.1" if self.long_qty != "0" else None),
            short=_side("SHORT", self.short_qty, "60080.5" if self.short_qty != "0" else None),
            realized_pnl=Decimal("12.5"),
            unrealized_pnl=Decimal("2.5"),
            equity=Decimal("10014.5"),
            peak_equity=Decimal("10020"),
            margin_ratio=Decimal("0.012"),
            funding_rate=Decimal("0.0001"),
            next_funding_ns=1_700_000_000_000_000_000,
            last_bar_ns=1_699_999_940_000_000_000,
            fills=42,
            circuit_breaker_trips=0,
            rejects_by_reason={"post_only": 3},
        )

    def open_orders(self) -> Sequence[OrderView]:
        self._called("open_orders")
        return [
            OrderView(
                client_order_id=f"O-{i}",
                position_side="LONG" if i % 2 else "SHORT",
                kind="entry",
                order_side="BUY" if i % 2 else "SELL",
                order_type="LIMIT",
                price=Decimal("60000") + (i - 5) * Decimal("30.0"),
                quantity=Decimal("0.002"),
                filled=Decimal(0),
                status="ACCEPTED",
                level=i,
            )
            for i in range(10)
        ]

    def ladders(self) -> Sequence[RungView]:
        self._called("ladders")
        return [
            RungView(
                side="LONG", level=i, price=Decimal("59900") - i * 30, quantity=Decimal("0.002")
            )
            for i in range(5)
        ]

    def pause(self, reason: str, *, keep_orders: bool = False) -> None:
        self._called("pause")
        if reason not in self.pause_reasons:
            self.pause_reasons.append(reason)
        if keep_orders:
            self.kept_orders.append(reason)

    def resume(self, reason: str) -> None:
        self._called("resume")
        if reason == "*":
            self.pause_reasons.clear()
        elif reason in self.pause_reasons:
            self.pause_reasons.remove(reason)

    def set_throttle(self, value: Decimal) -> None:
        self._called("set_throttle")
        if not Decimal(0) <= value <= Decimal(1):
            raise ConfigError("throttle: must be within 0..1")
        self.throttle = value

    def throttle_effect(self) -> dict[str, tuple[int, Decimal | None]]:
        """Rungs fall under the minimum notional below throttle 0.6 (LONG) / 0.3 (SHORT)."""
        self._called("throttle_effect")
        out: dict[str, tuple[int, Decimal | None]] = {}
        for side, need in (("LONG", Decimal("0.6")), ("SHORT", Decimal("0.3"))):
            out[side] = (5, None) if self.throttle >= need else (0, need)
        return out

    def cancel_entries(self) -> int:
        self._called("cancel_entries")
        return 10

    def flatten(self, side: FlattenSide) -> FlattenTicket:
        self._called("flatten")
        self.pause("flatten")
        sides = ("LONG", "SHORT") if side is FlattenSide.BOTH else (side.value,)
        closing = {}
        for s in sides:
            qty = self.long_qty if s == "LONG" else self.short_qty
            closing[s] = Decimal(qty)
            if s == "LONG":
                self.long_qty = "0"
            else:
                self.short_qty = "0"
        return FlattenTicket(sides=sides, entries_cancelled=5 * len(sides), closing_orders=closing)

    def is_flat(self, side: FlattenSide) -> bool:
        return self.long_qty == "0" and self.short_qty == "0"

    def halt(self, reason: str) -> None:
        self.halted = True

    def unhalt(self) -> None:
        self.halted = False


@dataclass
class FakeKillSwitch:
    """The latch the supervisor would keep in its StateStore."""

    latched: bool = False
    reason: str | None = None
    resets: list[str] = field(default_factory=list)

    async def status(self) -> KillSwitchResult:
        return killswitch_result(
            latched=self.latched,
            reason=self.reason,
            fired_at_ns=1 if self.latched else None,
            details={"drawdown_pct": Decimal("12.5")} if self.latched else None,
        )

    async def reset(self, actor: str) -> KillSwitchResult:
        self.resets.append(actor)
        self.latched = False
        self.reason = None
        return await self.status()


@dataclass
class JournalRecorder:
    """Stands in for AsyncStateStore.journal."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, kind: str, *, actor: str, details: dict[str, Any], at_ns: int) -> None:
        self.entries.append({"kind": kind, "actor": actor, "details": details, "at_ns": at_ns})


@dataclass
class FakeDaemon:
    """Strategy + kill switch + journal wired into a HandleBackend."""

    strategy: FakeStrategy = field(default_factory=FakeStrategy)
    killswitch: FakeKillSwitch = field(default_factory=FakeKillSwitch)
    journal: JournalRecorder = field(default_factory=JournalRecorder)
    reloads: list[str] = field(default_factory=list)

    def latch(self, reason: str = "drawdown") -> None:
        self.killswitch.latched = True
        self.killswitch.reason = reason
        self.strategy.halt(reason)

    async def _reload(self, actor: str) -> ReloadResult:
        self.reloads.append(actor)
        return ReloadResult(applied=("alerts", "kill_switch"), restart_required=("venue",))

    async def _reset(self, actor: str) -> KillSwitchResult:
        result = await self.killswitch.reset(actor)
        self.strategy.unhalt()
        return result

    def backend(self) -> HandleBackend:
        return HandleBackend(
            handle=lambda: self.strategy,
            killswitch_status=self.killswitch.status,
            killswitch_reset=self._reset,
            reload=self._reload,
            mode="paper",
            daemon_version="0.1.0",
        )
