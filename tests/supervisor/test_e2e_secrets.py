"""End to end: configured secrets never reach logs, socket replies or metrics."""

from __future__ import annotations

import json
import signal
from decimal import Decimal
from pathlib import Path

import aiohttp
import anyio
import pytest

from hedgegridd.control.client import ControlClient
from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.ops.fake_services import FakeSlack
from tests.supervisor.daemon_harness import sim_config_toml, start_daemon

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

API_KEY = "KEYzq7Rw1sTx9Lm2Np4Qv6Jb8Hc0Fd3Ge5"
API_SECRET = "SECzq7Rw1sTx9Lm2Np4Qv6Jb8Hc0Fd3Ge5Yk"
TG_TOKEN = "123456789:TOKzq7Rw1sTx9Lm2Np4Qv6Jb8Hc0Fd3Ge5"
# The shared core of the keys and token above, and the secret path of the fake Slack webhook.
SECRET_PARTS = ("zq7Rw1sTx9Lm2Np4Qv6Jb8Hc0Fd3Ge5", "XXXXsecretXXXX")


async def test_secrets_absent_from_logs_replies_and_metrics(tmp_path: Path) -> None:
    """With real-looking keys, webhook and token configured (DEBUG logs), none leaks anywhere."""
    p = Decimal("60000")
    sim_cfg = SimConfig(speed=600, api_key=API_KEY, api_secret=API_SECRET)
    async with (
        FakeSlack() as slack,
        SimExchange(sim_cfg, bars=[SimBar(p, p + 30, p - 30, p)] * 100_000) as sim,
    ):
        config = sim_config_toml(
            sim,
            tmp_path,
            extra='[logging]\nlevel = "DEBUG"\nnautilus_level = "DEBUG"\n'
            '[alerts.slack]\nmin_severity = "info"\n'
            '[alerts.telegram]\nchat_id = "-100123"\nmin_severity = "info"\n',
        )
        daemon = start_daemon(
            config,
            tmp_path,
            factory=None,
            watchdog_usec=None,
            env={
                "BINANCE_API_KEY": API_KEY,
                "BINANCE_API_SECRET": API_SECRET,
                "SLACK_WEBHOOK_URL": slack.webhook_url,
                "TELEGRAM_BOT_TOKEN": TG_TOKEN,
            },
        )
        try:
            await daemon.wait_lines(lambda ls: "READY=1" in ls, deadline_s=180)
            with anyio.fail_after(120):
                while not sim.seen("/fapi/v1/order", "POST"):  # noqa: ASYNC110 (polls the sim)
                    await anyio.sleep(0.1)
            assert sim.seen("/fapi/v1/order", "POST")  # it really traded with the key
            replies = []
            async with await ControlClient.connect(tmp_path / "run" / "control.sock") as client:
                for command in ("status", "positions", "orders", "version", "killswitch.status"):
                    result = await client.call(command)
                    replies.append(json.dumps(result.model_dump(mode="json")))
            started = next(e for e in daemon.events() if e.get("event") == "metrics.started")
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{started['port']}/metrics") as resp,
            ):
                metrics = await resp.text()
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait_exit(60) == 0
        finally:
            daemon.stop_now()
        assert any("hedgegridd started" in r["text"] for r in slack.requests)
    surfaces = {"log": daemon.log_text(), "replies": "\n".join(replies), "metrics": metrics}
    assert len(surfaces["log"]) > 10_000  # DEBUG logging of a trading run
    for name, text in surfaces.items():
        for part in SECRET_PARTS:
            assert part not in text, f"secret material in {name}"
