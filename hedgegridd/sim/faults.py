"""Fault injection state: what the next requests, orders and streams should suffer.

The ``Faults`` object is owned by ``SimExchange``; tests drive it through the
exchange's Python methods or ``POST /_sim/faults/<name>`` (see ``control.py``).
Counters are consumed as requests arrive, so a fault affects exactly the next N.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class OrderRejection:
    """Reject the next ``remaining`` order placements with this Binance error."""

    remaining: int
    code: int
    msg: str


@dataclass(slots=True)
class ServerFailure:
    """Answer the next ``remaining`` requests (under ``path_prefix``) with HTTP ``status``."""

    remaining: int
    status: int
    path_prefix: str


@dataclass(slots=True)
class Faults:
    """Every active fault; plain state, mutated only on the event loop."""

    rejections: list[OrderRejection] = field(default_factory=list)
    failures: list[ServerFailure] = field(default_factory=list)
    latency_s: float = 0.0
    latency_prefix: str = "/fapi/"
    stall_until: dict[str, float] = field(default_factory=dict)
    stall_mode: dict[str, str] = field(default_factory=dict)
    down_until: float = 0.0

    def take_rejection(self) -> OrderRejection | None:
        """Consume one order rejection, if any is pending."""
        while self.rejections:
            head = self.rejections[0]
            if head.remaining > 0:
                head.remaining -= 1
                if head.remaining == 0:
                    self.rejections.pop(0)
                return head
            self.rejections.pop(0)
        return None

    def take_failure(self, path: str) -> ServerFailure | None:
        """Consume one server failure matching ``path``, if any is pending."""
        for failure in self.failures:
            if failure.remaining > 0 and path.startswith(failure.path_prefix):
                failure.remaining -= 1
                if failure.remaining == 0:
                    self.failures.remove(failure)
                return failure
        return None

    def latency_for(self, path: str) -> float:
        """Seconds to wait before answering a request to ``path``."""
        return self.latency_s if path.startswith(self.latency_prefix) else 0.0

    def is_stalled(self, kind: str) -> bool:
        """Whether streams of ``kind`` ("market" or "user") are stalled right now."""
        until = self.stall_until.get(kind)
        return until is not None and time.monotonic() < until

    def stall(self, kind: str, seconds: float, mode: str) -> float:
        """Stall streams of ``kind`` for ``seconds`` (``mode``: "drop" or "delay")."""
        until = time.monotonic() + seconds
        self.stall_until[kind] = until
        self.stall_mode[kind] = mode
        return until

    def stalled_mode(self, kind: str) -> str | None:
        """ "drop" or "delay" while streams of ``kind`` stall, else None."""
        return self.stall_mode.get(kind, "drop") if self.is_stalled(kind) else None

    def stall_remaining(self) -> float:
        """Seconds until every current stall is over (0 when none is active)."""
        now = time.monotonic()
        return max((until - now for until in self.stall_until.values()), default=0.0)

    def is_down(self) -> bool:
        """Whether the venue is "restarting" (REST 503, WebSocket upgrades refused)."""
        return time.monotonic() < self.down_until

    def clear(self) -> None:
        """Remove every fault (a restart in progress ends too)."""
        self.rejections.clear()
        self.failures.clear()
        self.latency_s = 0.0
        self.stall_until.clear()
        self.stall_mode.clear()
        self.down_until = 0.0
