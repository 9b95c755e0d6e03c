"""``Notifier``: fills, round trips and a daily summary sent through the alert manager.

The feed is one synchronous, O(1) call per fill (``push``: append the raw event to
a bounded deque), made by the message bus right after the strategy handled the
fill; nothing is translated, formatted or awaited there, so notifications add no
work to the strategy's handlers and a dead channel never slows trading (the alert
manager's ``notify`` only queues, and its sender task is the one that waits).

``tick(now)`` does the rest on the notifier's own task, once per ``tick_s``:
translates and de-duplicates the pending fills (a replayed fill is notified once),
books round trips, samples the strategy's snapshot (peak equity and drawdown of the
period, funding estimate), sends fills at once (``each``) or a digest every
``digest_interval_min``, and the daily summary when the wall clock passes
``daily_summary_utc``. ``now`` comes from an injectable clock (epoch seconds), so
tests move time instead of waiting for it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import anyio
import structlog
from anyio.abc import TaskStatus

from hedgegridd.ops.alert_model import AlertSink
from hedgegridd.ops.notify_config import NotifyConfig
from hedgegridd.ops.notify_model import (
    DayStats,
    FillNote,
    SeenFills,
    TripBook,
    TripNote,
    fill_line,
    money,
    plain,
    trip_line,
    utc_text,
)
from hedgegridd.strategy.handle import StrategySnapshot

log = structlog.get_logger(__name__)

DAY_S = 86_400
PENDING_LIMIT = 10_000  # raw fills waiting for the next tick; beyond it the oldest go


class FillSource(Protocol):
    """Where fills come from (the node's message bus in the daemon, a list in tests)."""

    def start(self, push: Callable[[object], None]) -> Callable[[], None]:
        """Begin calling ``push(raw_fill)`` for every fill; returns the unsubscribe call."""
        ...

    def translate(self, raw: object) -> FillNote | None:
        """The fill as a ``FillNote`` (None when it is not the strategy's)."""
        ...


class Keys:
    """Alert keys of notifications (deduplication and rate limits are per key)."""

    FILL = "notify.fill"
    ROUND_TRIP = "notify.round_trip"
    DIGEST = "notify.digest"
    DAILY = "notify.daily"


def next_daily_s(after_s: float, minute_of_day: int) -> float:
    """The first ``minute_of_day`` (UTC) strictly after ``after_s`` (epoch seconds)."""
    day_start = after_s - after_s % DAY_S
    due = day_start + minute_of_day * 60
    return due if due > after_s else due + DAY_S


@dataclass(slots=True)
class _Funding:
    """The last funding figures seen, to estimate each settlement."""

    rate: Decimal | None = None
    next_ns: int | None = None
    net_notional: Decimal = Decimal(0)


class Notifier:
    """Sends fill/round-trip notifications and the daily summary to an ``AlertSink``."""

    def __init__(
        self,
        config: NotifyConfig,
        sink: AlertSink,
        *,
        snapshot: Callable[[], StrategySnapshot] | None = None,
        source: FillSource | None = None,
        clock: Callable[[], float] = time.time,
        tick_s: float = 1.0,
        sample_s: float = 5.0,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self._config = config
        self._sink = sink
        self._snapshot = snapshot
        self._source = source
        self._clock = clock
        self._tick_s = tick_s
        self._sample_s = sample_s
        self._next_sample_s = 0.0
        self._heartbeat = heartbeat or (lambda: None)
        self._raw: deque[object] = deque(maxlen=PENDING_LIMIT)
        self._seen = SeenFills()
        self._book = TripBook()
        self._batch: list[tuple[FillNote, TripNote | None]] = []
        self._day: DayStats | None = None
        self._funding = _Funding()
        self._next_digest_s = 0.0
        self._next_daily_s = 0.0
        self.sent: dict[str, int] = {}  # per key: notifications handed to the sink
        self.fills_seen = 0

    # -- the feed (called by the message bus: O(1), never raises) ----------------------
    def push(self, raw: object) -> None:
        """Remember a fill for the next tick."""
        self._raw.append(raw)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, now: float) -> None:
        """Open the first period at ``now``; seed the round-trip book from the positions."""
        self._day = DayStats(start_s=now)
        self._next_digest_s = now + self._config.digest_interval_min * 60
        self._next_daily_s = next_daily_s(now, self._config.daily_minute)
        snap = self._read_snapshot()
        if snap is not None:
            for side in (snap.long, snap.short):
                self._book.seed(side.side, side.quantity, side.avg_price)
            self._day.realized_start = snap.realized_pnl
            self._observe(snap)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The notifier task: subscribe to fills, then tick until cancelled."""
        unsubscribe = self._source.start(self.push) if self._source is not None else None
        try:
            self.start(self._clock())
            log.info(
                "notify.started",
                fills=self._config.fills,
                daily_at=self._config.daily_summary_utc,
                next_daily=utc_text(self._next_daily_s),
            )
            task_status.started()
            while True:
                self._heartbeat()
                try:
                    self.tick(self._clock())
                except Exception:  # a notification bug must not stop the daemon
                    log.exception("notify.tick_failed")
                await anyio.sleep(self._tick_s)
        finally:
            if unsubscribe is not None:
                unsubscribe()

    def flush(self) -> None:
        """Send the fills not sent yet (shutdown: before the alert queue is drained)."""
        if self._day is None:
            return
        self._take_fills()
        if self._config.fills == "digest":
            self._send_digest(self._clock())
        elif self._config.fills == "each" or self._config.round_trips:
            self._send_each()

    # -- one step -----------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Process pending fills and send whatever is due at ``now``."""
        if self._day is None:
            self.start(now)
        self._take_fills()
        daily_due = self._config.daily_summary and now >= self._next_daily_s
        snap = None
        if daily_due or now >= self._next_sample_s:  # equity and funding every sample_s
            self._next_sample_s = now + self._sample_s
            snap = self._read_snapshot()
            if snap is not None:
                self._observe(snap)
        if self._config.fills == "each" or (
            self._config.fills == "off" and self._config.round_trips
        ):
            self._send_each()
        elif self._config.fills == "digest" and now >= self._next_digest_s:
            self._send_digest(now)
        elif self._config.fills == "off":
            self._batch.clear()
        if daily_due:
            self._send_daily(now, snap)

    def _take_fills(self) -> None:
        assert self._day is not None
        while self._raw:
            raw = self._raw.popleft()
            fill = raw if isinstance(raw, FillNote) else self._translate(raw)
            if fill is None or not self._seen.add(fill):
                continue
            self.fills_seen += 1
            trip = self._book.apply(fill)
            self._day.add_fill(fill, trip)
            self._batch.append((fill, trip))

    def _translate(self, raw: object) -> FillNote | None:
        return self._source.translate(raw) if self._source is not None else None

    def _read_snapshot(self) -> StrategySnapshot | None:
        if self._snapshot is None:
            return None
        try:
            return self._snapshot()
        except Exception:  # noqa: BLE001 - figures are best effort; fills still go out
            log.warning("notify.snapshot_failed", exc_info=True)
            return None

    def _observe(self, snap: StrategySnapshot) -> None:
        assert self._day is not None
        if snap.equity is not None:
            self._day.observe_equity(snap.equity)
        f = self._funding
        settled = (
            f.next_ns is not None
            and snap.next_funding_ns is not None
            and snap.next_funding_ns > f.next_ns
        )
        if settled and f.rate is not None:
            # A settlement happened at f.next_ns: longs pay rate * notional, shorts get it.
            self._day.funding -= f.rate * f.net_notional
        f.rate = snap.funding_rate
        f.next_ns = snap.next_funding_ns
        f.net_notional = snap.long.notional - snap.short.notional

    # -- messages -----------------------------------------------------------------------
    def _notify(self, key: str, title: str, text: str, fields: dict[str, str]) -> None:
        self._sink.notify(key, self._config.severity, title, text, fields)
        self.sent[key] = self.sent.get(key, 0) + 1

    def _send_each(self) -> None:
        batch, self._batch = self._batch, []
        fills = [f for f, _ in batch] if self._config.fills == "each" else []
        trips = [t for _, t in batch if t is not None] if self._config.round_trips else []
        if not fills and not trips:
            return
        if len(fills) == 1 and len(trips) <= 1:
            fill = fills[0]
            title = f"fill: {fill_line(fill)}"
            fields = {
                "instrument": fill.instrument,
                "order": fill.client_order_id,
                "trade": fill.trade_id,
            }
            if trips:
                fields["round_trip_pnl"] = money(trips[0].pnl)
            self._notify(Keys.FILL, title, "\n".join(trip_line(t) for t in trips), fields)
            return
        if not fills:
            pnl = sum((t.pnl for t in trips), Decimal(0))
            title = f"{len(trips)} round trip(s), pnl {money(pnl)}"
            self._notify(Keys.ROUND_TRIP, title, "\n".join(trip_line(t) for t in trips), {})
            return
        lines = [fill_line(f) for f in fills] + [trip_line(t) for t in trips]
        self._notify(Keys.FILL, f"{len(fills)} fills", "\n".join(lines), self._counts(batch))

    def _send_digest(self, now: float) -> None:
        batch, self._batch = self._batch, []
        self._next_digest_s = now + self._config.digest_interval_min * 60
        if not batch:
            return
        limit = self._config.digest_max_lines
        lines = [fill_line(f) for f, _ in batch[:limit]]
        if len(batch) > limit:
            lines.append(f"… and {len(batch) - limit} more fills")
        if self._config.round_trips:
            trips = [t for _, t in batch if t is not None]
            lines.extend(trip_line(t) for t in trips[:limit])
        minutes = plain(Decimal(str(self._config.digest_interval_min)))
        title = f"digest: {len(batch)} fills in the last {minutes} min"
        self._notify(Keys.DIGEST, title, "\n".join(lines), self._counts(batch))

    def _counts(self, batch: list[tuple[FillNote, TripNote | None]]) -> dict[str, str]:
        trips = [t for _, t in batch if t is not None]
        fields = {
            "fills": str(len(batch)),
            "fees": plain(sum((f.commission for f, _ in batch), Decimal(0))),
        }
        if self._config.round_trips:
            fields["round_trips"] = str(len(trips))
            fields["round_trip_pnl"] = money(sum((t.pnl for t in trips), Decimal(0)))
        return fields

    def _send_daily(self, now: float, snap: StrategySnapshot | None) -> None:
        day = self._day
        assert day is not None
        due = self._next_daily_s
        fields = {
            "period": f"{utc_text(day.start_s)} .. {utc_text(due)}",
            "fills": str(day.fills),
            "round_trips": str(day.trips),
            "round_trip_pnl": money(day.trip_pnl),
            "fees": money(-day.fees),
            "funding_est": money(day.funding),
            "max_drawdown_pct": f"{day.max_drawdown_pct.quantize(Decimal('0.01'))}",
        }
        if snap is not None:
            if day.realized_start is not None:
                fields["realized_pnl"] = money(snap.realized_pnl - day.realized_start)
            fields["unrealized_pnl"] = money(snap.unrealized_pnl)
            if snap.equity is not None:
                fields["equity"] = money(snap.equity)
        title = f"daily summary {utc_text(due)[:10]}"
        self._notify(Keys.DAILY, title, "", fields)
        log.info("notify.daily_sent", period_start=utc_text(day.start_s), fills=day.fills)
        self._day = DayStats(start_s=now)
        if snap is not None:
            self._day.realized_start = snap.realized_pnl
            self._observe(snap)
        self._next_daily_s = next_daily_s(now, self._config.daily_minute)
