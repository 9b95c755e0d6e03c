"""What the kill switch needs from the state store, and its in-memory latch record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol


class LatchRecord(Protocol):
    """A persisted latch (``hedgegridd.supervisor.state.Latch``)."""

    @property
    def reason(self) -> str: ...
    @property
    def details(self) -> Mapping[str, Any]: ...
    @property
    def fired_at_ns(self) -> int: ...


class IntentRecord(Protocol):
    """A persisted flatten intent (``hedgegridd.supervisor.state.FlattenIntent``)."""

    @property
    def side(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def pause_reason(self) -> str | None: ...
    @property
    def pending(self) -> bool: ...


class KillSwitchStore(Protocol):
    """The part of ``AsyncStateStore`` the kill switch uses."""

    async def get_decimal(self, key: str) -> Decimal | None: ...
    async def set_decimal(self, key: str, value: Decimal) -> None: ...
    async def killswitch_latch(self) -> LatchRecord | None: ...
    async def set_killswitch_latch(
        self, reason: str, details: Mapping[str, Any], at_ns: int
    ) -> None: ...
    async def fire_killswitch(
        self, reason: str, details: Mapping[str, Any], at_ns: int, *, actor: str
    ) -> IntentRecord: ...
    async def clear_killswitch_latch(self, by: str, at_ns: int) -> None: ...
    async def journal(
        self, kind: str, *, actor: str, details: Mapping[str, Any], at_ns: int
    ) -> None: ...
    async def flatten_intent(self) -> IntentRecord | None: ...
    async def set_flatten_intent(
        self, side: str, *, actor: str, pause_reason: str | None, at_ns: int
    ) -> IntentRecord: ...
    async def finish_flatten_intent(self) -> None: ...
    async def clear_flatten_pause(self) -> None: ...


@dataclass(frozen=True, slots=True)
class MemoryLatch:
    """The latch as held in memory once fired (mirrors the persisted record)."""

    reason: str
    details: Mapping[str, Any]
    fired_at_ns: int
