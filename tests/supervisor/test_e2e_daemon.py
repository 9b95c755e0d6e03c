"""End-to-end: the real ``hedgegridd`` process in sim mode against the exchange simulator."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import pytest

from hedgegridd.sim import SimBar, SimConfig, SimExchange

from .daemon_harness import DaemonProcess, sim_config_toml, start_daemon

ORDER_PATHS = (
    "/fapi/v1/order",
    "/fapi/v1/batchOrders",
    "/fapi/v1/algoOrder",
    "/fapi/v1/allOpenOrders",
)


def flat(price: str, n: int) -> list[SimBar]:
    """``n`` bars with open=high=low=close=``price``."""
    p = Decimal(price)
    return [SimBar(p, p, p, p) for _ in range(n)]


def drop_path() -> list[SimBar]:
    """Flat at 60000 long enough for the daemon to start and ladder, then 59960 (fills 2 LONG)."""
    return flat("60000", 90) + flat("59960", 20000)


def open_orders(sim: SimExchange) -> list[tuple[str, str, str, Decimal, Decimal]]:
    """(clientId kind, side, positionSide, price, qty) of the simulator's open orders."""
    return [
        (o.client_id[:4], o.side, o.position_side, o.price, o.qty) for o in sim.engine.open_orders()
    ]


async def wait_until(
    daemon: DaemonProcess, condition: object, what: str, deadline_s: float = 120
) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        daemon.notify.drain()  # keep the datagram queue from filling up
        if condition():  # type: ignore[operator]
            return
        if daemon.proc.poll() is not None:
            raise AssertionError(f"daemon exited {daemon.proc.returncode} waiting for {what}")
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{daemon.log_text()[-3000:]}")


async def ladder_then_drop(daemon: DaemonProcess, sim: SimExchange) -> None:
    """Wait for the 2+2 entry ladder at 60000, then for the drop to 59960 to fill both LONGs."""
    await wait_until(
        daemon,
        lambda: len([o for o in open_orders(sim) if o[0] == "mg-E"]) == 4,
        "entry ladder placed",
    )
    await wait_until(daemon, lambda: ladder_placed(sim), "entries filled and exits resting")


def ladder_placed(sim: SimExchange) -> bool:
    """Two LONG entries filled (position 0.004) with their two take-profits resting."""
    tps = [o for o in open_orders(sim) if o[0] == "mg-T"]
    return sim.engine.positions["LONG"].amt == Decimal("0.004") and len(tps) == 2


def journal_kinds(tmp_path: Path) -> list[str]:
    conn = sqlite3.connect(tmp_path / "state" / "hedgegridd.db")
    try:
        return [r[0] for r in conn.execute("SELECT kind FROM journal ORDER BY id")]
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_lifecycle_notify_reload_and_sigterm_stop_policy(tmp_path: Path) -> None:
    """READY after reconciliation, STATUS, WATCHDOG, SIGHUP reload; SIGTERM cancels entries only."""
    async with SimExchange(SimConfig(speed=120), bars=drop_path()) as sim:
        config = sim_config_toml(sim, tmp_path)
        daemon = start_daemon(config, tmp_path, watchdog_usec=1_000_000)
        try:
            lines = await daemon.wait_lines(lambda ls: "READY=1" in ls)
            await ladder_then_drop(daemon, sim)
            # Trading happened through the real adapter before anything else is judged.
            assert len(sim.engine.trades) >= 2
            assert any(o[0] == "mg-E" for o in open_orders(sim))
            ready_at = lines.index("READY=1")
            assert "STATUS=warming up" in lines[:ready_at]
            assert "STATUS=starting node" in lines[:ready_at]
            assert lines[ready_at + 1].startswith("STATUS=mode=sim state=RUNNING")
            events = [e["event"] for e in daemon.events()]
            assert events.index("node.ready") < events.index("systemd.ready")
            lines = await daemon.wait_lines(lambda ls: ls.count("WATCHDOG=1") >= 3)
            assert all(ln != "WATCHDOG=1" for ln in lines[:ready_at])
            await daemon.wait_lines(lambda ls: any("long=0.004" in ln for ln in ls))

            config.write_text(
                config.read_text().replace(
                    "[killswitch]\n", '[killswitch]\nmax_drawdown_pct = "7"\n'
                )
                + "\n[strategy]\nthrottle = 0.5\n"
            )
            daemon.signal(signal.SIGHUP)
            lines = await daemon.wait_lines(lambda ls: "RELOADING=1" in ls)
            reload_at = lines.index("RELOADING=1")
            lines = await daemon.wait_lines(lambda ls: "READY=1" in ls[reload_at:])
            await daemon.wait_lines(lambda ls: any("throttle=0.5" in ln for ln in ls))

            daemon.signal(signal.SIGTERM)
            code = await daemon.wait_exit(60)
            assert code == 0, daemon.log_text()[-3000:]
            assert "STOPPING=1" in daemon.notify.lines()
            remaining = open_orders(sim)
            assert [o for o in remaining if o[0] == "mg-E"] == []  # stop policy: entries cancelled
            tp_qty = sum(o[4] for o in remaining if o[0] == "mg-T" and o[2] == "LONG")
            assert tp_qty == sim.engine.positions["LONG"].amt == Decimal("0.004")
        finally:
            daemon.stop_now()
    kinds = journal_kinds(tmp_path)
    assert kinds[:2] == ["daemon.start", "daemon.ready"]
    assert "reload" in kinds
    assert kinds[-1] == "daemon.stop"
    conn = sqlite3.connect(tmp_path / "state" / "hedgegridd.db")
    try:
        row = conn.execute("SELECT details FROM journal WHERE kind = 'reload'").fetchone()
    finally:
        conn.close()
    applied = json.loads(row[0])["applied"]
    assert set(applied) == {"strategy.throttle", "killswitch.max_drawdown_pct"}


@pytest.mark.slow
@pytest.mark.asyncio
async def test_kill9_restart_then_stale_feed_and_forced_stop(tmp_path: Path) -> None:
    """kill -9 restart adopts orders and state; a stale feed stops pings; 2nd SIGTERM exits 70."""
    async with SimExchange(SimConfig(speed=120), bars=drop_path()) as sim:
        config = sim_config_toml(sim, tmp_path)
        first = start_daemon(config, tmp_path, tag="first")
        try:
            await first.wait_lines(lambda ls: "READY=1" in ls)
            await ladder_then_drop(first, sim)
            assert len(sim.engine.trades) >= 2
            config.write_text(config.read_text() + "\n[strategy]\nthrottle = 0.25\n")
            first.signal(signal.SIGHUP)
            await first.wait_lines(lambda ls: any("throttle=0.25" in ln for ln in ls))
            before = sorted(open_orders(sim))
            first.signal(signal.SIGKILL)
            assert await first.wait_exit(20) == -signal.SIGKILL
        finally:
            first.stop_now()
        config.write_text(config.read_text().replace("throttle = 0.25", "throttle = 1"))
        second = start_daemon(
            config,
            tmp_path,
            tag="second",
            watchdog_usec=1_000_000,
            env={"HEDGEGRID_WATCHDOG__MAX_DATA_AGE_S": "4"},
        )
        try:
            await second.wait_lines(lambda ls: "READY=1" in ls)
            # The persisted operator throttle (0.25) wins over the file's default.
            await second.wait_lines(lambda ls: any("throttle=0.25" in ln for ln in ls))
            await second.wait_lines(lambda ls: any("long=0.004" in ln for ln in ls))
            for count in (3, 6, 9):  # bars pass: the adopted ladder is never duplicated
                await second.wait_lines(lambda ls, n=count: ls.count("WATCHDOG=1") >= n)  # type: ignore[misc]
                assert sorted(open_orders(sim)) == before
            prices = [(o[1], o[2], o[3]) for o in open_orders(sim)]
            assert len(prices) == len(set(prices))
            tp_qty = sum(o[4] for o in open_orders(sim) if o[0] == "mg-T" and o[2] == "LONG")
            assert tp_qty == sim.engine.positions["LONG"].amt

            sim.stall_streams(60, "market")  # a dead feed: health fails, pings stop

            def withheld() -> bool:
                return "watchdog.unhealthy_pings_withheld" in [e["event"] for e in second.events()]

            await wait_until(second, withheld, "pings withheld on stale data")
            pings = second.notify.lines().count("WATCHDOG=1")
            await asyncio.sleep(3)
            assert second.notify.lines().count("WATCHDOG=1") == pings
            event = next(
                e for e in second.events() if e["event"] == "watchdog.unhealthy_pings_withheld"
            )
            assert any(str(r).startswith("market_data_stale") for r in event["reasons"])  # type: ignore[union-attr]

            second.signal(signal.SIGTERM)
            await second.wait_lines(lambda ls: "STOPPING=1" in ls)
            second.signal(signal.SIGTERM)  # escalates: forced exit
            assert await second.wait_exit(30) == 70
            assert "daemon.forced_exit" in [e["event"] for e in second.events()]
        finally:
            second.stop_now()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_paper_never_reaches_an_order_endpoint(tmp_path: Path) -> None:
    """Paper trades in the sandbox on venue data and sends no order or signed request."""
    async with SimExchange(SimConfig(speed=120), bars=flat("60000", 20000)) as sim:
        config = (
            sim_config_toml(sim, tmp_path).read_text().replace('mode = "sim"', 'mode = "paper"')
        )
        path = tmp_path / "paper.toml"
        path.write_text(config)
        daemon = start_daemon(
            path,
            tmp_path,
            env={
                "BINANCE_API_KEY": "real-looking-key-123",
                "BINANCE_API_SECRET": "real-secret-456",
            },
        )
        try:
            await daemon.wait_lines(lambda ls: "READY=1" in ls)
            # The mini grid placed its ladder (in the sandbox): 2 entries per side.
            await daemon.wait_lines(lambda ls: any("entries=2/2" in ln for ln in ls))
            seen = sim.seen()
            assert any(r.path == "/fapi/v1/exchangeInfo" for r in seen)
            assert [r for r in seen if r.path.startswith(ORDER_PATHS)] == []
            assert [r for r in seen if "signature" in r.params or "listenKey" in r.path] == []
            assert "paper.binance_keys_ignored" in [e["event"] for e in daemon.events()]
            assert "real-looking-key-123" not in daemon.log_text()
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait_exit(60) == 0
            assert [r for r in sim.seen() if r.path.startswith(ORDER_PATHS)] == []
        finally:
            daemon.stop_now()
