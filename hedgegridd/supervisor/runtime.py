"""Run-time duties of the daemon once the node is ready: status, persistence, freshness, reload.

``Monitor`` runs as a task: it watches market-data freshness (the strategy's last bar
stamp changing, measured on the monotonic clock so an accelerated sim clock does not
matter), keeps ``STATUS=`` current and persists peak equity / realized PnL.
``Reloader`` applies what SIGHUP (or ``hedgegridctl reload``) may change at runtime,
after the same guards start applies for the mode (``check_mode_guards``): a file that
start would refuse (kill switch off or without limits in live, URLs or keys of
another environment) or that changes the mode is refused whole with a
``ConfigError`` naming the key, and nothing is applied.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import anyio
import structlog
from anyio.abc import TaskStatus

from hedgegridd.errors import ConfigError
from hedgegridd.strategy.handle import StrategyHandle, StrategySnapshot
from hedgegridd.supervisor.settings import Settings, load_settings
from hedgegridd.supervisor.state import AsyncStateStore
from hedgegridd.supervisor.systemd import Notifier

log = structlog.get_logger(__name__)

# Top-level sections / keys that SIGHUP applies without a restart.
RELOADABLE = ("strategy.throttle", "alerts", "killswitch")


def status_line(mode: str, snap: StrategySnapshot) -> str:
    """One-line STATUS= text for ``systemctl status``."""
    return (
        f"mode={mode} state={snap.state.value} regime={snap.regime} "
        f"long={snap.long.quantity} short={snap.short.quantity} "
        f"entries={snap.long.entry_orders}/{snap.short.entry_orders} "
        f"pnl={snap.realized_pnl:.2f}/{snap.unrealized_pnl:.2f} throttle={snap.throttle}"
    )


class Monitor:
    """Freshness + STATUS= + persistence loop."""

    def __init__(
        self,
        *,
        mode: str,
        handle: StrategyHandle,
        notifier: Notifier,
        store: AsyncStateStore,
        status_interval_s: float,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self._mode = mode
        self._handle = handle
        self._notifier = notifier
        self._store = store
        self._status_interval_s = status_interval_s
        self._heartbeat = heartbeat or (lambda: None)
        self._last_bar_ns: int | None = None
        self._last_change = time.monotonic()
        self._persisted: dict[str, Decimal] = {}

    def data_age_s(self) -> float:
        """Seconds since the strategy's last bar stamp last changed (or since start)."""
        return time.monotonic() - self._last_change

    def observe(self, snap: StrategySnapshot) -> None:
        """Record the latest bar stamp."""
        if snap.last_bar_ns is not None and snap.last_bar_ns != self._last_bar_ns:
            self._last_bar_ns = snap.last_bar_ns
            self._last_change = time.monotonic()

    async def persist(self, snap: StrategySnapshot) -> None:
        """Write peak equity and realized PnL when they changed."""
        for key, value in (("peak_equity", snap.peak_equity), ("realized_pnl", snap.realized_pnl)):
            if value is not None and self._persisted.get(key) != value:
                await self._store.set_decimal(key, value)
                self._persisted[key] = value

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Every second: freshness; every status interval: STATUS= and persistence."""
        task_status.started()
        next_status = 0.0
        while True:
            self._heartbeat()
            snap = self._handle.snapshot()
            self.observe(snap)
            now = time.monotonic()
            if now >= next_status:
                self._notifier.status(status_line(self._mode, snap))
                await self.persist(snap)
                next_status = now + self._status_interval_s
            await anyio.sleep(min(1.0, self._status_interval_s))


class Reconfigurable(Protocol):
    """A component that can take a new config at runtime."""

    def reconfigure(self, config: Any) -> None: ...


def _section_diff(old: Settings, new: Settings) -> list[str]:
    changed: list[str] = []
    old_doc, new_doc = old.model_dump(), new.model_dump()
    for section, value in new_doc.items():
        before = old_doc.get(section)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            changed.extend(f"{section}.{k}" for k in value if value[k] != before.get(k))
        elif value != before:
            changed.append(section)
    return changed


class Reloader:
    """Re-reads the config file and applies the runtime-changeable parts."""

    def __init__(
        self,
        *,
        config_path: Path | None,
        settings: Settings,
        notifier: Notifier,
        store: AsyncStateStore,
        handle: Callable[[], StrategyHandle | None],
        components: Mapping[str, object],
        guards: Callable[[Settings], None],
    ) -> None:
        self._path = config_path
        self._guards = guards
        self.settings = settings
        self._notifier = notifier
        self._store = store
        self._handle = handle
        self._components = components
        self._lock = anyio.Lock()

    async def reload(self, actor: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Apply a reload; returns (applied, restart_required). ConfigError leaves all as is."""
        async with self._lock:
            self._notifier.reloading()
            try:
                return await self._reload(actor)
            finally:
                self._notifier.send("READY=1")

    async def _reload(self, actor: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        try:
            new = await anyio.to_thread.run_sync(load_settings, self._path)
            if new.mode is not self.settings.mode:
                raise ConfigError(
                    f"mode: cannot change from {self.settings.mode.value} to "
                    f"{new.mode.value} on reload; restart the daemon to change the mode"
                )
            self._guards(new)  # what start would refuse for the mode, reload refuses too
        except ConfigError as exc:
            log.error("reload.rejected", error=str(exc), actor=actor)
            raise
        changed = _section_diff(self.settings, new)
        applied: list[str] = []
        restart: list[str] = []
        reconfigured: set[str] = set()
        for key in changed:
            section = key.split(".")[0]
            if key == "strategy.throttle":
                handle = self._handle()
                if handle is None:
                    restart.append(key)
                    continue
                handle.set_throttle(new.strategy.throttle)
                await self._store.set_decimal("throttle", new.strategy.throttle)
                applied.append(key)
            elif section in ("alerts", "killswitch"):
                component = self._components.get(section)
                reconfigure = getattr(component, "reconfigure", None)
                if not callable(reconfigure):
                    restart.append(key)
                    continue
                if section not in reconfigured:
                    reconfigure(getattr(new, section))
                    reconfigured.add(section)
                applied.append(key)
            else:
                restart.append(key)
        # Only what was applied becomes current; the rest waits for a restart.
        update: dict[str, Any] = {section: getattr(new, section) for section in reconfigured}
        if "strategy.throttle" in applied:
            update["strategy"] = self.settings.strategy.model_copy(
                update={"throttle": new.strategy.throttle}
            )
        self.settings = self.settings.model_copy(update=update)
        await self._store.journal(
            "reload",
            actor=actor,
            details={"applied": applied, "restart_required": restart},
            at_ns=time.time_ns(),
        )
        log.info("reload.done", applied=applied, restart_required=restart, actor=actor)
        return tuple(applied), tuple(restart)
