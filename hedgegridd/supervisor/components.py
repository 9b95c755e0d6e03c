"""The ops and control components of the root task group, built from settings.

Slots: alerts (started before the node, so startup failures can be alerted), then,
once the node is ready, the kill switch, metrics and the control server. A component
that fails to start fails the daemon (a live daemon never runs unprotected).
``SupervisorBackend`` is the ``ControlBackend`` the control server calls: the
strategy handle, the kill switch, reload and the state journal, with operator
pause/throttle persisted so a restart resumes them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import anyio
import structlog

from hedgegridd import __version__
from hedgegridd.control.backend import HandleBackend
from hedgegridd.control.protocol import ErrorCode
from hedgegridd.control.results import (
    FlattenResult,
    KillSwitchResult,
    ReloadResult,
    StateResult,
    ThrottleResult,
    flatten_result,
    killswitch_result,
    state_result,
)
from hedgegridd.control.server import ControlServer
from hedgegridd.errors import ConfigError, ControlError
from hedgegridd.ops.alert_channels import AlertSecrets
from hedgegridd.ops.alerts import AlertManager
from hedgegridd.ops.killswitch import KillSwitch
from hedgegridd.ops.metrics import MetricsServer
from hedgegridd.ops.notify import Notifier
from hedgegridd.ops.watch import SnapshotAlerts
from hedgegridd.strategy.handle import FlattenSide, StrategyHandle
from hedgegridd.supervisor.health import Health
from hedgegridd.supervisor.secrets import Secrets
from hedgegridd.supervisor.settings import Settings
from hedgegridd.supervisor.state import AsyncStateStore
from hedgegridd.telegram.config import require_token
from hedgegridd.telegram.poller import TelegramBot

log = structlog.get_logger(__name__)

ReloadFn = Callable[[str], Awaitable[tuple[tuple[str, ...], tuple[str, ...]]]]


class SupervisorBackend(HandleBackend):
    """HandleBackend that persists operator pause and throttle in the state store and
    sends ``flatten`` through the kill switch's close-and-verify path (pause, cancel,
    close, verify flat, alert at each step) when the kill switch is enabled.
    """

    def __init__(
        self, *, store: AsyncStateStore, killswitch: KillSwitch | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._store = store
        self._killswitch = killswitch

    async def flatten(self, side: FlattenSide, *, actor: str) -> FlattenResult:
        if self._killswitch is None:
            return await super().flatten(side, actor=actor)
        # Shielded: a client that gives up (ctl --timeout) must not cut verification short.
        with anyio.CancelScope(shield=True):
            outcome = await self._killswitch.flatten(side, actor=actor)
        return flatten_result(outcome.sent, verified=outcome.verified, attempts=outcome.attempts)

    async def pause(self, reason: str, *, actor: str, keep_orders: bool = False) -> StateResult:
        result = await super().pause(reason, actor=actor, keep_orders=keep_orders)
        await self._store.set_flag("paused", True)
        return result

    async def resume(self, reason: str, *, actor: str) -> StateResult:
        """``operator`` (the default) and ``*`` also lift a finished flatten's pauses.

        A flatten still sending or verifying keeps its pauses; the reply names every
        reason that remains.
        """
        result = await super().resume(reason, actor=actor)
        await self._store.set_flag("paused", False)
        if reason not in ("operator", "*"):
            return result
        if self._killswitch is not None:
            await self._killswitch.clear_flatten_pause(by=actor)
        else:  # flatten went straight to the strategy: only its own pause to lift
            self._strategy().resume("flatten")
        return state_result(self._strategy().snapshot())

    async def reload(self, *, actor: str) -> ReloadResult:
        """A file that is invalid, or that start would refuse, answers ``config_invalid``."""
        try:
            return await super().reload(actor=actor)
        except ConfigError as exc:  # names the key; nothing was applied
            raise ControlError(ErrorCode.CONFIG_INVALID, f"reload refused: {exc}") from exc

    async def throttle(self, value: Decimal, *, actor: str) -> ThrottleResult:
        result = await super().throttle(value, actor=actor)
        await self._store.set_decimal("throttle", result.throttle)
        return result


@dataclass
class OpsComponents:
    """The optional tasks of the root task group (None = disabled in settings)."""

    alerts: AlertManager | None
    killswitch: KillSwitch | None
    metrics: MetricsServer | None
    control: ControlServer | None
    telegram: TelegramBot | None = None
    notify: Notifier | None = None

    def post_node(self) -> Iterator[tuple[str, Any]]:
        """Components started once the node is ready, in order."""
        for name in ("killswitch", "metrics", "control", "telegram", "notify"):
            component = getattr(self, name)
            if component is not None:
                yield name, component

    def reconfigurable(self) -> Mapping[str, object]:
        """Components SIGHUP may reconfigure, by settings section."""
        return {"alerts": self.alerts, "killswitch": self.killswitch}


def build_ops(
    settings: Settings,
    secrets: Secrets,
    *,
    handle: StrategyHandle,
    store: AsyncStateStore,
    health: Health,
    reload: ReloadFn,
    environ: Mapping[str, str],
) -> OpsComponents:
    """Build every enabled component with its heartbeat registered in ``health``."""
    alerts = None
    if settings.alerts.enabled:
        alerts = AlertManager(
            settings.alerts,
            AlertSecrets(
                slack_webhook_url=secrets.slack_webhook_url,
                telegram_bot_token=secrets.telegram_bot_token,
            ),
            # One delivery may retry for its whole budget without beating.
            heartbeat=health.heartbeat_for(
                "alerts",
                max_age_s=settings.alerts.retry_budget_s + settings.alerts.request_timeout_s + 10,
            ),
        )
    killswitch = None
    if settings.killswitch.enabled:
        killswitch = KillSwitch(
            settings.killswitch,
            strategy=handle,
            store=store,
            alerts=alerts,
            heartbeat=health.heartbeat_for(
                "killswitch",
                max_age_s=settings.watchdog.max_heartbeat_age_s
                + settings.killswitch.check_interval_s,
            ),
            # The strategy reports degraded/breaker itself (alert sink); this adds large loss.
            on_check=(
                SnapshotAlerts(
                    alerts, large_loss=settings.alerts.large_loss, transitions=False
                ).observe
                if alerts is not None
                else None
            ),
        )
    add_observer = getattr(getattr(handle, "mark", None), "add_observer", None)
    if killswitch is not None and callable(add_observer):
        # Every streamed mark wakes the kill switch: a check runs at once, not at the
        # end of its interval (the strategy and the kill switch share the one loop).
        ks = killswitch
        add_observer(lambda _price, _ns: ks.wake())
    metrics = None
    if settings.metrics.enabled:
        metrics = MetricsServer(
            settings.metrics,
            strategy=lambda: handle,
            killswitch=killswitch,
            alerts=alerts,
            mode=settings.mode.value,
            heartbeat=health.heartbeat_for("metrics"),
        )

    async def ks_status() -> KillSwitchResult:
        if killswitch is None:
            return killswitch_result(latched=False)
        st = killswitch.status()
        return killswitch_result(
            latched=st.latched, reason=st.reason, fired_at_ns=st.fired_at_ns, details=st.details
        )

    async def ks_reset(actor: str) -> KillSwitchResult:
        if killswitch is not None:
            await killswitch.reset(by=actor)
        return await ks_status()

    async def do_reload(actor: str) -> ReloadResult:
        applied, restart = await reload(actor)
        return ReloadResult(applied=applied, restart_required=restart)

    backend = SupervisorBackend(
        store=store,
        killswitch=killswitch,
        handle=lambda: handle,
        killswitch_status=ks_status,
        killswitch_reset=ks_reset,
        reload=do_reload,
        mode=settings.mode.value,
        daemon_version=__version__,
    )
    telegram = _build_telegram(settings, secrets, backend, store, metrics)
    control = ControlServer(
        settings.control,
        backend,
        store.journal,
        heartbeat=health.heartbeat_for("control"),
        environ=dict(environ),
    )
    return OpsComponents(
        alerts=alerts,
        killswitch=killswitch,
        metrics=metrics,
        control=control,
        telegram=telegram,
        notify=_build_notifier(settings, alerts, handle, health),
    )


def _build_telegram(
    settings: Settings,
    secrets: Secrets,
    backend: SupervisorBackend,
    store: AsyncStateStore,
    metrics: MetricsServer | None,
) -> TelegramBot | None:
    """The Telegram control bot (``[telegram]``) on the control backend, or None."""
    if not settings.telegram.enabled:
        return None
    require_token(settings.telegram, secrets.telegram_bot_token)
    assert secrets.telegram_bot_token is not None
    bot = TelegramBot(settings.telegram, secrets.telegram_bot_token, backend, store.journal)
    if metrics is not None:
        metrics.registry.register(bot.collector())
    return bot


def _build_notifier(
    settings: Settings, alerts: AlertManager | None, handle: StrategyHandle, health: Health
) -> Notifier | None:
    """Fill/round-trip/daily notifications on the alert channels (``[notify]``)."""
    if not settings.notify.enabled:
        return None
    if alerts is None:
        log.warning("notify.disabled_without_alerts")
        return None
    from hedgegridd.ops.notify_feed import MessageBusFills  # loads Nautilus (already loaded)

    severity = settings.notify.severity
    configured = {"slack": settings.alerts.slack, "telegram": settings.alerts.telegram}
    routes = [
        name
        for name, route in configured.items()
        if route is not None and route.enabled and route.min_severity <= severity
    ]
    if not routes or settings.alerts.min_severity > severity:
        log.warning(
            "notify.no_route",
            severity=severity.name,
            hint="set min_severity of an alert route (and [alerts] min_severity) to at most "
            "[notify] severity",
        )
    log.info(
        "notify.configured", routes=routes, severity=severity.name, fills=settings.notify.fills
    )
    return Notifier(
        settings.notify,
        alerts,
        snapshot=handle.snapshot,
        source=MessageBusFills.of(handle),
        heartbeat=health.heartbeat_for("notify"),
    )
