"""End-to-end: the real strategy's incidents reach the operator's alert channel."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path

import pytest

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.ops.fake_services import FakeSlack

from .daemon_harness import sim_config_toml, start_daemon

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

ALERTS = """
[alerts]
instance = "e2e"
[alerts.slack]
min_severity = "info"
"""


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
            await daemon.until(
                lambda: any("hedgegridd started" in r["text"] for r in slack.requests),
                "startup alert on Slack",
            )
            await daemon.until(lambda: len(sim.seen("/fapi/v1/order")) >= 5, "entries sent")

            def breaker_alerted() -> bool:
                return any("circuit breaker" in r["text"] for r in slack.requests)

            await daemon.until(breaker_alerted, "circuit breaker alert on Slack")
            assert slack.problems == []
            events = [e["event"] for e in daemon.events()]
            assert "risk.breaker_tripped" in events
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait_exit(60) == 0
            assert any("hedgegridd stopping" in r["text"] for r in slack.requests)
        finally:
            daemon.stop_now()
