"""End to end, real daemon and strategy against the simulator: venue truth.

A fill lost on the user stream is repaired by the venue watch within one interval; hedge
mode switched off on the account pauses entries with a critical alert and degraded health
(pings continue), and its return clears both; a venue restart brings the streams back
and trading resumes within seconds, in the same process.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.ops.fake_services import FakeSlack
from tests.ops.test_e2e_daemon_ops import scrape

from .daemon_harness import DaemonProcess, sim_config_toml, start_daemon
from .test_e2e_restart import balanced, entry_keys, venue_book

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

INTERVAL_S = 4.0
RECONCILE = f"""
[reconcile]
interval_s = {INTERVAL_S}
hedge_check_interval_s = 5
stream_grace_s = 2
venue_down_alert_s = 2
[alerts]
instance = "e2e"
[alerts.slack]
min_severity = "info"
"""


def flat(price: str, n: int) -> list[SimBar]:
    p = Decimal(price)
    return [SimBar(p, p, p, p) for _ in range(n)]


async def _long_qty(url: str) -> Decimal:
    """The strategy's confirmed LONG position, as the daemon exports it."""
    metrics = await scrape(url)
    for (name, labels), value in metrics.items():
        if name == "hedgegridd_position_quantity" and ("side", "LONG") in labels:
            return Decimal(str(value))
    raise AssertionError("no hedgegridd_position_quantity for LONG")


async def _pause_reasons(url: str) -> set[str]:
    """Active pause reasons of the strategy, as the daemon exports them."""
    metrics = await scrape(url)
    return {
        dict(labels)["reason"]
        for (name, labels), value in metrics.items()
        if name == "hedgegridd_pause_reason" and value == 1
    }


def _event(daemon: DaemonProcess, name: str) -> list[dict[str, Any]]:
    return [e for e in daemon.events() if e.get("event") == name]


async def _metrics_url(daemon: DaemonProcess) -> str:
    started = await daemon.until(lambda: _event(daemon, "metrics.started"), "metrics started")
    return f"http://127.0.0.1:{started[0]['port']}/metrics"


async def _laddered(daemon: DaemonProcess, sim: SimExchange) -> None:
    await daemon.wait_lines(lambda ls: "READY=1" in ls, deadline_s=180)
    await daemon.until(
        lambda: len([k for k in entry_keys(sim) if k[0] == "LONG"]) >= 3, "entry ladder placed"
    )


async def test_fill_lost_on_the_user_stream_is_repaired_within_an_interval(
    tmp_path: Path,
) -> None:
    """User events dropped during a fill: position and exits match the venue's leg again."""
    async with SimExchange(SimConfig(speed=600), bars=flat("60000", 100_000)) as sim:
        config = sim_config_toml(sim, tmp_path, extra=RECONCILE)
        daemon = start_daemon(config, tmp_path, factory=None, watchdog_usec=None)
        try:
            await _laddered(daemon, sim)
            url = await _metrics_url(daemon)
            sim.stall_streams(3.0, "user")  # events of the next 3 s are lost, not delayed
            await sim.jump_price(to=Decimal("59640"))  # fills the first LONG levels
            await daemon.until(lambda: venue_book(sim)["LONG"]["pos"] > 0, "LONG filled")
            lost_at = time.monotonic()
            assert len(sim.engine.trades) > 0
            # The strategy heard nothing: its LONG is flat and nothing protects the venue's leg.
            assert await _long_qty(url) == 0
            assert venue_book(sim)["LONG"]["tp"] == 0

            async def repaired() -> bool:
                book = venue_book(sim)
                held = await _long_qty(url)
                return book["LONG"]["pos"] > 0 and held == book["LONG"]["pos"] and balanced(sim)

            await daemon.until(repaired, "lost fill repaired: position and exits == venue leg")
            took = time.monotonic() - lost_at
            mismatch = _event(daemon, "reconcile.mismatch")
            assert mismatch, "repaired by the venue watch"
            kinds = {f["kind"] for f in mismatch[0]["findings"]}
            assert "position" in kinds
            await daemon.until(lambda: _event(daemon, "reconcile.repaired"), "repair concluded")
            counted = await scrape(url)
            assert counted[("hedgegridd_reconcile_mismatches_total", ())] >= 1
            if _event(daemon, "reconcile.replayed"):  # per-order repair (else a mass status)
                assert counted[("hedgegridd_reconcile_lookups_total", ())] >= 1
                assert counted[("hedgegridd_reconcile_fills_recovered_total", ())] >= 1
            else:
                assert counted[("hedgegridd_reconcile_mass_status_total", ())] >= 1
            print(f"lost fill repaired {took:.1f}s after the fill (interval {INTERVAL_S}s)")
        finally:
            daemon.stop_now()


async def test_hedge_mode_lost_pauses_alerts_degrades_then_recovers(tmp_path: Path) -> None:
    """Hedge mode off: critical alert, pause, health degraded (pings go on); on: all cleared."""
    async with (
        FakeSlack() as slack,
        SimExchange(SimConfig(speed=600), bars=flat("60000", 100_000)) as sim,
    ):
        assert isinstance(slack, FakeSlack)
        config = sim_config_toml(sim, tmp_path, extra=RECONCILE)
        daemon = start_daemon(
            config, tmp_path, factory=None, env={"SLACK_WEBHOOK_URL": slack.webhook_url}
        )
        try:
            await _laddered(daemon, sim)
            url = await _metrics_url(daemon)
            sim.set_hedge_mode(False)

            async def paused() -> bool:
                return "hedge_mode_lost" in await _pause_reasons(url)

            await daemon.until(paused, "entries paused with hedge_mode_lost")
            await daemon.until(
                lambda: any("hedge mode switched off" in r["text"] for r in slack.requests),
                "critical hedge-mode alert on Slack",
            )
            lost = await scrape(url)
            assert lost[("hedgegridd_health_degraded", ())] == 1
            assert lost[("hedgegridd_health_condition", (("condition", "hedge_mode_lost"),))] == 1
            assert lost[("hedgegridd_venue_hedge_mode", ())] == 0
            pings = daemon.notify.lines().count("WATCHDOG=1")
            await daemon.until(
                lambda: daemon.notify.lines().count("WATCHDOG=1") > pings + 2,
                "watchdog keeps pinging while degraded",
            )

            sim.set_hedge_mode(True)

            async def resumed() -> bool:
                return "hedge_mode_lost" not in await _pause_reasons(url)

            await daemon.until(resumed, "hedge_mode_lost pause lifted")
            await daemon.until(
                lambda: any("hedge mode is back" in r["text"] for r in slack.requests),
                "recovery alert on Slack",
            )
            back = await scrape(url)
            assert back[("hedgegridd_health_condition", (("condition", "hedge_mode_lost"),))] == 0
            assert back[("hedgegridd_venue_hedge_mode", ())] == 1
            assert slack.problems == []
            assert _event(daemon, "venue.hedge_mode_lost")
            assert _event(daemon, "venue.hedge_mode_restored")
        finally:
            daemon.stop_now()


async def test_venue_restart_streams_back_and_trading_resumes_same_process(
    tmp_path: Path,
) -> None:
    """Venue restart (all sockets closed, keys forgotten, 503 for a while): same PID resumes."""
    async with SimExchange(SimConfig(speed=600), bars=flat("60000", 100_000)) as sim:
        config = sim_config_toml(sim, tmp_path, extra=RECONCILE)
        daemon = start_daemon(config, tmp_path, factory=None, watchdog_usec=None)
        try:
            await _laddered(daemon, sim)
            # The whole first ladder rests before the outage: entries still in flight when
            # the venue goes down are refused (-1001) and can trip the circuit breaker.
            placed = int(_event(daemon, "grid.synced")[0]["entries_placed"])
            await daemon.until(lambda: len(entry_keys(sim)) >= placed, "whole ladder resting")
            url = await _metrics_url(daemon)
            pid = daemon.proc.pid
            keys_before = len(sim.seen("/fapi/v1/listenKey", method="POST"))
            down_s = 6.0
            assert await sim.restart(down_s) >= 2  # market and user sockets closed
            up_at = time.monotonic() + down_s
            await daemon.until(lambda: _event(daemon, "venue.unreachable"), "outage noticed")

            def streams_back() -> bool:
                return (
                    time.monotonic() >= up_at
                    and sim.hub.user_connections >= 1
                    and "btcusdt@kline_1m" in sim.hub.subscriptions()
                )

            await daemon.until(streams_back, "user and market streams re-established")
            back_s = time.monotonic() - up_at
            # A new listenKey was made (the old one died with the venue) and the book reconciled.
            assert len(sim.seen("/fapi/v1/listenKey", method="POST")) > keys_before
            await daemon.until(lambda: _event(daemon, "venue.reachable_again"), "venue back")
            await daemon.until(
                lambda: [e for e in _event(daemon, "reconcile.mass_status") if e["applied"]],
                "reconciled after the restart",
            )

            # Trading resumes on the live streams: a fill is heard and protected at once.
            await daemon.until(
                lambda: len([k for k in entry_keys(sim) if k[0] == "LONG"]) >= 3, "ladder resting"
            )
            trades = len(sim.engine.trades)
            await sim.jump_price(to=Decimal("59640"))
            await daemon.until(lambda: len(sim.engine.trades) > trades, "entries filled")

            async def protected() -> bool:
                book = venue_book(sim)
                held = await _long_qty(url)
                return book["LONG"]["pos"] > 0 and held == book["LONG"]["pos"] and balanced(sim)

            await daemon.until(protected, "fill heard and protected after the restart")
            assert daemon.proc.poll() is None  # no process restart
            assert daemon.proc.pid == pid

            async def watch_sees_live() -> bool:
                m = await scrape(url)
                return (
                    m[("hedgegridd_venue_user_stream_up", ())] == 1
                    and m[("hedgegridd_venue_market_streams_up", ())] == 1
                    and m[("hedgegridd_venue_reachable", ())] == 1
                    and m[("hedgegridd_health_degraded", ())] == 0
                )

            await daemon.until(watch_sees_live, "venue watch reports streams live, health clear")
            print(f"streams back {back_s:.1f}s after the venue (down {down_s}s)")
        finally:
            daemon.stop_now()
