"""Run ``hedgegridd`` as a real process in sim mode against an in-process SimExchange.

The test's event loop runs the simulator; the daemon is a child process with a fake
``NOTIFY_SOCKET`` (datagram listener), its own state/runtime directories under
tmp_path, metrics on an ephemeral loopback port and the control socket in the
runtime directory.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hedgegridd.errors import ControlError
from hedgegridd.sim import SimExchange

from .notify_listener import NotifyListener

REPO = Path(__file__).resolve().parents[2]
MINI = "tests.supervisor.mini_strategy:build"


# The daemon config every end-to-end test starts from; tests override per section.
BASE_SECTIONS: dict[str, dict[str, object]] = {
    "warmup": {"total_deadline_s": 30, "history_bars": 50, "max_clock_skew_ms": 5000},
    "lifecycle": {"ready_timeout_s": 60, "stop_deadline_s": 20, "status_interval_s": 0.5},
    "watchdog": {"max_data_age_s": 60},
    "killswitch": {"enabled": True},
    "metrics": {"port": 0},
}


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def sim_config_toml(
    sim: SimExchange,
    tmp_path: Path,
    extra: str = "",
    **sections: dict[str, object],
) -> Path:
    """A daemon config for mode=sim pointing at ``sim``.

    ``sections`` update the base sections key by key (``killswitch={"check_interval_s":
    0.2}``) or add new ones; ``extra`` is raw TOML (whole tables) appended at the end.
    """
    tables = {name: dict(values) for name, values in BASE_SECTIONS.items()}
    for name, values in sections.items():
        tables.setdefault(name, {}).update(values)
    tables["venue"] = {"base_url_http": sim.base_url_http, "base_url_ws": sim.base_url_ws}
    tables["control"] = {
        "socket_path": str(tmp_path / "run" / "control.sock"),
        "systemd_socket": False,
    }
    lines = ['mode = "sim"']
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
    path = tmp_path / "hedgegridd.toml"
    path.write_text("\n".join(lines) + "\n" + extra + "\n")
    return path


@dataclass
class DaemonProcess:
    """A running hedgegridd child and its notify listener."""

    proc: subprocess.Popen[bytes]
    notify: NotifyListener
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)

    def events(self) -> list[dict[str, object]]:
        """Parsed JSON log events written so far."""
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    async def wait_exit(self, deadline_s: float) -> int:
        """Await the exit code within ``deadline_s`` (fails the test otherwise)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            code = self.proc.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.05)
        self.proc.kill()
        raise AssertionError(
            f"hedgegridd did not exit within {deadline_s}s:\n{self.log_text()[-3000:]}"
        )

    async def wait_lines(
        self, predicate: Callable[[list[str]], bool], deadline_s: float = 180
    ) -> list[str]:
        """Await a condition on the notify lines received so far."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            lines = self.notify.lines()
            if predicate(lines):
                return lines
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"hedgegridd exited {self.proc.returncode}; notify={lines}\n"
                    + self.log_text()[-3000:]
                )
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"notify condition not met: {self.notify.lines()}\n{self.log_text()[-3000:]}"
        )

    async def until(self, check: Callable[[], Any], what: str, deadline_s: float = 180) -> Any:
        """Poll ``check`` (sync or async) until truthy; fail if the daemon exits or time runs out.

        A ``ControlError``/``OSError`` from the check (socket not up yet) counts as not yet.
        """
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            self.notify.drain()
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited waiting for {what}:\n{self.log_text()[-4000:]}"
                )
            try:
                value = check()
                if inspect.isawaitable(value):
                    value = await value
            except (ControlError, OSError):
                value = None
            if value:
                return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}\n{self.log_text()[-4000:]}")

    def stop_now(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.notify.close()


def start_daemon(
    config: Path,
    tmp_path: Path,
    *,
    env: dict[str, str] | None = None,
    watchdog_usec: int | None = 4_000_000,
    factory: str | None = MINI,
    tag: str = "d",
) -> DaemonProcess:
    """Start ``hedgegridd`` with a fake notify socket; logs go to a file as JSON."""
    notify = NotifyListener(tmp_path / f"notify-{tag}.sock")
    (tmp_path / "state").mkdir(exist_ok=True)
    (tmp_path / "run").mkdir(exist_ok=True)
    child_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HEDGEGRID_", "BINANCE_", "NOTIFY_", "WATCHDOG_"))
    }
    child_env.update(
        {
            "NOTIFY_SOCKET": str(notify.path),
            "STATE_DIRECTORY": str(tmp_path / "state"),
            "RUNTIME_DIRECTORY": str(tmp_path / "run"),
            "PYTHONPATH": str(REPO),
        }
    )
    if watchdog_usec is not None:
        child_env["WATCHDOG_USEC"] = str(watchdog_usec)
    child_env.update(env or {})
    log_path = tmp_path / f"daemon-{tag}.log"
    cmd = [
        sys.executable,
        "-m",
        "hedgegridd.supervisor.cli",
        "--config",
        str(config),
        "--log-format",
        "json",
    ]
    if factory:
        cmd += ["--strategy-factory", factory]
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=child_env, stdout=log_file, stderr=subprocess.STDOUT
        )
    return DaemonProcess(proc=proc, notify=notify, log_path=log_path)
