"""A stress rig: the in-process simulator, the real ``hedgegridd`` and the invariant monitor.

The daemon runs ``HedgeGridStrategy`` in sim mode on the Nautilus Binance adapter
against the simulator. Bars are a seeded random walk around 60,000 (small moves,
so the grid trades on both sides and the seed changes the path); stress comes
from the simulator's scenarios and faults.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgegridd.control.client import ControlClient
from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.supervisor.daemon_harness import DaemonProcess, sim_config_toml, start_daemon

from .monitor import SIDES, VenueMonitor, balanced, venue_book

START = Decimal("60000")
SPEED = 20.0  # sim minutes per wall minute: a 30 s crash takes 1.5 s of wall time


def walk(seed: int, n: int = 20_000, start: Decimal = START) -> list[SimBar]:
    """A seeded random walk of 1-minute bars (sigma ~ 2 bps per bar), mean-reverting."""
    rng = random.Random(seed)
    tick = Decimal("0.1")
    price = start
    bars = []
    for _ in range(n):
        drift = (start - price) * Decimal("0.02")
        close = (price + drift + Decimal(rng.gauss(0, 12))).quantize(tick)
        hi = max(price, close) + Decimal(abs(rng.gauss(0, 6))).quantize(tick)
        lo = min(price, close) - Decimal(abs(rng.gauss(0, 6))).quantize(tick)
        bars.append(SimBar(price, hi, lo, close))
        price = close
    return bars


def stress_toml(
    sim: SimExchange,
    tmp_path: Path,
    *,
    killswitch: dict[str, object] | None = None,
    extra: str = "",
) -> Path:
    """Daemon config (sim mode) with the kill switch armed and a fast check cadence."""
    return sim_config_toml(
        sim,
        tmp_path,
        extra,
        warmup={"total_deadline_s": 60, "history_bars": 60},
        lifecycle={"ready_timeout_s": 120, "stop_deadline_s": 30},
        watchdog={"max_data_age_s": 120},
        killswitch={
            "check_interval_s": 0.25,
            "flatten_poll_interval_s": 0.02,
            **(killswitch or {}),
        },
    )


@dataclass
class Rig:
    """What a stress test drives and observes."""

    sim: SimExchange
    daemon: DaemonProcess
    monitor: VenueMonitor
    sock: Path

    async def ctl(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """One control command over the real socket."""
        async with await ControlClient.connect(self.sock) as client:
            return await client.call_raw(command, args)

    async def until(self, check: Any, what: str, deadline_s: float = 180) -> Any:
        """Poll ``check`` until truthy (fails if the daemon exits or time runs out)."""
        return await self.daemon.until(check, what, deadline_s)

    def events(self, name: str) -> list[dict[str, object]]:
        """The daemon's JSON log events called ``name``."""
        return [e for e in self.daemon.events() if e.get("event") == name]

    async def ladder(self) -> None:
        """Wait until both ladders rest at the venue."""

        def laddered() -> bool:
            opening = [
                o
                for o in self.sim.engine.open_orders()
                if (o.position_side, o.side) in (("LONG", "BUY"), ("SHORT", "SELL"))
            ]
            return all(len([o for o in opening if o.position_side == s]) >= 3 for s in SIDES)

        await self.until(laddered, "both entry ladders resting")

    async def hold(self, side: str) -> Decimal:
        """Fill the first entries of ``side`` (a jump 0.6 % past the center) until protected."""
        center = Decimal((await self.ctl("status"))["center_price"])
        move = Decimal("0.994") if side == "LONG" else Decimal("1.006")
        await self.sim.jump_price(to=(center * move).quantize(Decimal("0.1")))

        def protected() -> bool:
            book = venue_book(self.sim)[side]
            return book["pos"] > 0 and book["tp"] == book["sl"] == book["pos"]

        await self.until(protected, f"{side} entries filled with TP and SL resting")
        return venue_book(self.sim)[side]["pos"]

    async def settled(self, deadline_s: float = 120) -> None:
        """Wait until per side TP == SL == position at the venue and scenarios are over."""
        await self.until(
            lambda: self.sim.director.idle and balanced(self.sim),
            "venue book balanced after the stress",
            deadline_s,
        )

    async def daemon_agrees(self) -> dict[str, Any]:
        """The daemon's positions equal the venue's legs (its view was repaired if it drifted)."""

        async def same() -> dict[str, Any] | None:
            pos = await self.ctl("positions")
            book = venue_book(self.sim)
            ok = all(Decimal(pos[s.lower()]["quantity"]) == book[s]["pos"] for s in SIDES)
            return pos if ok else None

        return await self.until(same, "daemon positions equal the venue's legs")

    async def no_new_refusals(self, bars: int = 3) -> None:
        """Once settled, ``bars`` more bars pass without a single order refusal."""
        before = dict(self.sim.order_rejections)
        start = self.sim.ticker.bar_index
        await self.until(lambda: self.sim.ticker.bar_index >= start + bars, f"{bars} more bars")
        assert dict(self.sim.order_rejections) == before
        assert balanced(self.sim)

    def assert_invariants(self) -> None:
        """Nothing the monitor watched was ever broken; the strategy never degraded."""
        assert self.monitor.events > 0, "no order event reached the monitor"
        assert self.monitor.violations == [], self.monitor.violations
        degraded = self.events("strategy.degraded")
        assert degraded == [], degraded


@asynccontextmanager
async def rig(
    tmp_path: Path,
    *,
    seed: int,
    killswitch: dict[str, object] | None = None,
    extra: str = "",
    grace_s: float = 10.0,
    sim_config: dict[str, Any] | None = None,
) -> AsyncIterator[Rig]:
    """Simulator + monitor + real daemon (READY), torn down afterwards."""
    cfg = SimConfig(speed=SPEED, seed=seed, **(sim_config or {}))
    async with SimExchange(cfg, bars=walk(seed)) as sim:
        monitor = VenueMonitor(sim, grace_s=grace_s)
        monitor.install()
        config = stress_toml(sim, tmp_path, killswitch=killswitch, extra=extra)
        daemon = start_daemon(config, tmp_path, factory=None, watchdog_usec=None, tag="stress")
        poller = asyncio.create_task(monitor.run())
        try:
            await daemon.wait_lines(lambda ls: "READY=1" in ls, deadline_s=240)
            yield Rig(sim, daemon, monitor, tmp_path / "run" / "control.sock")
        finally:
            poller.cancel()
            daemon.stop_now()
