"""Runs the Nautilus TradingNode on the daemon's event loop as a structured task.

``build()`` creates the node on the running loop (``TradingNode(loop=...)``) and adds
the strategy; ``run()`` starts ``node.run_async()``, reports ready (``task_status``)
only once the trader is running (reconciliation done) AND the data and exec engines
report connected, then watches the node. A node that never gets there within
``ready_timeout_s`` (e.g. the exec client refused to connect, which leaves
``is_running()`` True) is a ``VenueRefusedError``. On cancellation the node is
stopped inside a shielded, bounded scope and its kernel disposed without stopping
the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import anyio
import structlog
from anyio.abc import TaskStatus
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OmsType
from nautilus_trader.trading.strategy import Strategy

from hedgegridd.errors import HedgegridError, VenueRefusedError
from hedgegridd.venues.nodes import VENUE_NAME, NodePlan

log = structlog.get_logger(__name__)


class NodeStoppedError(HedgegridError):
    """The node stopped by itself while the daemon was running."""


class NodeRunner:
    """Owns one TradingNode: build, start until ready, watch, stop."""

    def __init__(
        self,
        plan: NodePlan,
        strategy: Strategy,
        *,
        ready_timeout_s: float,
        stop_timeout_s: float,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self._plan = plan
        self._strategy = strategy
        self._ready_timeout_s = ready_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._heartbeat = heartbeat or (lambda: None)
        self.node: TradingNode | None = None
        self._run_task: asyncio.Task[None] | None = None
        self.ready_at: float | None = None

    def build(self) -> None:
        """Create and build the node on the running loop (installs Nautilus's signal handlers)."""
        if self._strategy.oms_type != OmsType.HEDGING:
            raise VenueRefusedError(
                f"strategy OMS type is {self._strategy.oms_type}; HEDGING is required "
                "and never downgraded to netting"
            )
        node = TradingNode(config=self._plan.config, loop=asyncio.get_running_loop())
        node.add_data_client_factory(VENUE_NAME, self._plan.data_factory)
        node.add_exec_client_factory(VENUE_NAME, self._plan.exec_factory)
        node.trader.add_strategy(self._strategy)
        node.build()
        self.node = node

    def engines_connected(self) -> bool:
        """True while the data and exec engines report every client connected."""
        if self.node is None:
            return False
        kernel = self.node.kernel
        return bool(kernel.data_engine.check_connected() and kernel.exec_engine.check_connected())

    def is_ready(self) -> bool:
        """Trader running (reconciled), strategy running and engines connected."""
        return (
            self.node is not None
            and bool(self.node.kernel.trader.is_running)
            and bool(self._strategy.is_running)
            and self.engines_connected()
        )

    def _strategy_failed(self) -> str | None:
        """Why the strategy stopped by itself (start failure, fault), or None."""
        strategy = self._strategy
        if strategy.is_stopped or strategy.is_faulted or strategy.is_disposed:
            reason = getattr(strategy, "start_failure", None)
            return str(reason) if reason else f"strategy state {strategy.state.name}"
        return None

    def cache(self) -> Any:
        """The node's cache (orders, positions) for the supervisor's checks."""
        if self.node is None:
            raise NodeStoppedError("node not built")
        return self.node.kernel.cache

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the node, report ready, watch it; stop it on cancellation."""
        if self.node is None:
            self.build()
        node = self.node
        assert node is not None
        started = time.monotonic()
        self._run_task = asyncio.ensure_future(node.run_async())
        try:
            with anyio.fail_after(self._ready_timeout_s):
                while not self.is_ready():
                    failure = self._strategy_failed()
                    if failure is not None:
                        raise VenueRefusedError(f"the strategy failed to start: {failure}")
                    if self._run_task.done():
                        raise VenueRefusedError(
                            "the node stopped before it was ready (engines not connected "
                            "or reconciliation failed)"
                        )
                    self._heartbeat()
                    await anyio.sleep(0.05)
        except TimeoutError as exc:
            kernel = node.kernel
            raise VenueRefusedError(
                f"node not ready within lifecycle.ready_timeout_s={self._ready_timeout_s}: "
                f"data_connected={kernel.data_engine.check_connected()} "
                f"exec_connected={kernel.exec_engine.check_connected()} "
                f"trader_running={kernel.trader.is_running}"
            ) from exc
        finally:
            if self.ready_at is None and not self.is_ready():
                await self._stop()
        self.ready_at = time.monotonic()
        log.info("node.ready", elapsed_s=round(self.ready_at - started, 3))
        task_status.started()
        try:
            while True:
                self._heartbeat()
                if self._run_task.done():
                    raise NodeStoppedError("the trading node stopped unexpectedly")
                failure = self._strategy_failed()
                if failure is not None:
                    raise NodeStoppedError(f"the strategy stopped unexpectedly: {failure}")
                await anyio.sleep(0.5)
        finally:
            await self._stop()

    async def _stop(self) -> None:
        node = self.node
        if node is None:
            return
        self.node = None
        with anyio.CancelScope(shield=True), anyio.move_on_after(self._stop_timeout_s) as scope:
            log.info("node.stopping")
            try:
                if node.kernel.is_running():
                    await node.stop_async()
                if self._run_task is not None and not self._run_task.done():
                    await asyncio.wait([self._run_task], timeout=5.0)
            finally:
                node.kernel.dispose()
            log.info("node.stopped")
        if scope.cancelled_caught:
            log.error("node.stop_deadline_exceeded", deadline_s=self._stop_timeout_s)
