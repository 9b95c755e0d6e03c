"""``hedgegrid demo``: the simulator and the real daemon together, stopped by Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_trades_and_stops_cleanly_on_ctrl_c() -> None:
    """The demo reaches READY, places orders, prints ctl commands and exits 0 on SIGINT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEDGEGRID_", "NOTIFY_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hedgegridd.tools_cli", "demo", "--speed", "300"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            trading = any(
                ln.startswith("[status]") and "entries=0/0" not in ln and "mode=sim" in ln
                for ln in seen
            )
            # STATUS= lines are relayed as they come: one may precede the READY banner.
            if trading and any("hedgegridctl --socket" in ln for ln in seen):
                break
        text = "".join(seen)
        assert "hedgegridd is READY" in text
        assert "hedgegridctl --socket" in text
        assert any(ln.startswith("[status]") and "entries=0/0" not in ln for ln in seen)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "hedgegridd exited with code 0" in rest
