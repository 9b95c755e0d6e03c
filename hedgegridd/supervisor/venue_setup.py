"""Building the venue watch for the root task group (sim / testnet / live only)."""

from __future__ import annotations

from typing import Any

import structlog

from hedgegridd.ops.alert_model import AlertSink
from hedgegridd.strategy.handle import StrategyHandle
from hedgegridd.strategy.reconciler import Reconciler
from hedgegridd.supervisor.health import Health
from hedgegridd.supervisor.node_venue import NodeVenue
from hedgegridd.supervisor.secrets import Secrets
from hedgegridd.supervisor.settings import Settings
from hedgegridd.supervisor.venue_metrics import VenueCollector
from hedgegridd.supervisor.venue_reader import RestVenueReader
from hedgegridd.supervisor.venue_watch import VenueWatch
from hedgegridd.venues.config import Mode

log = structlog.get_logger(__name__)

# A round may wait on retries, the confirm delay and a mass status: beat often, allow long.
HEARTBEAT_SLACK_S = 90.0


def build_venue_watch(
    settings: Settings,
    secrets: Secrets,
    *,
    handle: StrategyHandle,
    strategy: object,
    node: Any,
    alerts: AlertSink | None,
    health: Health,
) -> VenueWatch | None:
    """The venue watch for this mode, or None (paper, disabled, or no keys)."""
    cfg = settings.reconcile
    if settings.mode is Mode.PAPER or not cfg.enabled or secrets.binance is None:
        log.info("venue.watch_disabled", mode=settings.mode.value, enabled=cfg.enabled)
        return None
    reader = RestVenueReader(
        base_url=settings.venue.http_url(settings.mode),
        symbol=settings.venue.symbol,
        keys=secrets.binance,
        recv_window_ms=settings.venue.recv_window_ms,
        timeout_s=cfg.request_timeout_s,
    )
    reconciler = getattr(strategy, "reconciler", None)
    return VenueWatch(
        cfg,
        reader=reader,
        handle=handle,
        reconciler=reconciler if isinstance(reconciler, Reconciler) else None,
        node=NodeVenue(lambda: node.node, timeout_s=max(10.0, cfg.request_timeout_s * 4)),
        alerts=alerts,
        health=health,
        heartbeat=health.heartbeat_for(
            "venue_watch", max_age_s=settings.watchdog.max_heartbeat_age_s + HEARTBEAT_SLACK_S
        ),
    )


def register_venue_metrics(registry: Any, watch: VenueWatch | None, health: Health) -> None:
    """Add the venue/reconcile/health families to the metrics registry."""
    registry.register(VenueCollector(lambda: watch, health))
