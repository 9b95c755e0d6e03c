"""End to end (real hedgegridd in sim mode): mark/funding streams reach the risk readings,
a flatten interrupted by kill -9 is finished after the restart and its pause kept until
``resume``, and a refused ``reload`` answers the config error naming the key."""

from __future__ import annotations

import json
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.ops.helpers import until
from tests.ops.test_e2e_daemon_ops import Daemon, first, scrape
from tests.supervisor.daemon_harness import sim_config_toml

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

# A fast kill switch with no notional limit in reach: only the tested breach fires.
CRASH = {
    "warmup": {"history_bars": 60},
    "watchdog": {"max_data_age_s": 120},
    "killswitch": {
        "check_interval_s": 0.2,
        "max_position_notional": "1000000",
        "flatten_poll_interval_s": 0.02,
        "flatten_verify_timeout_s": 5,
    },
}


async def ctl(daemon: Daemon, sock: Path, *args: str) -> tuple[int, Any, str]:
    """Run hedgegridctl --json; returns (exit code, parsed stdout or None, stderr)."""
    proc = await anyio.run_process(
        [sys.executable, "-m", "hedgegridd.control.cli", "--socket", str(sock), "--json", *args],
        env=daemon.env,
        check=False,
    )
    out = proc.stdout.decode()
    try:
        parsed = json.loads(out) if out.strip() else None
    except ValueError:
        parsed = None
    return proc.returncode, parsed, out + proc.stderr.decode()


def intent_rows(tmp_path: Path) -> list[tuple[str, int, str | None]]:
    db = sqlite3.connect(tmp_path / "state" / "hedgegridd.db")
    try:
        return db.execute("SELECT side, pending, pause_reason FROM flatten_intent").fetchall()
    finally:
        db.close()


def nautilus_errors(daemon: Daemon) -> list[str]:
    return [
        line for line in daemon.log.read_text(errors="replace").splitlines() if "[ERROR]" in line
    ]


def ranged_bars(n: int) -> list[SimBar]:
    """Bars that move within the minute (high/low 0.5 % away) and close where they opened."""
    p = Decimal(60000)
    return [SimBar(p, p + 300, p - 300, p) for _ in range(n)]


async def test_mark_and_funding_streams_reach_the_readings_between_bars(tmp_path: Path) -> None:
    """No Nautilus ERROR at start; the mark revalues the snapshot intra-bar; funding streams."""
    (tmp_path / "state").mkdir()
    (tmp_path / "run").mkdir()
    async with SimExchange(SimConfig(speed=1), bars=ranged_bars(2000)) as sim:
        config = sim_config_toml(sim, tmp_path, **CRASH)
        daemon = Daemon(tmp_path, config, "m")
        await daemon.start()
        try:
            url = await daemon.metrics_url()
            assert nautilus_errors(daemon) == []  # the mark subscription is accepted
            seen: dict[str, float] = {}

            async def mark_between_bars() -> bool:
                m = await scrape(url)
                mark = m.get(("hedgegridd_mark_price", ()))
                mark_age = m.get(("hedgegridd_mark_age_seconds", ()))
                bar_age = m.get(("hedgegridd_last_bar_age_seconds", ()))
                if mark is None or mark_age is None or bar_age is None:
                    return False
                seen.update(mark=mark, mark_age=mark_age, bar_age=bar_age)
                # Updated after the last bar closed, at a price no bar closes at (60000).
                return mark_age + 1 < bar_age and mark != 60000

            deadline = anyio.current_time() + 240
            while not await mark_between_bars():
                assert anyio.current_time() < deadline, f"no intra-bar mark seen: {seen}"
                assert daemon.alive(), daemon.log.read_text()[-3000:]
                await anyio.sleep(0.5)

            m = await scrape(url)
            assert m[("hedgegridd_funding_rate", ())] == pytest.approx(0.0001)  # warmup's
            sim.funding_rates = [Decimal("0.00123")]  # only the mark stream carries this

            async def funding_streamed() -> bool:
                m = await scrape(url)
                return m.get(("hedgegridd_funding_rate", ())) == pytest.approx(0.00123)

            with anyio.fail_after(120):
                while not await funding_streamed():  # noqa: ASYNC110 - polling the daemon
                    await anyio.sleep(0.5)
            m = await scrape(url)
            assert ("hedgegridd_next_funding_timestamp_seconds", ()) in m
        finally:
            await daemon.stop()
    assert not any("subscribe_data" in line for line in nautilus_errors(daemon))


async def test_kill_9_mid_flatten_is_finished_after_restart_and_stays_paused(
    tmp_path: Path,
) -> None:
    """Closes refused, kill -9 mid-flatten; the restart closes the book and waits for resume."""
    (tmp_path / "state").mkdir()
    (tmp_path / "run").mkdir()
    price = Decimal(60000)
    bars = [SimBar(price, price, price, price) for _ in range(20000)]
    sock = tmp_path / "run" / "control.sock"
    async with SimExchange(SimConfig(speed=120), bars=bars) as sim:
        config = sim_config_toml(sim, tmp_path, **CRASH)

        def entries() -> list[Any]:
            return [o for o in sim.engine.open_orders() if o.side == "BUY"]

        def held() -> bool:
            return any(p.amt != 0 for p in sim.engine.positions.values())

        first_run = Daemon(tmp_path, config, "1")
        await first_run.start()
        flatten_ctl = None
        try:
            await first_run.metrics_url()
            await until(lambda: not first_run.alive() or bool(entries()), 120)
            level1 = max(o.price for o in entries())
            await sim.jump_price(to=level1 - Decimal(50))  # fills LONG entries
            await until(held, 60)
            assert sim.engine.trades  # activity first: entries really filled
            sim.reject_next_orders(100_000)  # every order refused: the flatten cannot finish
            flatten_ctl = await anyio.open_process(
                [
                    sys.executable,
                    "-m",
                    "hedgegridd.control.cli",
                    "--socket",
                    str(sock),
                    "flatten",
                    "both",
                ],
                env=first_run.env,
            )
            await until(lambda: first(first_run.log, "flatten.closing_sent") is not None, 60)
            assert intent_rows(tmp_path) == [("BOTH", 1, "operator_flatten")]
        finally:
            assert first_run.proc is not None
            first_run.proc.kill()  # kill -9 mid-flatten
            await first_run.proc.wait()
            if flatten_ctl is not None:
                flatten_ctl.kill()
                await flatten_ctl.wait()
        assert held()  # the interrupted flatten did not close the book
        sim.faults.clear()

        second_run = Daemon(tmp_path, config, "2")
        await second_run.start()
        try:
            url = await second_run.metrics_url()
            await until(lambda: not second_run.alive() or not held(), 90)
            assert not held(), second_run.log.read_text()[-3000:]
            await until(lambda: first(second_run.log, "flatten.flat_verified") is not None, 60)
            resumed = first(second_run.log, "flatten.resumed")
            assert resumed is not None
            assert str(resumed["actor"]).startswith("restart:")
            await until(lambda: intent_rows(tmp_path) == [("BOTH", 0, "operator_flatten")], 30)
            for _ in range(3):  # several sim bars: a running grid would have laddered again
                m = await scrape(url)
                assert m[("hedgegridd_trading_state", (("state", "PAUSED"),))] == 1
                assert m[("hedgegridd_pause_reason", (("reason", "operator_flatten"),))] == 1
                assert m[("hedgegridd_flatten_pending", ())] == 0
                assert entries() == []
                await anyio.sleep(1.0)

            # A refused reload answers the config error naming the key; nothing changes.
            good = config.read_text()
            config.write_text(good.replace("check_interval_s = 0.2", "check_interval_s = 0"))
            code, _, out = await ctl(second_run, sock, "reload")
            assert code == 78, out
            assert "killswitch.check_interval_s" in out
            assert "config_invalid" in out
            # The start guards of the mode apply too: sim must talk to a loopback venue.
            config.write_text(good.replace(sim.base_url_http, "https://fapi.binance.com"))
            code, _, out = await ctl(second_run, sock, "reload")
            assert code == 78, out
            assert "venue.base_url_http" in out
            config.write_text(good)

            code, state, out = await ctl(second_run, sock, "resume")
            assert code == 0, out
            assert "operator_flatten" not in state["pause_reasons"]
            assert "flatten" not in state["pause_reasons"]
            assert intent_rows(tmp_path) == []
            m = await scrape(url)
            assert ("hedgegridd_pause_reason", (("reason", "operator_flatten"),)) not in m
        finally:
            await second_run.stop()
        assert not any("subscribe_data" in line for line in nautilus_errors(second_run))
