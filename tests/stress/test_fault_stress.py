"""Stress: the real daemon through venue faults while the market moves (several seeds each).

User-stream stalls during a crash (events delayed, events lost), a 429 storm during
double flattens, a venue restart mid-trend, hedge mode switched off mid-run. The
venue monitor checks the invariants on every order event; each test first shows the
fault took effect, then that the book ends balanced and the daemon agrees with the venue.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from .harness import rig
from .monitor import venue_book

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

SEEDS = (21, 22)
FAST_RECONCILE = """
[reconcile]
interval_s = 2.0
hedge_check_interval_s = 2.0
confirm_delay_s = 0.5
stream_grace_s = 2.0
"""
STALL_S = 6.0


@pytest.mark.parametrize("mode", ["delay", "drop"])
@pytest.mark.parametrize("seed", SEEDS)
async def test_user_stream_stall_during_a_crash(tmp_path: Path, seed: int, mode: str) -> None:
    """Fills happen while the user stream is stalled; exits match the venue within an interval."""
    # Unprotected for at most: the stall, one reconcile interval, its confirmation, slack.
    async with rig(tmp_path, seed=seed, extra=FAST_RECONCILE, grace_s=STALL_S + 20) as r:
        await r.ladder()
        await r.hold("LONG")
        trades = len(r.sim.engine.trades)
        r.sim.stall_streams(STALL_S, kind="user", mode=mode)
        r.sim.scenario("crash", pct=-6, seconds=30)
        await r.until(lambda: r.sim.director.idle, "crash over")
        assert len(r.sim.engine.trades) > trades, "no fill during the stall"
        if mode == "drop":
            assert r.sim.hub.dropped["user"] > 0
        await r.settled()
        await r.daemon_agrees()
        r.assert_invariants()
        if mode == "drop":
            repairs = ("reconcile.replayed", "reconcile.repaired", "reconcile.mass_status")
            assert any(r.events(name) for name in repairs)


@pytest.mark.parametrize("seed", SEEDS)
async def test_429_storm_during_double_flatten(tmp_path: Path, seed: int) -> None:
    """Two flattens at once while order requests get 429: closes never exceed the legs."""
    async with rig(tmp_path, seed=seed) as r:
        await r.ladder()
        await r.hold("LONG")
        await r.hold("SHORT")
        r.sim.fail_next_requests(12, status=429, path_prefix="/fapi/v1/order")
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(r.ctl, "flatten", {"side": "both"})

        def flat() -> bool:
            book = venue_book(r.sim)
            return all(book[s]["pos"] == 0 for s in ("LONG", "SHORT"))

        await r.until(flat, "both legs flat at the venue")
        assert r.monitor.closing_orders(), "no closing order reached the venue"
        assert r.sim.order_rejections.get(-2022, 0) == 0, dict(r.sim.order_rejections)
        status = await r.ctl("status")
        assert status["state"] == "PAUSED"
        r.assert_invariants()
        # A flatten's pause holds until the operator resumes; then the grid trades again.
        await r.ctl("resume")

        async def running() -> bool:
            return (await r.ctl("status"))["state"] == "RUNNING"

        await r.until(running, "running again after resume")
        await r.ladder()


@pytest.mark.parametrize("seed", SEEDS)
async def test_exchange_restart_mid_trend(tmp_path: Path, seed: int) -> None:
    """The venue restarts during a bleed: streams come back and trading goes on, same PID."""
    async with rig(tmp_path, seed=seed, extra=FAST_RECONCILE, grace_s=30) as r:
        await r.ladder()
        await r.hold("LONG")
        pid = r.daemon.proc.pid
        r.sim.scenario("bleed", pct=-3, minutes=10)
        await r.until(lambda: len(r.sim.engine.trades) > 0, "trading")
        await r.sim.restart(5.0)
        back_at = time.time() + 5.0

        def streams_back() -> bool:
            return r.sim.hub.user_connections > 0 and r.sim.hub.market_connections > 0

        await r.until(streams_back, "user and market streams re-established")
        await r.until(
            lambda: any(q.at > back_at for q in r.sim.order_requests()),
            "orders sent after the venue came back",
        )
        await r.settled()
        await r.daemon_agrees()
        assert r.daemon.proc.poll() is None
        assert r.daemon.proc.pid == pid
        r.assert_invariants()


@pytest.mark.parametrize("seed", SEEDS)
async def test_hedge_mode_switched_off_mid_run(tmp_path: Path, seed: int) -> None:
    """Hedge mode lost: entries paused with a reason, no -4061 storm; back on: trading resumes."""
    async with rig(tmp_path, seed=seed, extra=FAST_RECONCILE) as r:
        await r.ladder()
        await r.hold("LONG")
        r.sim.set_hedge_mode(False)
        r.sim.scenario("crash", pct=-3, seconds=20)

        async def paused_for_hedge_mode() -> bool:
            status = await r.ctl("status")
            return "hedge_mode_lost" in status["pause_reasons"]

        await r.until(paused_for_hedge_mode, "entries paused: hedge_mode_lost")
        await r.until(lambda: r.sim.director.idle, "crash over")
        refused = r.sim.order_rejections.get(-4061, 0)
        print(f"-4061 refusals while hedge mode was off: {refused}")
        assert refused <= 30, dict(r.sim.order_rejections)
        assert r.events("venue.hedge_mode_lost")
        r.sim.set_hedge_mode(True)

        async def resumed() -> bool:
            status = await r.ctl("status")
            return "hedge_mode_lost" not in status["pause_reasons"]

        await r.until(resumed, "hedge_mode_lost pause lifted")
        assert r.events("venue.hedge_mode_restored")
        await r.settled()
        await r.daemon_agrees()
        r.assert_invariants()
