"""End to end: the real hedgegridd (sim mode) scraped over HTTP, then its kill switch fires."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp
import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.ops.helpers import until

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]

CONFIG = """
mode = "sim"
[venue]
base_url_http = "{http}"
base_url_ws = "{ws}"
[warmup]
total_deadline_s = 30
history_bars = 60
max_clock_skew_ms = 5000
[lifecycle]
ready_timeout_s = 60
stop_deadline_s = 20
[watchdog]
max_data_age_s = 60
[killswitch]
enabled = true
check_interval_s = 0.2
max_position_notional = "150"
flatten_poll_interval_s = 0.02
[metrics]
port = 0
[control]
socket_path = "{sock}"
systemd_socket = false
"""


def events(log: Path) -> list[dict[str, object]]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def first(log: Path, name: str) -> dict[str, object] | None:
    return next((e for e in events(log) if e.get("event") == name), None)


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        text = await resp.text()
    promtool = shutil.which("promtool")
    if promtool is not None:
        check = await anyio.run_process(
            [promtool, "check", "metrics"], input=text.encode(), check=False
        )
        assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


async def test_daemon_metrics_and_kill_switch_against_the_simulator(tmp_path: Path) -> None:
    """Entries fill past the notional limit: closes reach the sim, flat verified, latch stored."""
    (tmp_path / "state").mkdir()
    (tmp_path / "run").mkdir()
    price = Decimal(60000)
    bars = [SimBar(price, price, price, price) for _ in range(20000)]
    async with SimExchange(SimConfig(speed=120), bars=bars) as sim:
        config = tmp_path / "hedgegridd.toml"
        config.write_text(
            CONFIG.format(
                http=sim.base_url_http, ws=sim.base_url_ws, sock=tmp_path / "run" / "control.sock"
            )
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("HEDGEGRID_", "BINANCE_", "NOTIFY_", "WATCHDOG_"))
        }
        env.update(
            STATE_DIRECTORY=str(tmp_path / "state"),
            RUNTIME_DIRECTORY=str(tmp_path / "run"),
            PYTHONPATH=str(REPO),
        )
        log = tmp_path / "daemon.log"
        cmd = [sys.executable, "-m", "hedgegridd.supervisor.cli", "--config", str(config)]
        with log.open("wb") as out:
            proc = await anyio.open_process(
                [*cmd, "--log-format", "json"], cwd=REPO, env=env, stdout=out, stderr=out
            )
        try:
            await until(
                lambda: proc.returncode is not None
                or any(o.side == "BUY" for o in sim.engine.open_orders()),
                deadline_s=120,
            )
            assert proc.returncode is None, log.read_text()[-3000:]
            started = first(log, "metrics.started")
            assert started is not None
            url = f"http://127.0.0.1:{started['port']}/metrics"
            before = await scrape(url)
            assert before[("hedgegridd_strategy_up", ())] == 1
            assert before[("hedgegridd_killswitch_latched", ())] == 0
            assert before[("hedgegridd_open_orders", (("kind", "entry"), ("side", "LONG")))] > 0

            level1 = max(o.price for o in sim.engine.open_orders() if o.side == "BUY")
            await sim.jump_price(to=level1 - Decimal(50))  # fills LONG entries: notional > 150
            await until(lambda: first(log, "killswitch.flat_verified") is not None, 60)
            assert sim.engine.trades  # entries and closes really traded at the venue
            closes = [
                r.params
                for r in sim.seen("/fapi/v1/order", "POST")
                if r.params.get("type") == "MARKET"
            ]
            assert closes
            assert all(p["side"] == "SELL" and p["positionSide"] == "LONG" for p in closes)
            assert all(pos.amt == 0 for pos in sim.engine.positions.values())
            after = await scrape(url)
            assert after[("hedgegridd_killswitch_latched", ())] == 1
            assert after[("hedgegridd_killswitch_fired_total", ())] == 1
            assert after[("hedgegridd_trading_state", (("state", "HALTED"),))] == 1
        finally:
            if proc.returncode is None:
                proc.terminate()
                with anyio.move_on_after(60):
                    await proc.wait()
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    fired = first(log, "killswitch.fired")
    assert fired is not None
    assert fired["reason"] == "limit:position_notional"
    db = sqlite3.connect(tmp_path / "state" / "hedgegridd.db")
    try:
        latch = db.execute("SELECT reason FROM killswitch_latch").fetchall()
    finally:
        db.close()
    assert latch == [("limit:position_notional",)]
