"""The Closer on its own: incidents, what it sends, backoff after refusals, one alert each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import Any

from hedgegridd.core.types import (
    ZERO,
    ExitKind,
    InstrumentRules,
    LiveEntry,
    Position,
    RestingExit,
    Side,
)
from hedgegridd.strategy.closer import (
    ALERT_AFTER,
    FLATTEN_REASON,
    GAP_REASON,
    RETRY_BASE_NS,
    RETRY_CAP_NS,
    Closer,
)

D = Decimal
RULES = InstrumentRules(
    tick=D("0.1"), step=D("0.001"), min_qty=D("0.001"), max_qty=D(100), min_notional=D(5)
)
SEC = 1_000_000_000


@dataclass
class FakeClock:
    now: int = 0
    timers: dict[str, tuple[int, Callable[[Any], None]]] = field(default_factory=dict)

    def timestamp_ns(self) -> int:
        return self.now

    @property
    def timer_names(self) -> list[str]:
        return list(self.timers)

    def set_time_alert_ns(self, name: str, at_ns: int, callback: Callable[[Any], None]) -> None:
        assert name not in self.timers
        self.timers[name] = (at_ns, callback)

    def cancel_timer(self, name: str) -> None:
        del self.timers[name]

    def advance(self, to_ns: int) -> None:
        self.now = to_ns
        for name, (at_ns, callback) in sorted(self.timers.items(), key=lambda t: t[1][0]):
            if at_ns <= to_ns:
                del self.timers[name]
                callback(type("TimeEvent", (), {"name": name})())


@dataclass
class FakeBook:
    exits: list[RestingExit] = field(default_factory=list)
    closes: dict[Side, Decimal] = field(default_factory=lambda: {Side.LONG: D(0), Side.SHORT: D(0)})

    def views(self) -> tuple[tuple[LiveEntry, ...], tuple[RestingExit, ...]]:
        return (), tuple(self.exits)

    def closing_qty(self, side: Side) -> Decimal:
        return self.closes[side]


@dataclass
class FakeHost:
    """The strategy's side of the closer, with a venue that may refuse every close."""

    long: Decimal = ZERO
    book: FakeBook = field(default_factory=FakeBook)
    clock: FakeClock = field(default_factory=FakeClock)
    rules: InstrumentRules | None = RULES
    sent: list[Decimal] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    alerts: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)

    def confirmed_positions(self) -> tuple[Position, Position]:
        long = Position(Side.LONG, self.long, D(100) if self.long > 0 else None)
        return long, Position(Side.SHORT)

    def _send_close(self, side: Side, qty: Decimal) -> Decimal:
        self.sent.append(qty)
        self.book.closes[side] += qty
        return qty

    def _cancel_id(self, order_id: str) -> bool:
        self.cancelled.append(order_id)
        self.book.exits = [
            RestingExit(e.order_id, e.side, e.kind, e.price, e.qty, pending_cancel=True)
            if e.order_id == order_id
            else e
            for e in self.book.exits
        ]
        return True

    def _alert(self, kind: str, details: dict[str, str]) -> None:
        self.alerts.append((kind, details))

    def _enter_degraded(self, where: str, exc: BaseException) -> None:
        self.degraded.append(where)

    def refuse_all_closes(self, closer: Closer) -> None:
        """The venue refuses every close in flight (e.g. -1003 rate limit)."""
        if self.book.closes[Side.LONG] > 0:
            self.book.closes[Side.LONG] = D(0)
            closer.on_close_refused(Side.LONG, "-1003")


def _exit(oid: str, kind: ExitKind, qty: str) -> RestingExit:
    return RestingExit(oid, Side.LONG, kind, D(1), D(qty))


def test_refused_closes_back_off_and_alert_once() -> None:
    """A venue refusing every close sees one close per doubling backoff step, one alert."""
    host = FakeHost(long=D("0.010"))
    closer = Closer(host)
    assert closer.request(Side.LONG, None, FLATTEN_REASON) == D("0.010")
    sends_at = [0]
    for _ in range(60):  # ten minutes of a venue refusing, with everything pumping often
        host.refuse_all_closes(closer)
        before = len(host.sent)
        closer.pump()  # pumps from fills/cancels/bars must not bypass the backoff
        assert len(host.sent) == before
        host.clock.advance(host.clock.now + 10 * SEC)
        if len(host.sent) > before:
            sends_at.append(host.clock.now)
    gaps = [b - a for a, b in pairwise(sends_at)]
    assert gaps[:3] == [10 * SEC, 10 * SEC, 10 * SEC]  # 1 s, 2 s, 4 s < the 10 s step
    assert all(g >= RETRY_CAP_NS for g in gaps[5:])  # capped at 30 s, never faster
    assert len(host.sent) <= 1 + 600 // 10
    failed = [a for a in host.alerts if a[0] == "close_failed"]
    assert len(failed) == 1
    assert failed[0][1]["refusals"] == str(ALERT_AFTER)
    assert closer.incident(Side.LONG) is not None  # still closing: never given up silently


def test_a_flatten_retries_at_once_during_the_backoff() -> None:
    """An operator or kill switch flatten does not wait for the backoff to run out."""
    host = FakeHost(long=D("0.010"))
    closer = Closer(host)
    closer.request(Side.LONG, None, FLATTEN_REASON)
    host.refuse_all_closes(closer)
    assert closer.pump() == 0
    assert closer.request(Side.LONG, None, FLATTEN_REASON) == D("0.010")
    assert host.clock.now < RETRY_BASE_NS


def test_gap_close_keeps_the_protected_part_and_alerts_once_per_incident() -> None:
    """Only the uncovered quantity closes; exits beyond the kept part are cancelled first."""
    host = FakeHost(long=D("0.030"))
    host.book.exits = [
        _exit("tp1", ExitKind.TP, "0.020"),
        _exit("sl1", ExitKind.SL, "0.020"),
        _exit("tp2", ExitKind.TP, "0.010"),  # the paired SL of this lot was refused (-2021)
    ]
    closer = Closer(host)
    assert closer.request(Side.LONG, D("0.010"), GAP_REASON) == 0  # tp2 could still fill
    assert host.cancelled == ["tp2"]
    assert closer.effective(Position(Side.LONG, D("0.030"), D(100))).qty == D("0.020")
    host.book.exits = host.book.exits[:2]  # the cancel is confirmed
    assert closer.pump() == D("0.010")
    # Same incident, 0.001 more uncovered: the 0.020 exits no longer fit what is kept, so
    # they are cancelled (the planner re-places 0.019) and the close waits for the acks.
    assert closer.request(Side.LONG, D("0.001"), GAP_REASON) == 0
    assert host.cancelled == ["tp2", "tp1", "sl1"]
    host.book.exits = []
    assert closer.pump() == D("0.001")
    assert [a[0] for a in host.alerts] == ["gap_close"]
    host.long, host.book.closes[Side.LONG] = D("0.019"), D(0)  # closes filled
    assert closer.pump() == 0
    assert not closer.is_closing(Side.LONG)
    closer.request(Side.LONG, D("0.002"), GAP_REASON)  # a new incident: a new alert
    assert [a[0] for a in host.alerts] == ["gap_close", "gap_close"]


def test_a_fill_during_a_gap_close_is_closed_too() -> None:
    """A lot that fills while the side is being closed gets no stop (it would be refused)."""
    host = FakeHost(long=D("0.010"))
    host.book.exits = [_exit("tp1", ExitKind.TP, "0.007"), _exit("sl1", ExitKind.SL, "0.007")]
    closer = Closer(host)
    assert closer.request(Side.LONG, D("0.003"), GAP_REASON) == D("0.003")
    host.long = D("0.013")  # an entry filled
    assert closer.effective(Position(Side.LONG, D("0.013"), D(100))).qty == D("0.007")
    assert closer.pump() == D("0.003")
    closer.on_exit_filled(Side.LONG, D("0.002"))  # a kept stop traded: less is kept
    assert closer.effective(Position(Side.LONG, D("0.011"), D(100))).qty == D("0.005")
