"""``hedgegrid demo`` as a child process whose console lines are read as they come."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[2]


def demo_env(**overrides: str) -> dict[str, str]:
    """This process' environment without HEDGEGRID_*/NOTIFY_* (a fresh user's), plus overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEDGEGRID_", "NOTIFY_"))}
    env.update(overrides)
    return env


class DemoRun:
    """``python -m hedgegridd.tools_cli demo ARGS``; a thread drains its output (stdout+stderr).

    The thread keeps reading while the test runs ctl commands, so the demo never
    blocks on a full pipe, and a silent demo cannot hang ``wait_for`` past its deadline.
    """

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.env = env
        self.seen: list[str] = []  # lines consumed by wait_for, in order
        self._lines: queue.Queue[str | None] = queue.Queue()  # None: end of output
        self._eof = False
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hedgegridd.tools_cli", "demo", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _next(self, timeout_s: float) -> str | None:
        if self._eof:
            return None
        try:
            line = self._lines.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return None
        if line is None:
            self._eof = True
        return line

    def wait_for(self, done: Callable[[list[str]], bool], deadline_s: float) -> bool:
        """Consume lines into ``seen`` until ``done(seen)``, end of output or the deadline."""
        deadline = time.monotonic() + deadline_s
        while not done(self.seen):
            left = deadline - time.monotonic()
            if left <= 0 or self._eof:
                return False
            line = self._next(left)
            if line is not None:
                self.seen.append(line)
        return True

    def interrupt(self, timeout_s: float) -> str:
        """Ctrl-C (SIGINT), wait for the exit; the output printed after ``seen``."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=timeout_s)
        rest: list[str] = []
        while (line := self._next(0)) is not None:
            rest.append(line)
        return "".join(rest)

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def __enter__(self) -> DemoRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
