"""``hedgegrid demo``: the simulator and the real daemon together, stopped by Ctrl-C."""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from hedgegridd import demo
from tests.supervisor.demo_harness import DemoRun, demo_env

_STATUS = re.compile(r"^\S+ \[info\s*\] status mode=sim ")


@pytest.mark.slow
def test_demo_trades_prints_runnable_ctl_commands_and_stops_on_ctrl_c() -> None:
    """The demo reaches READY, trades, its printed ctl command runs as pasted, exit 0 on SIGINT."""
    env = demo_env(PATH="/usr/bin:/bin")  # as a new user's shell: the venv is not on PATH

    def trading(seen: list[str]) -> bool:
        return any(_STATUS.match(ln) and "entries=0/0" not in ln for ln in seen)

    def ctl_printed(seen: list[str]) -> bool:
        return any("--socket" in ln and ln.rstrip().endswith(" status") for ln in seen)

    with DemoRun(["--speed", "300"], env) as run:
        # STATUS= lines are relayed as they come: one may precede the READY banner.
        ready = run.wait_for(lambda seen: trading(seen) and ctl_printed(seen), 240)
        assert ready, "".join(run.seen)[-3000:]
        seen = run.seen
        text = "".join(seen)
        assert "hedgegridd is READY" in text
        assert trading(seen)
        pasted = next(ln for ln in seen if "--socket" in ln and ln.rstrip().endswith(" status"))
        argv = shlex.split(pasted.replace(" status", " --json status"))
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["mode"] == "sim"
        # One console format: no raw JSON events from the daemon, no raw Nautilus lines.
        assert not [ln for ln in seen if ln.startswith("{")]
        assert not [ln for ln in seen if re.match(r"^\S+ \[(WARN|ERROR|INFO)\] ", ln)]
        rest = run.interrupt(timeout_s=120)
    assert run.returncode == 0
    assert "hedgegridd exited with code 0" in rest


def test_ctl_command_is_the_venv_path_when_hedgegridctl_is_not_on_path(monkeypatch) -> None:
    """The printed ctl is this interpreter's absolute hedgegridctl unless PATH finds the same."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    command = demo.ctl_command()
    assert command == str((Path(sys.executable).parent / "hedgegridctl").absolute())
    assert Path(command).is_absolute()
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert demo.ctl_command() == "hedgegridctl"


def test_console_renders_daemon_json_and_nautilus_lines_in_one_format() -> None:
    """Daemon JSON events and Nautilus lines come out as the same console lines."""
    out = io.StringIO()
    console = demo.DemoConsole(out, status_every_s=30)
    console.daemon_line(
        '{"event": "grid.synced", "level": "info", "timestamp": "2026-01-01T00:00:00Z", '
        '"entries_placed": 10}\n'
    )
    console.daemon_line(
        "2026-01-01T00:00:01.123456789Z [WARN] HEDGEGRID-001.Cache: Residual Position(SHORT)\n"
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert re.match(
        r"^2026-01-01T00:00:00Z \[info\s*\] grid\.synced\s+entries_placed=10$", lines[0]
    )
    assert re.match(
        r"^2026-01-01T00:00:01\.123456789Z \[warning\s*\] nautilus HEDGEGRID-001\.Cache: "
        r"Residual Position\(SHORT\)",
        lines[1],
    )


def test_status_lines_only_on_change_or_every_n_seconds() -> None:
    """A STATUS= text whose only change is PnL prints at most every status_every_s."""
    console = demo.DemoConsole(io.StringIO(), status_every_s=30)
    base = "mode=sim state=RUNNING regime=UP long=0 short=0.006 entries=10/9 pnl={} throttle=1"
    assert console.status(base.format("0.00/0.25"), now=0.0)
    assert not console.status(base.format("0.00/0.30"), now=2.0)
    assert not console.status(base.format("0.00/0.35"), now=29.0)
    assert console.status(base.format("0.00/0.40"), now=31.0)
    assert console.status(base.format("0.00/0.40").replace("regime=UP", "regime=DOWN"), now=32.0)
    assert console.status(base.format("0.00/0.40").replace("entries=10/9", "entries=10/8"), 33.0)


def test_demo_help_shows_every_default(capsys) -> None:
    """`hedgegrid demo --help` describes every option with its default."""
    from hedgegridd import tools_cli

    with pytest.raises(SystemExit):
        tools_cli.main(["demo", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for default in (
        "(default: 0.0)",
        "(default: 60.0)",
        "(default: 1)",
        "(default: 30.0)",
        "(default: False)",
    ):
        assert default in out, default
    assert out.count("(default:") >= 8
