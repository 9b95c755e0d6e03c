"""Prometheus families of the venue watch and the health conditions.

Registered on the metrics server's registry by the supervisor (``registry.register``);
read on scrape, on the event loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hedgegridd.supervisor.health import Health
from hedgegridd.supervisor.venue_status import Condition
from hedgegridd.supervisor.venue_watch import VenueWatch

P = "hedgegridd_"


def _flag(value: bool | None) -> float:
    return math.nan if value is None else float(value)


class VenueCollector(Collector):
    """``hedgegridd_venue_*``, ``hedgegridd_reconcile_*`` and ``hedgegridd_health_*``."""

    def __init__(self, watch: Callable[[], VenueWatch | None], health: Health) -> None:
        self._watch = watch
        self._health = health

    def collect(self) -> Iterable[Metric]:
        conditions = self._health.conditions()
        yield GaugeMetricFamily(
            P + "health_degraded",
            "1 while a degraded condition is active (watchdog pings continue).",
            value=float(bool(conditions)),
        )
        cond = GaugeMetricFamily(
            P + "health_condition",
            "Degraded conditions: 1 active, 0 clear.",
            labels=["condition"],
        )
        for condition in Condition:
            cond.add_metric([condition.value], float(condition.value in conditions))
        yield cond
        watch = self._watch()
        if watch is None:
            return
        s = watch.stats
        for name, doc, value in (
            (
                "venue_reachable",
                "1 when the venue's REST API answered the last check.",
                s.reachable,
            ),
            ("venue_hedge_mode", "1 when the account is in hedge mode (dual side).", s.hedge_mode),
            ("venue_user_stream_up", "1 while the user data stream is live.", s.user_stream_ok),
            (
                "venue_market_streams_up",
                "1 while every market stream is live.",
                s.market_streams_ok,
            ),
        ):
            yield GaugeMetricFamily(P + name, doc + " NaN when unknown.", value=_flag(value))
        counters = (
            ("reconcile_rounds", "Venue checks run.", s.rounds),
            ("reconcile_read_failures", "Venue checks the venue did not answer.", s.read_failures),
            ("reconcile_mismatches", "Checks that found the book differing.", s.mismatches),
            ("reconcile_repairs", "Differences repaired within the round.", s.repairs),
            ("reconcile_mass_status", "Mass status reconciliations requested.", s.mass_status),
            ("reconcile_escalations", "Differences that outlived the repairs.", s.escalations),
            ("reconcile_lookups", "Orders of ours looked up at the venue one by one.", s.lookups),
            (
                "reconcile_fills_recovered",
                "Lost fills replayed from the venue's answers to those lookups.",
                s.fills_recovered,
            ),
            (
                "venue_user_stream_restarts",
                "User streams re-created by the watch.",
                s.user_stream_restarts,
            ),
            (
                "venue_market_reconnects",
                "Market connections forced to reconnect.",
                s.market_reconnects,
            ),
        )
        for name, doc, count in counters:
            yield CounterMetricFamily(P + name, doc, value=count)
        if s.last_round_at is not None:
            yield GaugeMetricFamily(
                P + "reconcile_last_round_timestamp_seconds",
                "Wall-clock time of the last venue check.",
                value=s.last_round_at,
            )
