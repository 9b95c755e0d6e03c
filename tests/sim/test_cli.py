"""``hedgegrid sim`` as a standalone process replaying synthetic data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hedgegridd.tools_cli import build_parser


def test_sim_subcommand_is_registered() -> None:
    """The ``hedgegrid`` parser has a ``sim`` tool with a handler."""
    args = build_parser().parse_args(["sim", "--port", "0", "--speed", "600", "--seed", "3"])
    assert args.speed == 600
    assert args.seed == 3
    assert callable(args.handler)


def test_invalid_speed_is_reported_with_field_name(capsys: pytest.CaptureFixture[str]) -> None:
    """A speed of 0 is refused before anything binds, naming the field."""
    args = build_parser().parse_args(["sim", "--speed", "0"])
    assert args.handler(args) == 2
    assert "speed" in capsys.readouterr().err


@pytest.mark.slow
def test_standalone_sim_serves_and_stops_on_sigterm() -> None:
    """The process prints its URLs, serves both --symbols from synthetic bars, exits 0 on
    SIGTERM."""
    env = {**os.environ, "HEDGEGRID_SIM_API_SECRET": "cli-secret"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hedgegridd.tools_cli",
            "sim",
            "--port",
            "0",
            "--speed",
            "600",
            "--minutes",
            "120",
            "--seed",
            "5",
            "--symbols",
            "BTCUSDT,ETHUSDT",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        urls: dict[str, str] = {}
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while len(urls) < 3 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "=" in line and line.startswith("base_url"):
                key, _, value = line.strip().partition("=")
                urls[key] = value
        assert urls["base_url_http"].startswith("http://127.0.0.1:")
        assert urls["base_url_ws"].startswith("ws://127.0.0.1:")
        with urllib.request.urlopen(urls["base_url_http"] + "/fapi/v1/exchangeInfo") as resp:
            listed = [s["symbol"] for s in json.load(resp)["symbols"]]
        assert listed == ["BTCUSDT", "ETHUSDT"]
        state: dict[str, object] = {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen(urls["base_url_http"] + "/_sim/state") as resp:
                state = json.load(resp)
            if int(str(state["bar_index"])) >= 2:
                break
            time.sleep(0.1)
        assert int(str(state["bar_index"])) >= 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        out = proc.stdout.read() + (proc.stderr.read() if proc.stderr else "")
        assert "cli-secret" not in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_missing_catalog_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A catalog path that does not exist exits 2 with a message naming it."""
    missing = f"{tmp_path}/no-such-catalog"
    args = build_parser().parse_args(["sim", "--catalog", missing])
    assert args.handler(args) == 2
    assert "no-such-catalog" in capsys.readouterr().err


def test_unknown_symbol_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """--symbols with an instrument the sim does not have exits 2 naming the symbol."""
    args = build_parser().parse_args(["sim", "--symbols", "BTCUSDT,DOGEUSDT"])
    assert args.handler(args) == 2
    assert "DOGEUSDT" in capsys.readouterr().err


def test_duplicate_symbol_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """A symbol listed twice (in any case) is refused, naming it."""
    args = build_parser().parse_args(["sim", "--symbols", "ETHUSDT,ethusdt"])
    assert args.handler(args) == 2
    assert "'ETHUSDT' is listed twice" in capsys.readouterr().err
