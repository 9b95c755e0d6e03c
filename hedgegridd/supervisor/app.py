"""The daemon's phases and its one root task group.

Phases: settings (validated by the CLI) -> state store -> async warmup -> build the
strategy and the node on the running loop -> take over signals -> start the node
(ready = reconciled + engines connected) -> ops/control tasks -> ``READY=1`` -> run
-> ``STOPPING=1`` -> bounded, shielded shutdown. Every long-running piece is a
named task started with ``tg.start`` so it reports ready; a failure of any task
stops the daemon with an exit code that says why. What crosses a restart (read,
applied, persisted) is ``hedgegridd.supervisor.restore``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import structlog

from hedgegridd import __version__
from hedgegridd.errors import ConfigError, HedgegridError
from hedgegridd.ops.alert_model import AlertKey
from hedgegridd.ops.config import Severity
from hedgegridd.strategy.handle import StrategyHandle
from hedgegridd.supervisor.components import OpsComponents, build_ops
from hedgegridd.supervisor.exit_codes import ExitCode, exit_code_for
from hedgegridd.supervisor.health import Health
from hedgegridd.supervisor.inputs import RestoredState, StrategyFactory, StrategyInputs
from hedgegridd.supervisor.restore import apply_restored, read_restored, wire_sinks
from hedgegridd.supervisor.runtime import Monitor, Reloader, status_line
from hedgegridd.supervisor.secrets import Secrets
from hedgegridd.supervisor.settings import Settings
from hedgegridd.supervisor.signals import SignalRouter
from hedgegridd.supervisor.state import AsyncStateStore
from hedgegridd.supervisor.state_retention import JournalRetention
from hedgegridd.supervisor.systemd import Notifier, watchdog_interval_s
from hedgegridd.supervisor.warmup import run_warmup
from hedgegridd.supervisor.watchdog import Watchdog
from hedgegridd.venues.config import Mode

log = structlog.get_logger(__name__)

STATE_DB_NAME = "hedgegridd.db"


def _first_error(exc: BaseException) -> BaseException:
    """The most meaningful error inside (nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        inner = [_first_error(e) for e in exc.exceptions]
        for candidate in inner:
            if isinstance(candidate, HedgegridError):
                return candidate
        for candidate in inner:
            if not isinstance(candidate, anyio.get_cancelled_exc_class()):
                return candidate
        return inner[0]
    return exc


class Daemon:
    """One run of ``hedgegridd``: ``await Daemon(...).run()`` returns the exit code."""

    def __init__(
        self,
        settings: Settings,
        secrets: Secrets,
        *,
        config_path: Path | None,
        strategy_factory: StrategyFactory,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self._config_path = config_path
        self._factory = strategy_factory
        self._env: Mapping[str, str] = os.environ if environ is None else environ
        self.notifier = Notifier(self._env)
        self.health = Health(settings.watchdog)
        self.handle: StrategyHandle | None = None
        self._stop = anyio.Event()
        self._escalated = False
        self._store: AsyncStateStore | None = None
        self._reloader: Reloader | None = None
        self._reload_requests = 0
        self.ops: OpsComponents | None = None
        self.venue_watch: Any = None  # VenueWatch once started (sim/testnet/live)

    # -- signal callbacks ----------------------------------------------------------------
    def request_stop(self, why: str) -> None:
        """Ask for a graceful stop (first SIGTERM/SIGINT, or an internal request)."""
        log.info("daemon.stop_requested", why=why)
        self._stop.set()

    def _escalate(self, why: str) -> None:
        self._escalated = True
        log.error("daemon.forced_exit", why=why)
        self.notifier.status("forced stop")
        os._exit(ExitCode.INTERNAL)

    # -- phases --------------------------------------------------------------------------
    async def run(self) -> ExitCode:
        """Run every phase; never raises (errors become exit codes)."""
        code = ExitCode.OK
        try:
            await self._run()
        except BaseException as exc:
            err = _first_error(exc)
            if isinstance(err, KeyboardInterrupt):
                code = ExitCode.OK
            else:
                code = exit_code_for(err)
                log.error(
                    "daemon.failed",
                    error=str(err),
                    error_type=type(err).__name__,
                    exit_code=int(code),
                    exc_info=not isinstance(err, HedgegridError),
                )
                self.notifier.status(f"failed: {type(err).__name__}: {err}")
        finally:
            self.notifier.close()
        log.info("daemon.exit", exit_code=int(code))
        return code

    async def _run(self) -> None:
        settings = self.settings
        state_dir = settings.state_dir(self._env)
        self.notifier.status("opening state")
        retention = JournalRetention.from_settings(
            settings.state.journal_max_rows, settings.state.journal_max_age_days
        )
        store = await AsyncStateStore.open(state_dir / STATE_DB_NAME, retention)
        self._store = store
        try:
            await self._run_with_store(store)
        finally:
            with anyio.CancelScope(shield=True):
                await store.journal("daemon.stop", actor="daemon", details={}, at_ns=time.time_ns())
                await store.aclose()

    async def _run_with_store(self, store: AsyncStateStore) -> None:
        settings = self.settings
        mode = settings.mode
        await store.journal(
            "daemon.start",
            actor="daemon",
            details={"mode": mode.value, "version": __version__, "pid": os.getpid()},
            at_ns=time.time_ns(),
        )
        restored = await read_restored(store)
        router = SignalRouter(
            on_stop=self.request_stop,
            on_escalate=self._escalate,
            on_reload=self._on_sighup,
        )
        interval = watchdog_interval_s(self._env)
        dog = Watchdog(
            self.notifier,
            self.health,
            interval_s=interval,
            probe_interval_s=settings.watchdog.probe_interval_s,
            on_ping=self._record_watchdog_ping,
        )
        # Signals live in an outer group so a second SIGTERM during shutdown still escalates.
        async with anyio.create_task_group() as outer:
            await outer.start(router.run)
            try:
                await self._main(store, restored, router, dog)
            finally:
                outer.cancel_scope.cancel()

    async def _main(
        self, store: AsyncStateStore, restored: RestoredState, router: SignalRouter, dog: Watchdog
    ) -> None:
        settings = self.settings
        mode = settings.mode
        async with anyio.create_task_group() as tg:
            self._tg = tg
            await tg.start(dog.run)
            self.notifier.status("warming up")
            warm = await self._until_stop(
                run_warmup,
                base_url=settings.venue.http_url(mode),
                symbol=settings.venue.symbol,
                settings=settings.warmup,
                keys=self.secrets.binance,
                require_hedge_mode=mode is not Mode.PAPER,
                recv_window_ms=settings.venue.recv_window_ms,
                bar_interval_minutes=settings.venue.bar_interval_minutes,
            )
            if warm is None:
                tg.cancel_scope.cancel()
                return
            strategy = self._factory(StrategyInputs(settings, warm, restored))
            if not isinstance(strategy, StrategyHandle):
                raise HedgegridError("the strategy does not implement StrategyHandle")
            handle: StrategyHandle = strategy
            from hedgegridd.supervisor.node_runner import NodeRunner  # loads Nautilus
            from hedgegridd.venues.nodes import build_node_plan

            plan = build_node_plan(
                mode,
                settings.venue,
                keys=self.secrets.binance if mode is not Mode.PAPER else None,
                nautilus_log_level=settings.logging.nautilus_level,
                timeout_connection_s=min(60.0, settings.lifecycle.ready_timeout_s),
                reconcile=settings.reconcile,
            )
            runner = NodeRunner(
                plan,
                strategy,
                ready_timeout_s=settings.lifecycle.ready_timeout_s,
                stop_timeout_s=settings.lifecycle.stop_deadline_s,
                heartbeat=self.health.heartbeat_for("node"),
            )
            runner.build()
            await router.take_over()  # the kernel just installed its own handlers
            self.ops = build_ops(
                settings,
                self.secrets,
                handle=handle,
                store=store,
                health=self.health,
                reload=self._reload_for_ctl,
                environ=self._env,
            )
            if self.ops.alerts is not None:
                await tg.start(self.ops.alerts.run)
            # before start: a start failure is alerted too
            wire_sinks(strategy, store, start_soon=tg.start_soon, alerts=self.ops.alerts)
            self.notifier.status("starting node")
            if not await self._start_until_stop(tg, runner.run):
                tg.cancel_scope.cancel()
                return
            self.handle = handle
            apply_restored(handle, restored, default_throttle=settings.strategy.throttle)
            self.health.set_engines_probe(runner.engines_connected)
            monitor = Monitor(
                mode=mode.value,
                handle=handle,
                notifier=self.notifier,
                store=store,
                status_interval_s=settings.lifecycle.status_interval_s,
                heartbeat=self.health.heartbeat_for("monitor"),
            )
            self.health.set_data_age_probe(monitor.data_age_s)
            for name, component in self.ops.post_node():
                log.info("daemon.task_starting", task=name)
                await tg.start(component.run)
            await self._start_venue_watch(tg, handle, strategy, runner)
            self._reloader = Reloader(
                config_path=self._config_path,
                settings=settings,
                notifier=self.notifier,
                store=store,
                handle=lambda: self.handle,
                components=self.ops.reconfigurable(),
                guards=self._check_guards,
            )
            await tg.start(monitor.run)
            self.health.mark_ready()
            self.notifier.ready(status_line(mode.value, handle.snapshot()))
            await store.journal("daemon.ready", actor="daemon", details={}, at_ns=time.time_ns())
            if self.ops.alerts is not None:
                self.ops.alerts.notify(
                    AlertKey.STARTUP, Severity.INFO, f"hedgegridd started ({mode.value})"
                )
            await self._stop.wait()
            self.health.mark_ready(False)
            self.notifier.stopping()
            await self._shutdown(tg)

    async def _start_venue_watch(
        self, tg: Any, handle: StrategyHandle, strategy: object, runner: Any
    ) -> None:
        """Reconciliation, hedge-mode watch and stream recovery (sim/testnet/live)."""
        from hedgegridd.supervisor.venue_setup import build_venue_watch, register_venue_metrics

        assert self.ops is not None
        watch = build_venue_watch(
            self.settings,
            self.secrets,
            handle=handle,
            strategy=strategy,
            node=runner,
            alerts=self.ops.alerts,
            health=self.health,
        )
        self.venue_watch = watch
        if self.ops.metrics is not None:
            register_venue_metrics(self.ops.metrics.registry, watch, self.health)
        if watch is not None:
            log.info("daemon.task_starting", task="venue_watch")
            await tg.start(watch.run)

    def _record_watchdog_ping(self) -> None:
        """Count a WATCHDOG=1 in the metrics (hedgegridd_watchdog_pings_total)."""
        if self.ops is not None and self.ops.metrics is not None:
            self.ops.metrics.record_watchdog_ping()

    async def _shutdown(self, tg: Any) -> None:
        """Cancel every task; the node runner stops the node shielded within its deadline."""
        log.info("daemon.stopping", deadline_s=self.settings.lifecycle.stop_deadline_s)
        if self.ops is not None and self.ops.notify is not None:
            self.ops.notify.flush()  # a digest in progress goes out with the last alerts
        if self.ops is not None and self.ops.alerts is not None:
            self.ops.alerts.notify(AlertKey.SHUTDOWN, Severity.INFO, "hedgegridd stopping")
            with anyio.CancelScope(shield=True), anyio.move_on_after(3.0):
                await self.ops.alerts.drain(3.0)
        tg.cancel_scope.cancel()

    async def _until_stop(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Await ``fn(**kwargs)`` unless a stop is requested first (then None)."""
        result: list[Any] = []
        async with anyio.create_task_group() as inner:

            async def _work() -> None:
                result.append(await fn(**kwargs))
                inner.cancel_scope.cancel()

            async def _watch() -> None:
                await self._stop.wait()
                inner.cancel_scope.cancel()

            inner.start_soon(_work)
            inner.start_soon(_watch)
        return result[0] if result else None

    async def _start_until_stop(self, tg: Any, run: Callable[..., Any]) -> bool:
        """``tg.start(run)`` unless a stop is requested first; True when started."""
        started = False
        async with anyio.create_task_group() as inner:

            async def _start() -> None:
                nonlocal started
                await tg.start(run)
                started = True
                inner.cancel_scope.cancel()

            async def _watch() -> None:
                await self._stop.wait()
                inner.cancel_scope.cancel()

            inner.start_soon(_start)
            inner.start_soon(_watch)
        return started

    # -- reload --------------------------------------------------------------------------
    def _check_guards(self, settings: Settings) -> None:
        """The start guards of the mode, applied to a reloaded file (running credentials)."""
        from hedgegridd.venues.guards import check_mode_guards

        check_mode_guards(
            settings.mode,
            settings.venue,
            settings.killswitch,
            keys=self.secrets.binance,
            other_env_keys=self.secrets.binance_other_env,
        )

    def _on_sighup(self) -> None:
        if self._reloader is None:
            log.warning("reload.ignored_not_ready")
            return
        self._tg.start_soon(self._reload_logged, "signal:SIGHUP")

    async def _reload_logged(self, actor: str) -> None:
        try:
            await self._reload_for_ctl(actor)
        except HedgegridError as exc:
            log.error("reload.failed", error=str(exc), actor=actor)

    async def _reload_for_ctl(self, actor: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if self._reloader is None:
            raise ConfigError("reload is not available before the daemon is ready")
        return await self._reloader.reload(actor)
