"""End to end: the real daemon's fills reach Slack as notifications (sim mode)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from hedgegridd.sim import SimConfig, SimExchange
from tests.ops.fake_services import FakeSlack
from tests.supervisor.daemon_harness import sim_config_toml, start_daemon

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

CONFIG = """
[alerts]
instance = "e2e-notify"
rate_limit_count = 1000
[alerts.slack]
min_severity = "info"
[notify]
enabled = true
fills = "each"
"""

FILL = re.compile(r"fill: (BUY|SELL) [0-9.]+ (LONG|SHORT) @ [0-9.]+ \((entry|tp|sl|flatten)\)")


@pytest.fixture
def anyio_backend() -> str:
    """The daemon harness runs the simulator on asyncio."""
    return "asyncio"


async def test_fills_of_the_real_strategy_are_notified_on_slack(tmp_path: Path) -> None:
    """Fills on the simulator come back as 'fill:' messages naming side, kind and price."""
    async with FakeSlack() as slack, SimExchange(SimConfig(speed=600, seed=3)) as sim:
        config = sim_config_toml(sim, tmp_path, extra=CONFIG)
        daemon = start_daemon(
            config,
            tmp_path,
            factory=None,
            watchdog_usec=None,
            env={"SLACK_WEBHOOK_URL": slack.webhook_url},
        )
        try:
            await daemon.wait_lines(lambda ls: "READY=1" in ls, deadline_s=180)
            await daemon.until(lambda: len(sim.engine.trades) >= 1, "a fill on the simulator")

            def notified() -> list[str]:
                return [r["text"] for r in slack.requests if FILL.search(r["text"])]

            await daemon.until(notified, "a fill notification on Slack", deadline_s=240)
            assert "e2e-notify" in notified()[0]
            events = [e["event"] for e in daemon.events()]
            assert "notify.started" in events
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait_exit(60) == 0
            assert slack.problems == []
        finally:
            daemon.stop_now()
