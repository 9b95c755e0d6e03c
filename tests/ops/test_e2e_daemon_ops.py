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
import anyio.abc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.ops.helpers import until
from tests.supervisor.daemon_harness import sim_config_toml

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]

# The ops tests' daemon: a fast kill switch with a tight notional limit.
OPS = {
    "warmup": {"history_bars": 60},
    "killswitch": {
        "check_interval_s": 0.2,
        "max_position_notional": "150",
        "flatten_poll_interval_s": 0.02,
    },
}


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


class Daemon:
    """One ``hedgegridd`` child process (sim mode) with its JSON log."""

    def __init__(self, tmp_path: Path, config: Path, tag: str) -> None:
        self.log = tmp_path / f"daemon-{tag}.log"
        self.config = config
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("HEDGEGRID_", "BINANCE_", "NOTIFY_", "WATCHDOG_"))
        }
        self.env.update(
            STATE_DIRECTORY=str(tmp_path / "state"),
            RUNTIME_DIRECTORY=str(tmp_path / "run"),
            PYTHONPATH=str(REPO),
            WATCHDOG_USEC="1000000",  # pings every 0.5 s (no NOTIFY_SOCKET: counted only)
        )
        self.proc: anyio.abc.Process | None = None

    async def start(self) -> None:
        cmd = [sys.executable, "-m", "hedgegridd.supervisor.cli", "--config", str(self.config)]
        with self.log.open("wb") as out:
            self.proc = await anyio.open_process(
                [*cmd, "--log-format", "json"], cwd=REPO, env=self.env, stdout=out, stderr=out
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def metrics_url(self) -> str:
        await until(lambda: not self.alive() or first(self.log, "systemd.ready") is not None, 120)
        assert self.alive(), self.log.read_text()[-3000:]
        started = first(self.log, "metrics.started")
        assert started is not None
        return f"http://127.0.0.1:{started['port']}/metrics"

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        with anyio.move_on_after(60):
            await self.proc.wait()
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def latch_rows(tmp_path: Path) -> list[tuple[str]]:
    db = sqlite3.connect(tmp_path / "state" / "hedgegridd.db")
    try:
        return db.execute("SELECT reason FROM killswitch_latch").fetchall()
    finally:
        db.close()


async def test_daemon_kill_switch_fires_latches_and_only_ctl_reset_clears(tmp_path: Path) -> None:
    """Notional breach: closes sent, flat verified, latch kept over a restart until ctl reset."""
    (tmp_path / "state").mkdir()
    (tmp_path / "run").mkdir()
    price = Decimal(60000)
    bars = [SimBar(price, price, price, price) for _ in range(20000)]
    sock = tmp_path / "run" / "control.sock"
    async with SimExchange(SimConfig(speed=120), bars=bars) as sim:
        config = sim_config_toml(sim, tmp_path, **OPS)

        def entries() -> list[object]:
            return [o for o in sim.engine.open_orders() if o.side == "BUY"]

        first_run = Daemon(tmp_path, config, "1")
        await first_run.start()
        try:
            url = await first_run.metrics_url()
            await until(lambda: not first_run.alive() or bool(entries()), 120)
            before = await scrape(url)
            assert before[("hedgegridd_strategy_up", ())] == 1
            assert before[("hedgegridd_killswitch_latched", ())] == 0
            assert before[("hedgegridd_open_orders", (("kind", "entry"), ("side", "LONG")))] > 0
            # Streams on Binance's routed paths, as production: market data and user stream.
            assert sim.hub.route_connects["market"] >= 1
            assert sim.hub.route_connects["private"] >= 1
            assert sim.hub.route_connects["legacy"] == 0

            level1 = max(o.price for o in sim.engine.open_orders() if o.side == "BUY")
            await sim.jump_price(to=level1 - Decimal(50))  # fills LONG entries: notional > 150
            await until(lambda: first(first_run.log, "flatten.flat_verified") is not None, 60)
            assert sim.engine.trades  # entries and closes really traded at the venue
            posted = sim.seen("/fapi/v1/order", "POST")
            closes = [r.params for r in posted if r.params.get("type") == "MARKET"]
            assert closes
            assert all(p["side"] == "SELL" and p["positionSide"] == "LONG" for p in closes)
            assert all(pos.amt == 0 for pos in sim.engine.positions.values())
            after = await scrape(url)
            assert after[("hedgegridd_killswitch_latched", ())] == 1
            assert after[("hedgegridd_killswitch_fired_total", ())] == 1
            assert after[("hedgegridd_trading_state", (("state", "HALTED"),))] == 1
            assert after[("hedgegridd_watchdog_pings_total", ())] > 0
        finally:
            await first_run.stop()
        fired = first(first_run.log, "killswitch.fired")
        assert fired is not None
        assert fired["reason"] == "limit:position_notional"
        assert latch_rows(tmp_path) == [("limit:position_notional",)]
        assert entries() == []  # stop policy cancelled the entries

        second_run = Daemon(tmp_path, config, "2")
        await second_run.start()
        try:
            url = await second_run.metrics_url()
            restored = await scrape(url)
            assert restored[("hedgegridd_killswitch_latched", ())] == 1
            assert restored[("hedgegridd_trading_state", (("state", "HALTED"),))] == 1
            # Bars keep arriving while latched: a running grid would ladder on any of them.
            bars_seen = restored[("hedgegridd_bars_total", ())]
            latest = dict(restored)
            laddered: list[bool] = []

            async def poll() -> None:
                while True:
                    latest.update(await scrape(url))
                    await anyio.sleep(0.5)

            def three_more_bars() -> bool:
                if entries():
                    laddered.append(True)
                return latest[("hedgegridd_bars_total", ())] >= bars_seen + 3

            async with anyio.create_task_group() as tg:
                tg.start_soon(poll)
                await until(three_more_bars, 120)
                tg.cancel_scope.cancel()
            assert laddered == []
            assert entries() == []
            assert latest[("hedgegridd_killswitch_latched", ())] == 1
            assert latest[("hedgegridd_trading_state", (("state", "HALTED"),))] == 1
            ctl = await anyio.run_process(
                [
                    sys.executable,
                    "-m",
                    "hedgegridd.control.cli",
                    "--socket",
                    str(sock),
                    "--json",
                    "killswitch",
                    "reset",
                ],
                env=second_run.env,
                check=False,
            )
            assert ctl.returncode == 0, ctl.stdout.decode() + ctl.stderr.decode()
            cleared = await scrape(url)
            assert cleared[("hedgegridd_killswitch_latched", ())] == 0
            assert cleared[("hedgegridd_trading_state", (("state", "HALTED"),))] == 0
        finally:
            await second_run.stop()
    assert latch_rows(tmp_path) == []
