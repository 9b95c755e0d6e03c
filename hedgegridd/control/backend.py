"""What the control server calls: the ``ControlBackend`` protocol, and an adapter.

The supervisor implements ``ControlBackend`` (or uses ``HandleBackend``, which maps
the commands onto a ``StrategyHandle`` plus kill switch and reload callables). The
server calls it on the daemon's event loop, one request at a time per connection;
methods must not block the loop. To refuse a command because of the daemon's
state, raise ``ControlError(ErrorCode.REFUSED_BY_STATE, "plain words")``; for bad
arguments ``ErrorCode.BAD_ARGUMENT``. Any other exception becomes an ``internal``
error reply with a generic message (the exception itself goes to the log).

``actor`` names the peer for the journal and the kill switch reset, e.g.
``"uid=1000 pid=4242"``.
"""

from __future__ import annotations

import platform
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Protocol, runtime_checkable

from hedgegridd.control.protocol import PROTOCOL_VERSION, ErrorCode
from hedgegridd.control.results import (
    FlattenResult,
    KillSwitchResult,
    LaddersResult,
    OrdersResult,
    PositionsResult,
    ReloadResult,
    StateResult,
    StatusResult,
    ThrottleResult,
    VersionResult,
    flatten_result,
    ladders_result,
    orders_result,
    positions_result,
    state_result,
    status_result,
)
from hedgegridd.errors import ConfigError, ControlError
from hedgegridd.strategy.handle import FlattenSide, StrategyHandle, TradingState


@runtime_checkable
class ControlBackend(Protocol):
    """The daemon operations behind the control commands (called on the event loop)."""

    async def status(self) -> StatusResult: ...

    async def positions(self) -> PositionsResult: ...

    async def orders(self) -> OrdersResult: ...

    async def ladders(self) -> LaddersResult: ...

    async def pause(self, reason: str, *, actor: str, keep_orders: bool = False) -> StateResult: ...

    async def resume(self, reason: str, *, actor: str) -> StateResult: ...

    async def throttle(self, value: Decimal, *, actor: str) -> ThrottleResult: ...

    async def flatten(self, side: FlattenSide, *, actor: str) -> FlattenResult: ...

    async def killswitch_status(self) -> KillSwitchResult: ...

    async def killswitch_reset(self, *, actor: str) -> KillSwitchResult: ...

    async def reload(self, *, actor: str) -> ReloadResult: ...

    async def version(self) -> VersionResult: ...


@runtime_checkable
class ThrottleEffects(Protocol):
    """A strategy that can tell what its throttle leaves (``HedgeGridStrategy`` can)."""

    def throttle_effect(self) -> Mapping[str, tuple[int, Decimal | None]]:
        """Per side: desired entry rungs now, and the smallest throttle keeping one when
        the throttle alone empties the side (else None)."""
        ...


def nautilus_version() -> str:
    """Installed NautilusTrader version, read from package metadata (no engine import)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nautilus_trader")
    except PackageNotFoundError:
        return "unknown"


class HandleBackend:
    """``ControlBackend`` over a ``StrategyHandle`` plus kill switch and reload callables.

    ``handle`` returns the running strategy's handle, or ``None`` while the daemon is
    still warming up (strategy commands are then refused by state).
    """

    def __init__(
        self,
        *,
        handle: Callable[[], StrategyHandle | None],
        killswitch_status: Callable[[], Awaitable[KillSwitchResult]],
        killswitch_reset: Callable[[str], Awaitable[KillSwitchResult]],
        reload: Callable[[str], Awaitable[ReloadResult]],
        mode: str,
        daemon_version: str,
    ) -> None:
        self._handle = handle
        self._killswitch_status = killswitch_status
        self._killswitch_reset = killswitch_reset
        self._reload = reload
        self._mode = mode
        self._daemon_version = daemon_version
        self._nautilus_version = nautilus_version()

    def _strategy(self) -> StrategyHandle:
        handle = self._handle()
        if handle is None:
            raise ControlError(
                ErrorCode.REFUSED_BY_STATE, "the strategy is not running yet (daemon starting)"
            )
        return handle

    async def status(self) -> StatusResult:
        snapshot = self._strategy().snapshot()
        latch = await self._killswitch_status()
        return status_result(
            snapshot,
            mode=self._mode,
            daemon_version=self._daemon_version,
            killswitch_latched=latch.latched,
        )

    async def positions(self) -> PositionsResult:
        return positions_result(self._strategy().snapshot())

    async def orders(self) -> OrdersResult:
        return orders_result(self._strategy().open_orders())

    async def ladders(self) -> LaddersResult:
        return ladders_result(self._strategy().ladders())

    async def pause(self, reason: str, *, actor: str, keep_orders: bool = False) -> StateResult:
        handle = self._strategy()
        if keep_orders:
            handle.pause(reason, keep_orders=True)
        else:
            handle.pause(reason)  # default: resting entries are withdrawn
        return state_result(handle.snapshot())

    async def resume(self, reason: str, *, actor: str) -> StateResult:
        handle = self._strategy()
        if (
            handle.snapshot().state is TradingState.HALTED
            or (await self._killswitch_status()).latched
        ):
            raise ControlError(
                ErrorCode.REFUSED_BY_STATE,
                "the kill switch is latched; run 'hedgegridctl killswitch reset' first",
            )
        handle.resume(reason)
        return state_result(handle.snapshot())

    async def throttle(self, value: Decimal, *, actor: str) -> ThrottleResult:
        handle = self._strategy()
        previous = handle.snapshot().throttle
        try:
            handle.set_throttle(value)
        except ConfigError as exc:
            raise ControlError(ErrorCode.BAD_ARGUMENT, "throttle must be within 0..1") from exc
        effect = handle.throttle_effect() if isinstance(handle, ThrottleEffects) else {}
        return ThrottleResult(
            previous=previous,
            throttle=handle.snapshot().throttle,
            entry_rungs={side: rungs for side, (rungs, _) in effect.items()},
            empty_sides={side: need for side, (_, need) in effect.items() if need is not None},
        )

    async def flatten(self, side: FlattenSide, *, actor: str) -> FlattenResult:
        return flatten_result(self._strategy().flatten(side))

    async def killswitch_status(self) -> KillSwitchResult:
        return await self._killswitch_status()

    async def killswitch_reset(self, *, actor: str) -> KillSwitchResult:
        if not (await self._killswitch_status()).latched:
            raise ControlError(ErrorCode.REFUSED_BY_STATE, "the kill switch is not latched")
        return await self._killswitch_reset(actor)

    async def reload(self, *, actor: str) -> ReloadResult:
        return await self._reload(actor)

    async def version(self) -> VersionResult:
        return VersionResult(
            daemon_version=self._daemon_version,
            protocol_version=PROTOCOL_VERSION,
            nautilus_version=self._nautilus_version,
            python_version=platform.python_version(),
        )
