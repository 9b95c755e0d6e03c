"""The Prometheus collector: reads the strategy, kill switch and alerts on each scrape.

Every value is read at scrape time on the event loop (the HTTP handler runs on
it), so there is no copy of trading state to go stale and no cross-thread read.
Names follow Prometheus conventions: ``hedgegridd_`` prefix, base units
(seconds), ``_total`` counters, ratios as 0..1 (never percent: a configured
``max_drawdown_pct = 10`` is exported as 0.1); money is in the instrument's quote
currency (USDT for BTCUSDT-PERP), stated in each HELP.
"""

from __future__ import annotations

import platform
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hedgegridd import __version__
from hedgegridd.ops.killswitch import KillSwitchStatus
from hedgegridd.ops.killswitch_rules import Limit
from hedgegridd.strategy.handle import StrategyHandle, StrategySnapshot, TradingState

log = structlog.get_logger(__name__)

P = "hedgegridd_"
REGIMES = ("UP", "DOWN", "SIDEWAYS", "WARMUP")
ORDER_KINDS = ("entry", "tp", "sl", "flatten")
SIDES = ("LONG", "SHORT")


class AlertStats(Protocol):
    """What the collector needs from ``AlertManager`` (its public counters)."""

    @property
    def sent(self) -> Counter[str]: ...
    @property
    def failed(self) -> Counter[str]: ...
    @property
    def suppressed(self) -> Counter[str]: ...
    @property
    def dropped_overflow(self) -> int: ...
    @property
    def queued(self) -> int: ...


@dataclass
class DaemonStats:
    """Counters the supervisor bumps (watchdog) and the lag probe updates."""

    watchdog_pings: int = 0
    event_loop_lag_s: float = 0.0
    event_loop_lag_max_s: float = 0.0
    extra_info: dict[str, str] = field(default_factory=dict)


def _nautilus_version() -> str:
    try:
        from importlib.metadata import version

        return version("nautilus_trader")
    except Exception:  # noqa: BLE001 - metadata lookup is cosmetic; report "unknown"
        return "unknown"


def _f(value: object) -> float:
    return float(value)  # type: ignore[arg-type]


# Limits the kill switch keeps in percent; exported as ratios (base unit, 0..1).
_PERCENT_LIMITS = frozenset({Limit.DRAWDOWN})


def limit_value(limit: Limit, value: object) -> float:
    """A kill switch reading or threshold in base units: percent limits as 0..1 ratios."""
    number = _f(value)
    return number / 100 if limit in _PERCENT_LIMITS else number


class OpsCollector(Collector):
    """Custom collector producing every ``hedgegridd_*`` family on scrape."""

    def __init__(
        self,
        *,
        strategy: Callable[[], StrategyHandle | None],
        killswitch: Callable[[], KillSwitchStatus | None],
        alerts: Callable[[], AlertStats | None],
        stats: DaemonStats,
        mode: str,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._strategy = strategy
        self._killswitch = killswitch
        self._alerts = alerts
        self._stats = stats
        self._clock_ns = clock_ns
        self._build = {
            "version": __version__,
            "python_version": platform.python_version(),
            "nautilus_version": _nautilus_version(),
            "mode": mode,
        }
        self.collect_errors = 0

    def collect(self) -> Iterable[Metric]:
        build = GaugeMetricFamily(
            P + "build_info", "Build and runtime versions (always 1).", labels=list(self._build)
        )
        build.add_metric(list(self._build.values()), 1)
        yield build
        yield from self._daemon()
        yield from self._strategy_families()
        yield from self._killswitch_families()
        yield from self._alert_families()

    def _daemon(self) -> Iterable[Metric]:
        s = self._stats
        yield GaugeMetricFamily(
            P + "event_loop_lag_seconds",
            "Most recent event-loop scheduling lag measured by the probe.",
            value=s.event_loop_lag_s,
        )
        yield GaugeMetricFamily(
            P + "event_loop_lag_max_seconds",
            "Largest event-loop lag seen since start.",
            value=s.event_loop_lag_max_s,
        )
        yield CounterMetricFamily(
            P + "watchdog_pings", "systemd watchdog pings sent.", value=s.watchdog_pings
        )

    def _strategy_families(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(P + "strategy_up", "1 when the strategy snapshot could be read.")
        errors = CounterMetricFamily(
            P + "metrics_collect_errors", "Scrapes where reading the strategy failed."
        )
        handle = self._strategy()
        snap: StrategySnapshot | None = None
        orders: list[tuple[str, str]] = []
        if handle is not None:
            try:
                snap = handle.snapshot()
                orders = [(o.position_side, o.kind) for o in handle.open_orders()]
            except Exception as exc:  # reported as strategy_up 0 and counted
                self.collect_errors += 1
                snap = None
                log.error("metrics.strategy_read_failed", error=type(exc).__name__, exc_info=True)
        up.add_metric([], 1 if snap is not None else 0)
        errors.add_metric([], self.collect_errors)
        yield up
        yield errors
        if snap is not None:
            yield from _snapshot_families(snap, orders, self._clock_ns())

    def _killswitch_families(self) -> Iterable[Metric]:
        status = self._killswitch()
        if status is None:
            return
        yield GaugeMetricFamily(
            P + "killswitch_latched",
            "1 while the kill switch is latched (HALTED).",
            value=int(status.latched),
        )
        yield GaugeMetricFamily(
            P + "killswitch_flattening",
            "1 while a flatten is being closed and verified.",
            value=int(status.flattening),
        )
        yield GaugeMetricFamily(
            P + "killswitch_blind",
            "1 while the kill switch fails closed (readings cannot be taken; entries paused).",
            value=int(status.blind),
        )
        yield GaugeMetricFamily(
            P + "flatten_pending",
            "1 while a persisted flatten is not yet verified flat (finished after a restart).",
            value=int(status.flatten_pending),
        )
        yield CounterMetricFamily(
            P + "killswitch_fired", "Times the kill switch fired.", value=status.fired_total
        )
        yield CounterMetricFamily(
            P + "killswitch_checks", "Kill switch checks performed.", value=status.checks_total
        )
        breaches = GaugeMetricFamily(
            P + "killswitch_window_breaches",
            "Breaching checks of each limit within the current window.",
            labels=["limit"],
        )
        unknown = GaugeMetricFamily(
            P + "killswitch_reading_unknown",
            "1 when the limit's last reading was missing or stale (not treated as zero).",
            labels=["limit", "status"],
        )
        units = (
            "drawdown and margin_ratio as ratios 0..1; funding_cost, session_loss, daily_loss "
            "and position_notional in quote currency"
        )
        reading = GaugeMetricFamily(
            P + "killswitch_reading", f"Last reading of each limit ({units}).", labels=["limit"]
        )
        threshold = GaugeMetricFamily(
            P + "killswitch_threshold",
            f"Configured threshold of each limit ({units}).",
            labels=["limit"],
        )
        if status.last_check is not None:
            for v in status.last_check.verdicts:
                breaches.add_metric([v.limit.value], v.breaches_in_window)
                threshold.add_metric([v.limit.value], limit_value(v.limit, v.threshold))
                if v.value is not None:
                    reading.add_metric([v.limit.value], limit_value(v.limit, v.value))
            for v in status.last_check.unknown:
                unknown.add_metric([v.limit.value, v.status.value], 1)
        yield breaches
        yield unknown
        yield reading
        yield threshold

    def _alert_families(self) -> Iterable[Metric]:
        alerts = self._alerts()
        if alerts is None:
            return
        yield _labelled_counter(
            "alerts_sent", "Alerts delivered per channel.", "channel", alerts.sent
        )
        yield _labelled_counter(
            "alerts_failed", "Alerts that exhausted their retries.", "channel", alerts.failed
        )
        yield _labelled_counter(
            "alerts_suppressed",
            "Alerts suppressed by dedup, rate limit or severity.",
            "reason",
            alerts.suppressed,
        )
        yield CounterMetricFamily(
            P + "alerts_dropped",
            "Alerts dropped because the queue was full.",
            value=alerts.dropped_overflow,
        )
        yield GaugeMetricFamily(P + "alerts_queued", "Alerts waiting.", value=alerts.queued)


def _labelled_counter(name: str, doc: str, label: str, values: Mapping[str, int]) -> Metric:
    family = CounterMetricFamily(P + name, doc, labels=[label])
    for key, count in sorted(values.items()):
        family.add_metric([key], count)
    return family


def _gauge(name: str, doc: str, value: object | None) -> Iterable[Metric]:
    if value is not None:
        yield GaugeMetricFamily(P + name, doc, value=_f(value))


def _snapshot_families(
    snap: StrategySnapshot, orders: list[tuple[str, str]], now_ns: int
) -> Iterable[Metric]:
    inst = snap.instrument_id
    qty = GaugeMetricFamily(
        P + "position_quantity",
        "Confirmed position size (base asset).",
        labels=["instrument", "side"],
    )
    notional = GaugeMetricFamily(
        P + "position_notional",
        "Position notional (quote currency).",
        labels=["instrument", "side"],
    )
    upnl = GaugeMetricFamily(
        P + "position_unrealized_pnl",
        "Unrealized PnL per side (quote currency).",
        labels=["instrument", "side"],
    )
    for book_side in (snap.long, snap.short):
        labels = [inst, book_side.side]
        qty.add_metric(labels, _f(book_side.quantity))
        notional.add_metric(labels, _f(book_side.notional))
        upnl.add_metric(labels, _f(book_side.unrealized_pnl))
    yield qty
    yield notional
    yield upnl
    counts = Counter(orders)
    open_orders = GaugeMetricFamily(
        P + "open_orders", "Open orders per position side and kind.", labels=["side", "kind"]
    )
    kinds = sorted(set(ORDER_KINDS) | {k for _, k in counts})
    for side in SIDES:
        for kind in kinds:
            open_orders.add_metric([side, kind], counts.get((side, kind), 0))
    yield open_orders
    yield from _gauge("realized_pnl", "Realized PnL (quote currency).", snap.realized_pnl)
    yield from _gauge("unrealized_pnl", "Unrealized PnL (quote currency).", snap.unrealized_pnl)
    yield from _gauge("equity", "Account equity incl. unrealized (quote currency).", snap.equity)
    yield from _gauge("peak_equity", "Persisted peak equity (quote currency).", snap.peak_equity)
    yield from _gauge(
        "margin_ratio", "Maintenance margin / margin balance (ratio 0..1).", snap.margin_ratio
    )
    yield from _gauge("funding_rate", "Current funding rate (ratio per period).", snap.funding_rate)
    if snap.next_funding_ns is not None:
        yield GaugeMetricFamily(
            P + "next_funding_timestamp_seconds",
            "Unix time of the next funding.",
            value=snap.next_funding_ns / 1e9,
        )
    if snap.last_bar_ns is not None:
        yield GaugeMetricFamily(
            P + "last_bar_age_seconds",
            "Seconds since the last bar was seen.",
            value=max(0.0, (now_ns - snap.last_bar_ns) / 1e9),
        )
    yield from _gauge(
        "mark_price",
        "Price positions are valued at (streamed mark; quote mid in paper).",
        snap.mark_price,
    )
    if snap.mark_ns is not None:
        yield GaugeMetricFamily(
            P + "mark_age_seconds",
            "Seconds since the valuation price was last updated.",
            value=max(0.0, (now_ns - snap.mark_ns) / 1e9),
        )
    yield GaugeMetricFamily(
        P + "throttle_ratio", "Operator throttle 0..1.", value=_f(snap.throttle)
    )
    paused = snap.state in (TradingState.PAUSED, TradingState.DEGRADED, TradingState.HALTED)
    yield GaugeMetricFamily(P + "paused", "1 when no new entries are placed.", value=int(paused))
    regime = GaugeMetricFamily(
        P + "regime", "Current market regime (1 = active).", labels=["regime"]
    )
    for name in sorted(set(REGIMES) | {snap.regime}):
        regime.add_metric([name], int(name == snap.regime))
    yield regime
    state = GaugeMetricFamily(P + "trading_state", "Strategy state (1 = active).", labels=["state"])
    for ts in TradingState:
        state.add_metric([ts.value], int(ts is snap.state))
    yield state
    reasons = GaugeMetricFamily(P + "pause_reason", "Active pause reasons.", labels=["reason"])
    for reason in snap.pause_reasons:
        reasons.add_metric([reason], 1)
    yield reasons
    yield CounterMetricFamily(P + "fills", "Order fills.", value=snap.fills)
    yield CounterMetricFamily(
        P + "circuit_breaker_trips", "Circuit breaker trips.", value=snap.circuit_breaker_trips
    )
    yield _labelled_counter(
        "order_rejects", "Order rejections by reason.", "reason", dict(snap.rejects_by_reason)
    )
    yield CounterMetricFamily(P + "bar_gaps", "Gaps in the live bar stream.", value=snap.bar_gaps)
    yield CounterMetricFamily(
        P + "bars",
        "Live bars the strategy processed (counted while paused or halted too).",
        value=snap.bars,
    )
