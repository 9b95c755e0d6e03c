"""The daemon state that crosses a restart, between the state store and the strategy.

Read at start (``read_restored``), handed to the strategy once its node runs
(``apply_restored``), and written back as the strategy reports it (``wire_sinks``,
which also routes the strategy's incidents to alerts).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import structlog

from hedgegridd.ops.alerts import AlertManager
from hedgegridd.strategy.handle import StrategyHandle
from hedgegridd.supervisor.inputs import RestoredState
from hedgegridd.supervisor.state import AsyncStateStore

log = structlog.get_logger(__name__)


async def read_restored(store: AsyncStateStore) -> RestoredState:
    """Read what the strategy needs back from the store (logged as ``state.restored``)."""
    intent = await store.flatten_intent()
    restored = RestoredState(
        peak_equity=await store.get_decimal("peak_equity"),
        realized_pnl=await store.get_decimal("realized_pnl"),
        throttle=await store.get_decimal("throttle"),
        paused=bool(await store.get_flag("paused")),
        latch=await store.killswitch_latch(),
        flatten_pause=None if intent is None else intent.pause_reason,
    )
    log.info(
        "state.restored",
        peak_equity=str(restored.peak_equity),
        realized_pnl=str(restored.realized_pnl),
        throttle=str(restored.throttle),
        paused=restored.paused,
        latched=restored.latch is not None,
        flatten_pause=restored.flatten_pause,
        flatten_pending=intent is not None and intent.pending,
    )
    return restored


def apply_restored(
    handle: StrategyHandle, restored: RestoredState, *, default_throttle: Decimal
) -> None:
    """Set the persisted throttle (else ``default_throttle``) and re-assert persisted pauses."""
    throttle = restored.throttle if restored.throttle is not None else default_throttle
    handle.set_throttle(throttle)
    if restored.paused:
        handle.pause("operator")
    if restored.flatten_pause:
        handle.pause(restored.flatten_pause)


def wire_sinks(
    strategy: object,
    store: AsyncStateStore,
    *,
    start_soon: Callable[..., Any],
    alerts: AlertManager | None,
) -> None:
    """Persist the strategy's peak equity / realized PnL as soon as they change, and
    route its incidents (degraded, circuit breaker, drawdown, start failure) to alerts."""
    set_sinks = getattr(strategy, "set_sinks", None)
    if not callable(set_sinks):
        return

    async def persist(key: str, value: Any) -> None:
        await store.set_decimal(key, value)

    def sink(update: Any) -> None:
        for key in ("peak_equity", "realized_pnl"):
            value = getattr(update, key, None)
            if value is not None:
                start_soon(persist, key, value)

    set_sinks(state=sink, alert=alerts.strategy_sink if alerts is not None else None)
