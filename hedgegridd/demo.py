"""``hedgegrid demo``: the simulator + the real daemon, no keys, no network.

Runs the exchange simulator in this process on seeded synthetic data at an
accelerated clock, and ``hedgegridd`` in sim mode against it as a child process
(HedgeGridStrategy, control socket and Prometheus metrics live, state in a temporary
directory); with ``--instances 2``, two daemons (BTCUSDT and ETHUSDT) trade on one
simulator account, each with its own socket, state and metrics port. Prints the
``hedgegridctl`` commands to try (runnable as pasted), shows the daemon's events,
NautilusTrader's warnings and the simulator's warnings in one console format, a
status line when the state, regime, positions or entries change (or every
``--status-every`` seconds), and stops cleanly on Ctrl-C or after ``--duration``
seconds (SIGTERM to the daemon, which applies its stop policy and exits 0).
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

from hedgegridd.demo_instances import SYMBOLS, DemoInstance, plan_instances, write_config


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
        "--metrics-port",
        type=int,
        default=0,
        help="Prometheus metrics port (0 = a free one); with --instances, the next ones follow",
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
        "offsets count in sim seconds from when the daemons report READY; a step may name "
        "the symbol it moves (default the first)",
    )
    p.add_argument(
        "--instances",
        type=int,
        default=1,
        choices=range(1, len(SYMBOLS) + 1),
        metavar="N",
        help=f"daemons to run on one simulator, one symbol each ({', '.join(SYMBOLS)}); "
        "try hedgegridctl --all status",
    )
    p.set_defaults(handler=run_demo)


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


def _print_help(out: TextIO, instances: list[DemoInstance], run_dir: Path) -> None:
    every = f"{ctl_command()} --runtime-dir {shlex.quote(str(run_dir))}"
    curls = "".join(
        f"  curl -s http://127.0.0.1:{i.metrics_port}/metrics | grep ^hedgegridd_\n"
        for i in instances
    )
    if len(instances) == 1:
        ctl = f"{ctl_command()} --socket {shlex.quote(str(instances[0].socket))}"
        out.write(
            "\nhedgegridd is READY (sim mode). Try, in another terminal (each line runs as "
            "pasted):\n"
            f"  {ctl} status\n"
            f"  {ctl} orders\n"
            f"  {ctl} positions\n"
            f"  {ctl} ladders\n"
            f"  {ctl} pause && {ctl} resume\n"
            f"  {ctl} throttle 0.5\n"
            f"  {ctl} flatten both\n"
            f"  {ctl} killswitch status\n"
            f"  {every} --all status\n"
            f"{curls}"
            "Ctrl-C stops the daemon (stop policy: cancel entries) and the simulator.\n\n"
        )
    else:
        names = ", ".join(f"{i.name} ({i.symbol})" for i in instances)
        one, two = instances[0].name, instances[1].name
        out.write(
            f"\n{len(instances)} hedgegridd instances are READY (sim mode, one simulator "
            f"account): {names}. Try, in another terminal (each line runs as pasted):\n"
            f"  {every} --all status\n"
            f"  {every} --all positions\n"
            f"  {every} --all orders\n"
            f"  {every} --instance {two} ladders\n"
            f"  {every} --instance {one} pause && {every} --instance {one} resume\n"
            f"  {every} --instance {two} throttle 0.5\n"
            f"{curls}"
            "Ctrl-C stops the daemons (stop policy: cancel entries) and the simulator.\n\n"
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

    def __init__(self, out: TextIO, *, status_every_s: float, instance: str | None = None) -> None:
        import structlog

        self.out = out
        self.instance = instance  # shown on every line when several daemons share the console
        self.status_every_s = status_every_s
        self._renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
        self._status_key: str | None = None
        self._status_at = float("-inf")

    def event(self, event: dict[str, Any]) -> None:
        """One event dict (``event``, ``level``, ``timestamp``, fields) as a console line."""
        event.setdefault("level", "info")
        if self.instance is not None:
            event.setdefault("instance", self.instance)
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


async def _start_daemon(inst: DemoInstance, console: DemoConsole) -> asyncio.subprocess.Process:
    """``hedgegridd`` for ``inst`` as a child in its own session (Ctrl-C reaches the demo)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEDGEGRID_", "BINANCE_"))}
    env.update(
        NOTIFY_SOCKET=str(inst.notify_path),
        STATE_DIRECTORY=str(inst.state_dir),
        RUNTIME_DIRECTORY=str(inst.runtime_dir),
    )
    # JSON from the daemon (its events, parsed) and Nautilus's plain lines are both
    # re-rendered by the demo: one console format on the terminal.
    cmd = [
        sys.executable,
        "-m",
        "hedgegridd.supervisor.cli",
        "--config",
        str(inst.config),
        "--log-format",
        "json",
    ]
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        env=env,
        start_new_session=True,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=1 << 20,
    )
    inst.relays = [
        asyncio.create_task(_relay(proc.stdout, console)),
        asyncio.create_task(_relay(proc.stderr, console)),
    ]
    return proc


async def _stop_daemon(proc: asyncio.subprocess.Process, inst: DemoInstance) -> int:
    """SIGTERM (the daemon applies its stop policy), SIGKILL after 90 s; the exit code."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.wait_for(proc.wait(), 90)
    except TimeoutError:
        proc.kill()
        code = await proc.wait()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*inst.relays, return_exceptions=True), 10)
    return code


async def _run(args: argparse.Namespace, base: Path) -> int:
    from hedgegridd.errors import ConfigError
    from hedgegridd.sim import SimConfig, SimExchange
    from hedgegridd.sim.scenarios import ScenarioStep, load_scenario_file

    steps: list[ScenarioStep] = []
    if args.scenario is not None:
        try:
            steps = load_scenario_file(args.scenario, SYMBOLS[: args.instances])
        except ConfigError as exc:
            print(f"hedgegrid demo: {exc}", file=sys.stderr)
            return 2
    instances = plan_instances(base, args.instances, args.metrics_port)
    several = len(instances) > 1
    for inst in instances:
        inst.state_dir.mkdir(parents=True, exist_ok=True)
        inst.runtime_dir.mkdir(parents=True, exist_ok=True)
    consoles = {
        i.name: DemoConsole(
            sys.stdout, status_every_s=args.status_every, instance=i.name if several else None
        )
        for i in instances
    }
    console = DemoConsole(sys.stdout, status_every_s=args.status_every)
    sim_config = SimConfig(speed=args.speed, seed=args.seed, symbols=SYMBOLS[: len(instances)])
    async with SimExchange(sim_config) as sim:
        procs: dict[str, asyncio.subprocess.Process] = {}
        notifies: dict[str, socket.socket] = {}
        for inst in instances:
            config = write_config(inst, base, sim.base_url_http, sim.base_url_ws)
            notifies[inst.name] = _notify_socket(inst.notify_path)
            consoles[inst.name].event(
                {"event": "demo.starting", "simulator": sim.base_url_http, "config": str(config)}
            )
            procs[inst.name] = await _start_daemon(inst, consoles[inst.name])
        deadline = time.monotonic() + args.duration if args.duration > 0 else None
        helped = False
        try:
            while all(p.returncode is None for p in procs.values()):
                for inst in instances:
                    for line in _drain(notifies[inst.name]):
                        if line == "READY=1":
                            inst.ready = True
                        elif line.startswith("STATUS="):
                            consoles[inst.name].status(line[7:], time.monotonic())
                if not helped and all(i.ready for i in instances):
                    helped = True
                    _print_help(sys.stdout, instances, base / "run")
                    if steps:
                        sim.schedule_scenario(steps)
                        console.event({"event": "demo.scenario_scheduled", "steps": len(steps)})
                if deadline is not None and time.monotonic() >= deadline:
                    console.event({"event": "demo.duration_reached", "duration_s": args.duration})
                    break
                await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            sys.stdout.write("\n")
            console.event({"event": "demo.stopping", "why": "Ctrl-C"})
        finally:
            codes = await asyncio.gather(*(_stop_daemon(procs[i.name], i) for i in instances))
            for sock in notifies.values():
                sock.close()
        for inst, code in zip(instances, codes, strict=True):
            trades = len(sim.markets[inst.symbol].engine.trades)
            who = f"hedgegridd {inst.name} ({inst.symbol})" if several else "hedgegridd"
            print(f"{who} exited with code {code}; trades on the simulator: {trades}")
        return 0 if all(code == 0 for code in codes) else 1


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
