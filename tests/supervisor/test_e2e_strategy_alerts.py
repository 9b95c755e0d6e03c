"""End-to-end: the real strategy's incidents reach the operator's alert channel."""

from __future__ import annotations

import signal
import time
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.ops.fake_services import FakeSlack

from .daemon_harness import DaemonProcess, sim_config_toml, start_daemon

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

ALERTS = """
[alerts]
instance = "e2e"
[alerts.slack]
min_severity = "info"
"""


async def _until(daemon: DaemonProcess, check: object, what: str, deadline_s: float = 120) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        daemon.notify.drain()
        if check():  # type: ignore[operator]
            return
        if daemon.proc.poll() is not None:
            raise AssertionError(f"daemon exited waiting for {what}:\n{daemon.log_text()[-4000:]}")
        await anyio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{daemon.log_text()[-4000:]}")


async def test_circuit_breaker_of_the_strategy_is_alerted_on_slack(tmp_path: Path) -> None:
    """Entry rejections trip the strategy's circuit breaker; the alert reaches Slack."""
    p = Decimal("60000")
    async with (
        FakeSlack() as slack,
        SimExchange(SimConfig(speed=600), bars=[SimBar(p, p, p, p)] * 100_000) as sim,
    ):
        config = sim_config_toml(sim, tmp_path, extra=ALERTS)
        sim.reject_next_orders(40)  # the venue refuses the first ladder (margin)
        daemon = start_daemon(
            config,
            tmp_path,
            factory=None,
            watchdog_usec=None,
            env={"SLACK_WEBHOOK_URL": slack.webhook_url},
        )
        try:
            await daemon.wait_lines(lambda ls: "READY=1" in ls, deadline_s=180)
            await _until(
                daemon,
                lambda: any("hedgegridd started" in r["text"] for r in slack.requests),
                "startup alert on Slack",
            )
            await _until(daemon, lambda: len(sim.seen("/fapi/v1/order")) >= 5, "entries sent")

            def breaker_alerted() -> bool:
                return any("circuit breaker" in r["text"] for r in slack.requests)

            await _until(daemon, breaker_alerted, "circuit breaker alert on Slack")
            assert slack.problems == []
            events = [e["event"] for e in daemon.events()]
            assert "risk.breaker_tripped" in events
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait_exit(60) == 0
            assert any("hedgegridd stopping" in r["text"] for r in slack.requests)
        finally:
            daemon.stop_now()
