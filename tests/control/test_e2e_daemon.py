"""End to end: hedgegridctl and ControlClient against the real hedgegridd trading in sim mode."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from hedgegridd.control.client import ControlClient
from hedgegridd.control.protocol import ErrorCode
from hedgegridd.errors import ControlError
from hedgegridd.sim import SimConfig, SimExchange
from tests.supervisor.daemon_harness import sim_config_toml, start_daemon

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


async def _call(sock: Path, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    async with await ControlClient.connect(sock) as client:
        return await client.call_raw(command, args)


def _journal(state_dir: Path) -> list[tuple[str, str, dict[str, Any]]]:
    conn = sqlite3.connect(state_dir / "hedgegridd.db")
    try:
        rows = conn.execute("SELECT kind, actor, details FROM journal ORDER BY id").fetchall()
    finally:
        conn.close()
    return [(kind, actor, json.loads(details)) for kind, actor, details in rows]


async def _ctl(*argv: str) -> tuple[int, str]:
    cmd = [sys.executable, "-m", "hedgegridd.control.cli", "--json", *argv]
    done = await anyio.run_process(cmd, check=False, cwd=Path(__file__).resolve().parents[2])
    return done.returncode, done.stdout.decode()


async def test_ctl_steers_the_trading_daemon(tmp_path: Path) -> None:
    """While the real strategy trades: status, pause/resume, throttle, journal, flatten, stop."""
    async with SimExchange(SimConfig(speed=300)) as sim:
        config = sim_config_toml(sim, tmp_path)
        daemon = start_daemon(config, tmp_path, factory=None, watchdog_usec=None)
        sock = tmp_path / "run" / "control.sock"
        try:
            await daemon.wait_lines(lambda ls: "READY=1" in ls, deadline_s=240)

            async def filled() -> Any:
                status = await _call(sock, "status")
                return status if status["fills"] > 0 else None

            status = await daemon.until(filled, "first fills")
            assert status["fills"] > 0
            assert len(sim.engine.trades) > 0
            assert status["mode"] == "sim"
            assert status["state"] == "RUNNING"

            code, out = await _ctl("--socket", str(sock), "orders")
            assert code == 0
            assert json.loads(out)["orders"]

            paused = await _call(sock, "pause", {"reason": "operator"})
            assert paused["state"] == "PAUSED"
            assert (await _call(sock, "status"))["pause_reasons"] == ["operator"]
            code, out = await _ctl("--socket", str(sock), "resume")
            assert code == 0
            assert json.loads(out)["state"] == "RUNNING"
            throttled = await _call(sock, "throttle", {"value": "0.5"})
            assert throttled["throttle"] == "0.5"
            # Default rungs (0.003 BTC) halved fall under the 100 USDT minimum notional.
            assert throttled["entry_rungs"] == {"LONG": 0, "SHORT": 0}
            assert throttled["empty_sides"]  # each side that trades at 1 is named
            assert set(throttled["empty_sides"]) <= {"LONG", "SHORT"}
            assert all("0.5" < need <= "1" for need in throttled["empty_sides"].values())
            assert (await _call(sock, "status"))["throttle"] == "0.5"

            with pytest.raises(ControlError) as not_latched:
                await _call(sock, "killswitch.reset")
            assert not_latched.value.code == ErrorCode.REFUSED_BY_STATE
            code, _ = await _ctl("--socket", str(sock), "throttle", "7")
            assert code == 2

            flat = await _call(sock, "flatten", {"side": "both"})
            assert set(flat["sides"]) == {"LONG", "SHORT"}
            assert flat["verified"] is True
            assert flat["attempts"] >= 1

            async def flat_now() -> bool:
                pos = await _call(sock, "positions")
                return pos["long"]["quantity"] == "0" and pos["short"]["quantity"] == "0"

            await daemon.until(flat_now, "flat after flatten", deadline_s=120)

            entries = await anyio.to_thread.run_sync(_journal, tmp_path / "state")
            control = [
                (d["command"], d["outcome"], a, d) for k, a, d in entries if k == "control.command"
            ]
            assert [c[:2] for c in control] == [
                ("pause", "ok"),
                ("resume", "ok"),
                ("throttle", "ok"),
                ("killswitch.reset", "refused_by_state"),
                ("flatten", "ok"),
            ]
            assert control[0][2] == f"uid={os.getuid()} pid={os.getpid()}"
            assert control[1][3]["pid"] != os.getpid()  # the hedgegridctl subprocess
            assert all(c[3]["uid"] == os.getuid() for c in control)
            # flatten went through the kill switch's pause/close/verify path
            kinds = [k for k, _, _ in entries]
            assert "flatten.requested" in kinds
            assert "flatten.verified" in kinds

            daemon.signal(signal.SIGTERM)
            assert await daemon.wait_exit(60) == 0
            assert not sock.exists()
            stopped = next(e for e in daemon.events() if e["event"] == "strategy.stopped")
            assert stopped["positions"] == {}  # flat: nothing left for Nautilus to call Residual
            assert "stop.residual_unexpected" not in [e["event"] for e in daemon.events()]
        finally:
            daemon.stop_now()
