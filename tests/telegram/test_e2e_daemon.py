"""End to end: the real hedgegridd (sim mode, real strategy) steered from the fake Bot API."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest

from hedgegridd.control.client import ControlClient
from hedgegridd.sim import SimConfig, SimExchange
from tests.supervisor.daemon_harness import sim_config_toml, start_daemon
from tests.telegram.fakebot import FakeBotApi
from tests.telegram.helpers import ADMIN, READONLY, STRANGER, keyboard_data

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


async def _call(sock: Path, command: str) -> dict[str, Any]:
    async with await ControlClient.connect(sock) as client:
        return await client.call_raw(command, None)


def _journal(state_dir: Path) -> list[tuple[str, str, dict[str, Any]]]:
    conn = sqlite3.connect(state_dir / "hedgegridd.db")
    try:
        rows = conn.execute("SELECT kind, actor, details FROM journal ORDER BY id").fetchall()
    finally:
        conn.close()
    return [(kind, actor, json.loads(details)) for kind, actor, details in rows]


def _field(text: str, name: str) -> str:
    match = re.search(rf"^{name}\s+(\S+)", re.sub(r"<[^>]+>", "", text), re.M)
    assert match, text
    return match.group(1)


async def test_telegram_status_and_confirmed_pause_steer_the_real_daemon(tmp_path: Path) -> None:
    """/status answers with live numbers; /pause + Confirm pauses the grid (seen on the socket)."""
    async with SimExchange(SimConfig(speed=300)) as sim, FakeBotApi() as fake:
        telegram = f"""
[telegram]
enabled = true
admin_chat_ids = [{ADMIN}]
readonly_chat_ids = [{READONLY}]
api_base_url = "{fake.base_url}"
poll_timeout_s = 5
backoff_initial_s = 0.2
backoff_max_s = 1
"""
        config = sim_config_toml(sim, tmp_path, extra=telegram)
        daemon = start_daemon(
            config,
            tmp_path,
            factory=None,
            watchdog_usec=None,
            env={"TELEGRAM_BOT_TOKEN": fake.token},
        )
        sock = tmp_path / "run" / "control.sock"
        try:
            await daemon.wait_lines(lambda ls: "READY=1" in ls, deadline_s=240)

            async def filled() -> Any:
                status = await _call(sock, "status")
                return status if status["fills"] > 0 else None

            await daemon.until(filled, "first fills")
            assert len(sim.engine.trades) > 0

            fake.push_message(STRANGER, "/status")
            fake.push_message(ADMIN, "/status")
            await daemon.until(lambda: fake.sent_to(ADMIN), "/status reply", deadline_s=120)
            status_text = fake.sent_to(ADMIN)[0]["text"]
            assert _field(status_text, "mode") == "sim"
            assert _field(status_text, "state") == "RUNNING"
            assert Decimal(_field(status_text, "last price")) > 0
            assert int(_field(status_text, "fills")) > 0

            fake.push_message(ADMIN, "/pause")
            await daemon.until(lambda: len(fake.sent_to(ADMIN)) >= 2, "confirmation prompt")
            prompt = fake.sent_to(ADMIN)[1]
            confirm, _ = keyboard_data(prompt)
            assert (await _call(sock, "status"))["state"] == "RUNNING"  # not before the tap

            fake.push_callback(ADMIN, confirm, prompt["message_id"])
            await daemon.until(lambda: len(fake.sent_to(ADMIN)) >= 3, "/pause result")
            assert "PAUSED" in fake.sent_to(ADMIN)[2]["text"]
            assert fake.answers[0]["text"].startswith("Confirmed")
            status = await _call(sock, "status")
            assert status["state"] == "PAUSED"
            assert status["pause_reasons"] == ["operator"]

            entries = await anyio.to_thread.run_sync(_journal, tmp_path / "state")
            control = [(a, d) for k, a, d in entries if k == "control.command"]
            assert control == [
                (
                    f"telegram:{ADMIN}",
                    {
                        "command": "pause",
                        "args": {"reason": "operator", "keep_orders": False},
                        "chat_id": ADMIN,
                        "user_id": ADMIN,
                        "outcome": "ok",
                    },
                )
            ]
            assert fake.sent_to(STRANGER) == []
            events = daemon.events()
            unknown = [e for e in events if e.get("event") == "telegram.unknown_chat"]
            assert [e["chat_id"] for e in unknown] == [STRANGER]
            port = next(e["port"] for e in events if e.get("event") == "metrics.started")
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/metrics") as resp,
            ):
                exposition = await resp.text()
            assert (
                'hedgegridd_telegram_unknown_chat_attempts_total{kind="message"} 1.0' in exposition
            )
            assert (
                'hedgegridd_telegram_commands_total{command="pause",outcome="ok"} 1.0' in exposition
            )
            assert fake.token not in exposition

            daemon.signal(signal.SIGTERM)
            assert await daemon.wait_exit(60) == 0
            assert fake.token not in daemon.log_text()
            assert any(e.get("event") == "telegram.stopped" for e in daemon.events())
        finally:
            daemon.stop_now()
