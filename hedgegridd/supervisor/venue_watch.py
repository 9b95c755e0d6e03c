"""The venue watch: a root-group task that keeps the daemon honest about the venue.

It owns (Nautilus owns the rest, see ``hedgegridd.venues.nodes``):

- **Reconciliation** every ``[reconcile] interval_s`` and at once after a stream event
  (user stream re-created, a stream back after being stuck, the venue back after an
  outage, hedge mode restored): read ``positionRisk`` + our open orders, compare with
  the strategy's book (``hedgegridd.strategy.reconciler``), re-read after
  ``confirm_delay_s`` so an event still in flight is not taken for a loss, then repair:
  every order of ours the venue no longer lists open is looked up (final status and
  fills, ``VenueReader.order_fate``) and what the lost events would have said is applied
  through the exec client (``NodeVenue.apply_fate``); what that cannot explain (a leg
  still different, an order open only at the venue) gets a Nautilus mass status; then
  adopt/re-plan, re-read and conclude. A missed fill (entry, take-profit, triggered
  stop, close) is so repaired within one interval; a difference surviving
  ``alert_after_repairs`` rounds is a critical ``venue_mismatch`` alert, pauses entries
  and caps the exits of a leg the venue holds smaller, until it clears.
- **Hedge mode**: ``positionSide/dual`` every ``hedge_check_interval_s`` and at once on a
  -4061 rejection or a one-way ``positionRisk`` row. Lost: critical alert, entries
  paused (``hedge_mode_lost``), health degraded; back: pause lifted, alert, repair.
- **Streams** (``venue_streams.StreamWatch``): a user stream not live for
  ``stream_grace_s`` while the venue answers is re-created (new listenKey); a market
  connection stuck reconnecting is reconnected.
  When the venue comes back after an outage both are forced at once, so trading
  resumes within seconds of the exchange's return, without a process restart.

The repair step is ``venue_repair.VenueRepair``; alert keys, conditions and counters
live in ``venue_status``. Health conditions raised here are reported, not used to stop
watchdog pings (see ``hedgegridd.supervisor.health``). Every call into the strategy
happens on the loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import structlog
from anyio.abc import TaskStatus

from hedgegridd.ops.alert_model import AlertSink
from hedgegridd.ops.config import Severity
from hedgegridd.strategy.handle import StrategyHandle
from hedgegridd.strategy.reconciler import Finding, Reconciler, VenueView, Verdict
from hedgegridd.supervisor.health import Health
from hedgegridd.supervisor.node_venue import NodeVenue
from hedgegridd.supervisor.venue_reader import VenueRead, VenueReader, VenueReadError
from hedgegridd.supervisor.venue_repair import VenueRepair
from hedgegridd.supervisor.venue_status import Condition, VenueAlert, WatchStats
from hedgegridd.supervisor.venue_streams import StreamWatch
from hedgegridd.venues.config import ReconcileSettings

log = structlog.get_logger(__name__)

HEDGE_MODE_LOST = "hedge_mode_lost"  # pause reason and health condition
REJECT_HEDGE_MODE = "-4061"  # Binance: order's position side does not match the setting
DOWN_RETRY_S = 1.0  # check cadence while the venue does not answer
MIN_GAP_S = 1.0  # requested rounds (stream events, rejections) at most this often


class VenueWatch:
    """Reconciliation cadence, hedge-mode watch and stream recovery (one task)."""

    def __init__(
        self,
        settings: ReconcileSettings,
        *,
        reader: VenueReader,
        handle: StrategyHandle,
        reconciler: Reconciler | None = None,
        node: NodeVenue | None = None,
        alerts: AlertSink | None = None,
        health: Health | None = None,
        heartbeat: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        tick_s: float = 0.5,
    ) -> None:
        self._cfg = settings
        self._reader = reader
        self._handle = handle
        self._reconciler = reconciler
        if reconciler is not None:
            reconciler.alert_after = settings.alert_after_repairs
        self._node = node
        self._alerts = alerts
        self._health = health
        self._beat = heartbeat or (lambda: None)
        self._repair = (
            VenueRepair(reader=reader, node=node, reconciler=reconciler, heartbeat=self._beat)
            if node is not None and reconciler is not None
            else None
        )
        self._clock = clock
        self._tick_s = tick_s
        self.stats = WatchStats()
        self._streams = (
            StreamWatch(
                node,
                grace_s=settings.stream_grace_s,
                stats=self.stats,
                request_check=self.request_check,
                condition=self._condition,
                heartbeat=self._beat,
            )
            if node is not None
            else None
        )
        self._wake = anyio.Event()
        self._requests: list[str] = []
        self._repair_requested = False
        self._hedge_due = False
        self._next_check = 0.0
        self._next_hedge = 0.0
        self._down_since: float | None = None
        self._down_alerted = False
        self._rejects_seen: int | None = None
        self._failures = 0
        self._last_round_end = -MIN_GAP_S

    # -- requests --------------------------------------------------------------------
    def request_check(self, reason: str, *, repair: bool = False) -> None:
        """Run a round now (``repair``: ask for a mass status even if nothing differs)."""
        self._requests.append(reason)
        self._repair_requested = self._repair_requested or repair
        self._wake.set()

    # -- the task ----------------------------------------------------------------------
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Watch until cancelled."""
        now = self._clock()
        self._next_check = now  # a first reading at once (reachability, hedge mode, legs)
        self._next_hedge = now + self._cfg.hedge_check_interval_s
        log.info(
            "venue.watch_started",
            interval_s=self._cfg.interval_s,
            hedge_check_interval_s=self._cfg.hedge_check_interval_s,
            reconciles=self._reconciler is not None,
            streams=self._node is not None,
        )
        task_status.started()
        try:
            while True:
                self._beat()
                try:
                    await self._step()
                except Exception as exc:
                    self._failures += 1
                    if self._failures == 1 or self._failures % 100 == 0:
                        log.error("venue.watch_error", failures=self._failures, exc_info=exc)
                    self._next_check = self._clock() + self._cfg.interval_s
                with anyio.move_on_after(self._tick_s):
                    await self._wake.wait()
                self._wake = anyio.Event()
        finally:
            with anyio.CancelScope(shield=True):
                await self._reader.aclose()

    async def _step(self) -> None:
        self._watch_rejections()
        if self._streams is not None:
            self._streams.observe(self._clock())
        now = self._clock()
        requested = bool(self._requests) and now - self._last_round_end >= MIN_GAP_S
        if requested or now >= self._next_check:
            reasons = tuple(dict.fromkeys(self._requests)) or ("cadence",)
            repair, self._requests, self._repair_requested = self._repair_requested, [], False
            ok = await self._round(reasons, repair=repair)
            self._last_round_end = self._clock()
            delay = self._cfg.interval_s if ok else min(self._cfg.interval_s, DOWN_RETRY_S)
            self._next_check = self._clock() + delay

    # -- triggers ----------------------------------------------------------------------
    def _watch_rejections(self) -> None:
        count = self._handle.snapshot().rejects_by_reason.get(REJECT_HEDGE_MODE, 0)
        known_lost = self.stats.hedge_mode is False  # then the cadence re-checks, no flood
        if self._rejects_seen is not None and count > self._rejects_seen and not known_lost:
            self._hedge_due = True
            self.request_check("rejected_-4061")
        self._rejects_seen = count

    # -- one round ---------------------------------------------------------------------
    async def _read(self) -> VenueRead | None:
        self._beat()
        try:
            read = await self._reader.read()
        except VenueReadError as exc:
            self._unreachable(str(exc))
            return None
        self._reachable()
        if self._streams is not None:
            await self._streams.fix()
        return read

    async def _round(self, reasons: tuple[str, ...], *, repair: bool) -> bool:
        """One check (and repair when needed); False when the venue did not answer."""
        self.stats.rounds += 1
        self.stats.last_round_at = time.time()
        read = await self._read()
        if read is None:
            return False
        if self._repair_requested:  # the venue came back during this read
            repair, self._repair_requested = True, False
        now = self._clock()
        if read.one_way_rows or self._hedge_due or now >= self._next_hedge:
            try:
                dual = await self._reader.dual_side()
            except VenueReadError as exc:
                self._unreachable(str(exc))
                return False
            self._hedge_due = False
            self._next_hedge = now + self._cfg.hedge_check_interval_s
            repair = self._set_hedge(dual) or repair
        if self.stats.hedge_mode is False or self._reconciler is None:
            return True
        return await self._reconcile(read, reasons, repair=repair)

    async def _reconcile(self, read: VenueRead, reasons: tuple[str, ...], *, repair: bool) -> bool:
        rec = self._reconciler
        assert rec is not None
        view = _view(read)
        before = rec.check(view)
        if before and not repair:  # re-read: an event in flight is not a loss
            await anyio.sleep(self._cfg.confirm_delay_s)
            again = await self._read()
            if again is None:
                return False
            view = _view(again)
            before = rec.check(view)
        if not before and not repair:
            self._verdict(rec.conclude((), ()), ())
            return True
        if before:
            self.stats.mismatches += 1
            log.warning("reconcile.mismatch", reasons=list(reasons), findings=_fields(before))
        if self._repair is not None:
            done = await self._repair.run(view, reasons, forced=repair)
            self.stats.lookups += done.lookups
            self.stats.fills_recovered += done.fills
            self.stats.mass_status += int(done.mass_status)
        rec.adopt_untracked()
        rec.replan()
        await anyio.sleep(self._cfg.confirm_delay_s)
        after_read = await self._read()
        if after_read is None:
            return False
        after = rec.check(_view(after_read))
        verdict = rec.conclude(before, after)
        self._verdict(verdict, after)
        if verdict is Verdict.REPAIRED:
            self.stats.repairs += 1
            log.info("reconcile.repaired", findings=_fields(before))
        elif before and after:
            log.warning("reconcile.unrepaired", findings=_fields(after), verdict=verdict.value)
        return True

    def _verdict(self, verdict: Verdict, after: tuple[Finding, ...]) -> None:
        if verdict is Verdict.ESCALATED:
            self.stats.escalations += 1
            self._condition(Condition.VENUE_MISMATCH, True, "book differs from the venue")
            first = after[0].as_fields() if after else {}
            self._alert(
                VenueAlert.VENUE_MISMATCH,
                Severity.CRITICAL,
                "book differs from the venue after repairs: entries paused",
                {"findings": str(len(after)), **first},
            )
        elif verdict is Verdict.RESOLVED:
            self._condition(Condition.VENUE_MISMATCH, False)
            self._alert(
                VenueAlert.VENUE_MISMATCH_RESOLVED,
                Severity.INFO,
                "book agrees with the venue again: entries resumed",
            )

    # -- state transitions ------------------------------------------------------------
    def _set_hedge(self, dual: bool) -> bool:
        """Apply a hedge-mode reading; True when it just came back (repair wanted)."""
        before = self.stats.hedge_mode
        self.stats.hedge_mode = dual
        if not dual and before is not False:
            self._handle.pause(HEDGE_MODE_LOST)
            self._condition(Condition.HEDGE_MODE_LOST, True, "positionSide/dual is false")
            log.error("venue.hedge_mode_lost")
            self._alert(
                VenueAlert.HEDGE_MODE_LOST,
                Severity.CRITICAL,
                "hedge mode switched off on the account: entries paused",
                {"dualSidePosition": "false"},
            )
            return False
        if not dual:  # still lost: an operator "resume *" must not re-open entries
            if HEDGE_MODE_LOST not in self._handle.snapshot().pause_reasons:
                self._handle.pause(HEDGE_MODE_LOST)
                log.warning("venue.hedge_mode_pause_reasserted")
            return False
        if before is False:
            self._handle.resume(HEDGE_MODE_LOST)
            self._condition(Condition.HEDGE_MODE_LOST, False)
            log.info("venue.hedge_mode_restored")
            self._alert(
                VenueAlert.HEDGE_MODE_RESTORED,
                Severity.INFO,
                "hedge mode is back on the account: entries resumed",
            )
            return True
        return False

    def _unreachable(self, error: str) -> None:
        now = self._clock()
        self.stats.read_failures += 1
        self.stats.reachable = False
        if self._down_since is None:
            self._down_since = now
            log.warning("venue.unreachable", error=error)
        if not self._down_alerted and now - self._down_since >= self._cfg.venue_down_alert_s:
            self._down_alerted = True
            self._condition(Condition.VENUE_UNREACHABLE, True, error)
            self._alert(
                VenueAlert.VENUE_UNREACHABLE,
                Severity.WARNING,
                "the venue's REST API does not answer",
                {"down_s": f"{now - self._down_since:.0f}"},
            )

    def _reachable(self) -> None:
        was_down = self.stats.reachable is False
        self.stats.reachable = True
        if not was_down:
            return
        down_s = self._clock() - (self._down_since or self._clock())
        log.info("venue.reachable_again", down_s=round(down_s, 2))
        self._down_since = None
        if self._down_alerted:
            self._down_alerted = False
            self._condition(Condition.VENUE_UNREACHABLE, False)
            self._alert(VenueAlert.VENUE_RESTORED, Severity.INFO, "the venue answers again", {})
        self._repair_requested = True
        if self._streams is not None:  # the venue is back: the streams now, no grace
            self._streams.force_fix()

    # -- outputs ------------------------------------------------------------------------
    def _condition(self, name: Condition, active: bool, detail: str = "") -> None:
        if self._health is not None and self._health.set_condition(name.value, active, detail):
            log.info("health.condition", condition=name.value, active=active, detail=detail)

    def _alert(
        self,
        key: VenueAlert,
        severity: Severity,
        title: str,
        fields: dict[str, str] | None = None,
    ) -> None:
        if self._alerts is not None:
            self._alerts.notify(key.value, severity, title, fields=fields or {})


def _view(read: VenueRead) -> VenueView:
    return VenueView(dual_side=True, legs=read.legs, orders=read.orders)


def _fields(findings: tuple[Finding, ...]) -> list[dict[str, str]]:
    return [f.as_fields() for f in findings[:10]]
