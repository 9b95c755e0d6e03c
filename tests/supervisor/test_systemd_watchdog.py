"""Tests of sd_notify, the health registry, the watchdog and the signal router."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from hedgegridd.supervisor.health import Health
from hedgegridd.supervisor.settings import WatchdogSettings
from hedgegridd.supervisor.signals import SignalRouter
from hedgegridd.supervisor.systemd import Notifier, watchdog_interval_s
from hedgegridd.supervisor.watchdog import Watchdog

from .notify_listener import NotifyListener


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NotifyListener]:
    sock = NotifyListener(tmp_path / "notify.sock")
    yield sock
    sock.close()


def test_notifier_sends_exact_messages(listener: NotifyListener) -> None:
    """READY, STATUS (only on change), RELOADING, STOPPING and WATCHDOG reach the socket."""
    notifier = Notifier({"NOTIFY_SOCKET": str(listener.path)})
    notifier.ready("mode=sim state=RUNNING")
    notifier.status("a")
    notifier.status("a")
    notifier.status("b")
    notifier.reloading()
    notifier.watchdog()
    notifier.stopping()
    lines = listener.lines()
    assert lines[:5] == [
        "READY=1",
        "STATUS=mode=sim state=RUNNING",
        "STATUS=a",
        "STATUS=b",
        "RELOADING=1",
    ]
    assert lines[5].startswith("MONOTONIC_USEC=")
    assert lines[6:] == ["WATCHDOG=1", "STOPPING=1", "STATUS=stopping"]
    notifier.close()


def test_notifier_without_socket_is_noop() -> None:
    """No NOTIFY_SOCKET: nothing is sent and nothing fails."""
    notifier = Notifier({})
    assert notifier.enabled is False
    notifier.ready()
    notifier.watchdog()


def test_watchdog_interval_is_half_of_usec() -> None:
    """WATCHDOG_USEC=30s gives pings every 15 s; a foreign WATCHDOG_PID disables them."""
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert (
        watchdog_interval_s({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}) == 1.0
    )


def test_health_reports_each_failed_bound() -> None:
    """Stale heartbeats, loop lag, disconnected engines and stale data each fail health."""
    now = [100.0]
    health = Health(
        WatchdogSettings(max_heartbeat_age_s=5, max_loop_lag_s=1, max_data_age_s=10), lambda: now[0]
    )
    beat = health.heartbeat_for("killswitch")
    now[0] = 500.0
    assert health.evaluate().ok  # not expected before its first beat
    beat()
    connected = [True]
    data_age: list[float | None] = [1.0]
    health.set_engines_probe(lambda: connected[0])
    health.set_data_age_probe(lambda: data_age[0])
    assert health.evaluate().ok
    now[0] = 506.0
    assert health.evaluate().reasons == ("heartbeat:killswitch=6.0s",)
    beat()
    health.loop_lag_s = 1.5
    connected[0] = False
    data_age[0] = None
    reasons = health.evaluate().reasons
    assert reasons == ("loop_lag=1.500s", "engines_disconnected", "market_data_stale=none")


def test_per_task_heartbeat_bound() -> None:
    """A task registered with a longer bound (alert retries) is not stale at the default bound."""
    now = [0.0]
    health = Health(WatchdogSettings(max_heartbeat_age_s=5), lambda: now[0])
    health.heartbeat_for("alerts", max_age_s=70)()
    health.heartbeat_for("killswitch")()
    now[0] = 60.0
    assert health.evaluate().reasons == ("heartbeat:killswitch=60.0s",)
    now[0] = 71.0
    assert "heartbeat:alerts=71.0s" in health.evaluate().reasons


async def _run_watchdog(health: Health, notifier: Notifier, body: object) -> Watchdog:
    health.mark_ready()
    dog = Watchdog(notifier, health, interval_s=0.1, probe_interval_s=0.02)
    async with anyio.create_task_group() as tg:
        await tg.start(dog.run)
        await body(dog)  # type: ignore[operator]
        tg.cancel_scope.cancel()
    return dog


async def _wait(predicate: object, deadline_s: float = 30.0) -> None:
    with anyio.fail_after(deadline_s):
        while True:
            if predicate():  # type: ignore[operator]
                return
            await anyio.sleep(0.02)


@pytest.mark.asyncio
async def test_no_pings_before_ready(listener: NotifyListener) -> None:
    """The watchdog sends nothing until the daemon is READY."""
    health = Health(WatchdogSettings())
    dog = Watchdog(
        Notifier({"NOTIFY_SOCKET": str(listener.path)}),
        health,
        interval_s=0.05,
        probe_interval_s=0.01,
    )
    async with anyio.create_task_group() as tg:
        await tg.start(dog.run)
        await anyio.sleep(0.3)
        assert dog.pings == 0
        health.mark_ready()
        await _wait(lambda: dog.pings >= 1)
        tg.cancel_scope.cancel()
    assert listener.lines()[0] == "WATCHDOG=1"


@pytest.mark.asyncio
async def test_watchdog_pings_while_healthy(listener: NotifyListener) -> None:
    """With health holding, WATCHDOG=1 is sent repeatedly at the interval."""
    health = Health(WatchdogSettings(max_loop_lag_s=5))
    notifier = Notifier({"NOTIFY_SOCKET": str(listener.path)})

    async def body(dog: Watchdog) -> None:
        await _wait(lambda: dog.pings >= 3)

    await _run_watchdog(health, notifier, body)
    assert listener.lines().count("WATCHDOG=1") >= 3


@pytest.mark.asyncio
async def test_each_ping_is_reported_to_the_metrics_hook(listener: NotifyListener) -> None:
    """Every WATCHDOG=1 sent also calls on_ping (hedgegridd_watchdog_pings_total)."""
    health = Health(WatchdogSettings(max_loop_lag_s=5))
    health.mark_ready()
    counted: list[int] = []
    dog = Watchdog(
        Notifier({"NOTIFY_SOCKET": str(listener.path)}),
        health,
        interval_s=0.05,
        probe_interval_s=0.01,
        on_ping=lambda: counted.append(1),
    )
    async with anyio.create_task_group() as tg:
        await tg.start(dog.run)
        await _wait(lambda: dog.pings >= 3)
        tg.cancel_scope.cancel()
    assert len(counted) == dog.pings


@pytest.mark.asyncio
async def test_blocked_loop_stops_pings(listener: NotifyListener, log_events) -> None:  # type: ignore[no-untyped-def]
    """A loop blocked longer than the lag bound sends no ping for that stall."""
    health = Health(WatchdogSettings(max_loop_lag_s=0.3, max_heartbeat_age_s=600))
    notifier = Notifier({"NOTIFY_SOCKET": str(listener.path)})

    async def body(dog: Watchdog) -> None:
        await _wait(lambda: dog.pings >= 1)
        pings_before = dog.pings
        time.sleep(1.0)  # noqa: ASYNC251 - block the event loop on purpose
        await _wait(
            lambda: any(
                e["event"] == "watchdog.unhealthy_pings_withheld" for e in log_events.entries
            )
        )
        assert dog.pings == pings_before
        await _wait(lambda: dog.pings > pings_before)  # recovers once the loop is responsive

    await _run_watchdog(health, notifier, body)
    withheld = [e for e in log_events.entries if e["event"] == "watchdog.unhealthy_pings_withheld"]
    assert withheld[0]["reasons"][0].startswith("loop_lag=")


@pytest.mark.asyncio
async def test_stale_data_and_dead_task_stop_pings(listener: NotifyListener, log_events) -> None:  # type: ignore[no-untyped-def]
    """A dead feed or a silent task withholds pings and logs why."""
    health = Health(WatchdogSettings(max_data_age_s=1, max_heartbeat_age_s=0.2, max_loop_lag_s=5))
    fresh = [True]
    health.set_data_age_probe(lambda: 0.1 if fresh[0] else 99.0)
    beat = health.heartbeat_for("alerts")
    notifier = Notifier({"NOTIFY_SOCKET": str(listener.path)})

    async def body(dog: Watchdog) -> None:
        for _ in range(3):
            beat()
            await anyio.sleep(0.1)
        fresh[0] = False
        await _wait(
            lambda: any(
                e["event"] == "watchdog.unhealthy_pings_withheld" for e in log_events.entries
            )
        )
        stopped_at = dog.pings
        for _ in range(5):
            beat()
            await anyio.sleep(0.1)
        assert dog.pings == stopped_at

    await _run_watchdog(health, notifier, body)
    withheld = [e for e in log_events.entries if e["event"] == "watchdog.unhealthy_pings_withheld"]
    assert "market_data_stale=99.0s" in withheld[0]["reasons"]


@pytest.mark.asyncio
async def test_signal_router_stop_escalate_reload() -> None:
    """SIGHUP reloads; the first SIGTERM stops; a second SIGINT escalates."""
    calls: list[str] = []
    router = SignalRouter(
        on_stop=lambda s: calls.append(f"stop:{s}"),
        on_escalate=lambda s: calls.append(f"escalate:{s}"),
        on_reload=lambda: calls.append("reload"),
    )
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    async with anyio.create_task_group() as tg:
        await tg.start(router.run)
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            count = len(calls)
            os.kill(os.getpid(), sig)
            await _wait(lambda c=count: len(calls) > c)  # type: ignore[misc]
        await router.take_over()
        count = len(calls)
        os.kill(os.getpid(), signal.SIGHUP)
        await _wait(lambda: len(calls) > count)
        tg.cancel_scope.cancel()
    assert calls == ["reload", "stop:SIGTERM", "escalate:SIGINT", "reload"]
    assert router.installs == 2
    try:  # once closed, a late signal keeps its meaning instead of the default action
        os.kill(os.getpid(), signal.SIGTERM)
        await _wait(lambda: len(calls) == 5)
        assert calls[-1] == "escalate:SIGTERM"
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
