"""``hedgegrid demo``: the simulator + the real daemon, no keys, no network.

Runs the exchange simulator in this process on seeded synthetic data at an
accelerated clock, and ``hedgegridd`` in sim mode against it as a child process
(HedgeGridStrategy, control socket and Prometheus metrics live, state in a temporary
directory). Prints the ``hedgegridctl`` commands to try (runnable as pasted), shows
the daemon's events, NautilusTrader's warnings and the simulator's warnings in one
console format, a status line when the state, regime, positions or entries change
(or every ``--status-every`` seconds), and stops cleanly on Ctrl-C or after
``--duration`` seconds (SIGTERM to the daemon, which applies its stop policy and exits 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="run the simulator and the daemon together (no keys, no network)",
        description=__doc__.split("\n\n")[1].replace("``", "") if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run (0 = until Ctrl-C)")
    p.add_argument("--speed", type=float, default=60.0, help="simulated minutes per real minute")
    p.add_argument("--seed", type=int, default=1, help="seed of the synthetic market data")
    p.add_argument(
        "--metrics-port", type=int, default=0, help="Prometheus metrics port (0 = a free one)"
    )
    p.add_argument(
        "--status-every",
        type=float,
        default=30.0,
        metavar="S",
        help="print a status line at most this often while only PnL moves (state, regime, "
        "positions and entry changes print at once)",
    )
    p.add_argument(
        "--verbose",
        action="store_true",
        help="also show the simulator's info events, not only its warnings",
    )
    p.add_argument(
        "--keep", action="store_true", help="keep the temporary state directory afterwards"
    )
    p.add_argument(
        "--scenario",
        type=Path,
        default=None,
        metavar="FILE",
        help="TOML market scenario for the simulator (see docs/sim.md); its at_s/after_s "
        "offsets count in sim seconds from when the daemon reports READY",
    )
    p.set_defaults(handler=run_demo)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(base: Path, http: str, ws: str, metrics_port: int) -> Path:
    path = base / "hedgegridd.toml"
    path.write_text(
        f"""# written by `hedgegrid demo`
mode = "sim"
[venue]
base_url_http = "{http}"
base_url_ws = "{ws}"
[warmup]
history_bars = 300
max_clock_skew_ms = 5000
[lifecycle]
status_interval_s = 2.0
[watchdog]
max_data_age_s = 120
[metrics]
port = {metrics_port}
[control]
socket_path = "{base / "run" / "control.sock"}"
systemd_socket = false
"""
    )
    return path


def _notify_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    return sock


def _drain(sock: socket.socket) -> list[str]:
    lines: list[str] = []
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return lines
        lines.extend(data.decode(errors="replace").split("\n"))


def ctl_command() -> str:
    """How to run this installation's ``hedgegridctl`` from any shell, as pasted.

    The bare name when the one on PATH is ours, else the absolute path next to this
    interpreter (``.../.venv/bin/hedgegridctl``), else ``python -m`` of the ctl module.
    """
    ours = Path(sys.executable).parent / "hedgegridctl"
    found = shutil.which("hedgegridctl")
    if ours.exists():
        if found is not None and Path(found).resolve() == ours.resolve():
            return "hedgegridctl"
        return shlex.quote(str(ours.absolute()))
    if found is not None:
        return "hedgegridctl"
    return f"{shlex.quote(sys.executable)} -m hedgegridd.control.cli"


def _print_help(out: TextIO, sock: Path, metrics_port: int) -> None:
    ctl = f"{ctl_command()} --socket {shlex.quote(str(sock))}"
    out.write(
        "\nhedgegridd is READY (sim mode). Try, in another terminal (each line runs as pasted):\n"
        f"  {ctl} status\n"
        f"  {ctl} orders\n"
        f"  {ctl} positions\n"
        f"  {ctl} ladders\n"
        f"  {ctl} pause && {ctl} resume\n"
        f"  {ctl} throttle 0.5\n"
        f"  {ctl} flatten both\n"
        f"  {ctl} killswitch status\n"
        f"  curl -s http://127.0.0.1:{metrics_port}/metrics | grep ^hedgegridd_\n"
        "Ctrl-C stops the daemon (stop policy: cancel entries) and the simulator.\n\n"
    )
    out.flush()


# --------------------------------------------------------------------------- one console

_NAUTILUS_LINE = re.compile(
    r"^(?P<ts>\S+) \[(?P<level>[A-Z]+)\] (?P<component>[^:\s]+): (?P<msg>.*)$"
)
_NAUTILUS_LEVEL = {"DEBUG": "debug", "INFO": "info", "WARN": "warning", "ERROR": "error"}
_PNL = re.compile(r"\s*pnl=\S+")


class DemoConsole:
    """Renders the daemon's JSON events, Nautilus's lines and the demo's own lines alike."""

    def __init__(self, out: TextIO, *, status_every_s: float) -> None:
        import structlog

        self.out = out
        self.status_every_s = status_every_s
        self._renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
        self._status_key: str | None = None
        self._status_at = float("-inf")

    def event(self, event: dict[str, Any]) -> None:
        """One event dict (``event``, ``level``, ``timestamp``, fields) as a console line."""
        event.setdefault("level", "info")
        event.setdefault("timestamp", datetime.now(UTC).isoformat().replace("+00:00", "Z"))
        text = self._renderer(None, str(event["level"]), event)
        self.out.write(f"{text}\n")
        self.out.flush()

    def daemon_line(self, line: str) -> None:
        """A line of the daemon's output: a JSON event, a Nautilus line, or anything else."""
        line = line.rstrip("\n")
        if not line.strip():
            return
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                doc = json.loads(line)
                if isinstance(doc, dict) and "event" in doc:
                    self.event(doc)
                    return
        match = _NAUTILUS_LINE.match(line)
        if match is not None:
            self.event(
                {
                    "event": f"nautilus {match['component']}: {match['msg']}",
                    "level": _NAUTILUS_LEVEL.get(match["level"], "info"),
                    "timestamp": match["ts"],
                }
            )
            return
        self.out.write(f"{line}\n")
        self.out.flush()

    def status(self, text: str, now: float) -> bool:
        """Show a STATUS= text when more than PnL changed, or PnL only after ``status_every_s``."""
        key = _PNL.sub("", text)
        if key == self._status_key and now - self._status_at < self.status_every_s:
            return False
        self._status_key, self._status_at = key, now
        self.event({"event": f"status {text}"})
        return True


def configure_sim_logging(out: TextIO, *, verbose: bool) -> None:
    """The in-process simulator logs in the demo's console format, warnings only by default."""
    import logging

    import structlog

    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=out.isatty()),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if verbose else logging.WARNING
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


async def _relay(stream: asyncio.StreamReader | None, console: DemoConsole) -> None:
    if stream is None:
        return
    while line := await stream.readline():
        console.daemon_line(line.decode(errors="replace"))


async def _run(args: argparse.Namespace, base: Path) -> int:
    from hedgegridd.errors import ConfigError
    from hedgegridd.sim import SimConfig, SimExchange
    from hedgegridd.sim.scenarios import ScenarioStep, load_scenario_file

    steps: list[ScenarioStep] = []
    if args.scenario is not None:
        try:
            steps = load_scenario_file(args.scenario)
        except ConfigError as exc:
            print(f"hedgegrid demo: {exc}", file=sys.stderr)
            return 2
    (base / "state").mkdir()
    (base / "run").mkdir()
    metrics_port = args.metrics_port or _free_port()
    console = DemoConsole(sys.stdout, status_every_s=args.status_every)
    async with SimExchange(SimConfig(speed=args.speed, seed=args.seed)) as sim:
        config = _config(base, sim.base_url_http, sim.base_url_ws, metrics_port)
        notify = _notify_socket(base / "notify.sock")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HEDGEGRID_", "BINANCE_"))}
        env.update(
            NOTIFY_SOCKET=str(base / "notify.sock"),
            STATE_DIRECTORY=str(base / "state"),
            RUNTIME_DIRECTORY=str(base / "run"),
        )
        # JSON from the daemon (its events, parsed) and Nautilus's plain lines are both
        # re-rendered by the demo: one console format on the terminal.
        cmd = [
            sys.executable,
            "-m",
            "hedgegridd.supervisor.cli",
            "--config",
            str(config),
            "--log-format",
            "json",
        ]
        console.event(
            {"event": "demo.starting", "simulator": sim.base_url_http, "config": str(config)}
        )
        # Own process group: Ctrl-C reaches the demo only, which stops the daemon once.
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            env=env,
            start_new_session=True,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=1 << 20,
        )
        relays = [
            asyncio.create_task(_relay(proc.stdout, console)),
            asyncio.create_task(_relay(proc.stderr, console)),
        ]
        deadline = time.monotonic() + args.duration if args.duration > 0 else None
        ready = False
        try:
            while proc.returncode is None:
                for line in _drain(notify):
                    if line == "READY=1" and not ready:
                        ready = True
                        _print_help(sys.stdout, base / "run" / "control.sock", metrics_port)
                        if steps:
                            sim.director.schedule(steps)
                            console.event({"event": "demo.scenario_scheduled", "steps": len(steps)})
                    elif line.startswith("STATUS="):
                        console.status(line[7:], time.monotonic())
                if deadline is not None and time.monotonic() >= deadline:
                    console.event({"event": "demo.duration_reached", "duration_s": args.duration})
                    break
                await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            sys.stdout.write("\n")
            console.event({"event": "demo.stopping", "why": "Ctrl-C"})
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.wait_for(proc.wait(), 90)
            except TimeoutError:
                proc.kill()
                code = await proc.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*relays, return_exceptions=True), 10)
            notify.close()
        print(
            f"hedgegridd exited with code {code}; trades on the simulator: {len(sim.engine.trades)}"
        )
        return 0 if code == 0 else 1


def run_demo(args: argparse.Namespace) -> int:
    """Handler of ``hedgegrid demo``."""
    base = Path(tempfile.mkdtemp(prefix="hedgegrid-demo-"))
    configure_sim_logging(sys.stdout, verbose=args.verbose)
    try:
        try:
            return asyncio.run(_run(args, base))
        except KeyboardInterrupt:
            return 0
    finally:
        if args.keep:
            print(f"state kept in {base}")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(base)
