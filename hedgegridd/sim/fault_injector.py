"""``FaultInjector``: applies a fault to the parts of the venue it affects.

``Faults`` is the plain state the request, order and stream paths consult; this
sets it and reaches the other parts a fault touches: the stream hub (stalls that
deliver late, a restart closing every connection), the matching engines (partial
fills) and the request-weight limiter. ``SimExchange``'s fault methods and
``POST /_sim/faults/<name>`` (``control.py``) come through here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import structlog

from hedgegridd.errors import ConfigError
from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.faults import Faults, OrderRejection, ServerFailure
from hedgegridd.sim.limits import WeightLimiter
from hedgegridd.sim.streams import StreamHub

log = structlog.get_logger(__name__)


class FaultInjector:
    """Sets faults on the shared ``Faults`` and the parts they affect."""

    def __init__(
        self,
        faults: Faults,
        hub: StreamHub,
        engines: Mapping[str, MatchingEngine],
        limiter: WeightLimiter,
        weight_limit: int,
    ) -> None:
        self._faults = faults
        self._hub = hub
        self._engines = engines  # the exchange's (filled as markets are built)
        self._limiter = limiter
        self._weight_limit = weight_limit  # the configured one, restored by ``clear``

    def stall(self, seconds: float, kind: str, mode: str) -> None:
        """Withhold ``kind`` ("market"/"user"/"all") messages: lost ("drop") or late ("delay")."""
        if mode not in ("drop", "delay"):
            raise ConfigError(f"stall_streams: mode must be drop or delay, got {mode!r}")
        for k in ("market", "user") if kind == "all" else (kind,):
            self._faults.stall(k, seconds, mode)
        if mode == "delay":
            self._hub.flush_after(seconds)
        log.info("sim.fault_stall", kind=kind, seconds=seconds, mode=mode)

    def reject_next_orders(self, count: int, code: int, msg: str) -> None:
        """The next ``count`` order placements fail with Binance error ``code``."""
        text = msg or {-2019: "Margin is insufficient."}.get(code, "Order rejected by sim fault.")
        self._faults.rejections.append(OrderRejection(count, code, text))
        log.info("sim.fault_reject_orders", count=count, code=code)

    def fail_next_requests(self, count: int, status: int, path_prefix: str) -> None:
        """The next ``count`` REST requests under ``path_prefix`` answer ``status``."""
        self._faults.failures.append(ServerFailure(count, status, path_prefix))
        log.info("sim.fault_5xx", count=count, status=status, path_prefix=path_prefix)

    def set_latency(self, seconds: float, path_prefix: str) -> None:
        """Every REST answer under ``path_prefix`` is delayed by ``seconds``."""
        self._faults.latency_s = seconds
        self._faults.latency_prefix = path_prefix
        log.info("sim.fault_latency", seconds=seconds, path_prefix=path_prefix)

    async def restart(self, down_s: float) -> int:
        """Down for ``down_s`` seconds; every connection closed. Returns how many."""
        self._faults.down_until = time.monotonic() + down_s
        closed = await self._hub.restart()
        log.warning("sim.restart", down_s=down_s, closed=closed)
        return closed

    def set_partial_fills(self, enabled: bool) -> None:
        """A touched resting order fills half (on the step) per touch."""
        for engine in self._engines.values():
            engine.partial_fills = enabled
        log.info("sim.partial_fills", enabled=enabled)

    def set_weight_limit(self, limit: int) -> None:
        """Lower (or restore) the per-minute request weight; the limiter starts afresh."""
        self._limiter.set_limit(limit)
        self._limiter.reset()

    def clear(self) -> None:
        """Remove every active fault; the configured weight limit is back."""
        self._faults.clear()
        for engine in self._engines.values():
            engine.partial_fills = False
        self.set_weight_limit(self._weight_limit)
