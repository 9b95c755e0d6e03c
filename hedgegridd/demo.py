"""``hedgegrid demo``: the simulator + the real daemon, no keys, no network.

Runs the exchange simulator in this process on seeded synthetic data at an
accelerated clock, and ``hedgegridd`` in sim mode against it as a child process
(HedgeGridStrategy, control socket and Prometheus metrics live, state in a temporary
directory). Prints the ``hedgegridctl`` commands to try, relays the daemon's
``STATUS=`` lines, and stops cleanly on Ctrl-C or after ``--duration`` seconds
(SIGTERM to the daemon, which applies its stop policy and exits 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="run the simulator and the daemon together (no keys, no network)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run (0 = until Ctrl-C)")
    p.add_argument("--speed", type=float, default=60.0, help="sim minutes per real minute")
    p.add_argument("--seed", type=int, default=1, help="synthetic data seed")
    p.add_argument("--metrics-port", type=int, default=0, help="metrics port (0 = a free one)")
    p.add_argument("--keep", action="store_true", help="keep the state directory afterwards")
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


def _print_help(out: TextIO, sock: Path, metrics_port: int) -> None:
    ctl = f"hedgegridctl --socket {sock}"
    out.write(
        "\nhedgegridd is READY (sim mode). Try, in another terminal:\n"
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
    async with SimExchange(SimConfig(speed=args.speed, seed=args.seed)) as sim:
        config = _config(base, sim.base_url_http, sim.base_url_ws, metrics_port)
        notify = _notify_socket(base / "notify.sock")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HEDGEGRID_", "BINANCE_"))}
        env.update(
            NOTIFY_SOCKET=str(base / "notify.sock"),
            STATE_DIRECTORY=str(base / "state"),
            RUNTIME_DIRECTORY=str(base / "run"),
        )
        cmd = [sys.executable, "-m", "hedgegridd.supervisor.cli", "--config", str(config)]
        print(f"simulator on {sim.base_url_http}; starting: {' '.join(cmd)}", flush=True)
        # Own process group: Ctrl-C reaches the demo only, which stops the daemon once.
        proc = await asyncio.create_subprocess_exec(*cmd, env=env, start_new_session=True)
        deadline = time.monotonic() + args.duration if args.duration > 0 else None
        ready = False
        last_status = ""
        try:
            while proc.returncode is None:
                for line in _drain(notify):
                    if line == "READY=1" and not ready:
                        ready = True
                        _print_help(sys.stdout, base / "run" / "control.sock", metrics_port)
                        if steps:
                            sim.director.schedule(steps)
                            print(f"scenario: {len(steps)} steps scheduled", flush=True)
                    elif line.startswith("STATUS=") and line != last_status:
                        last_status = line
                        print(f"[status] {line[7:]}", flush=True)
                if deadline is not None and time.monotonic() >= deadline:
                    print("demo: duration reached, stopping", flush=True)
                    break
                await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            print("\ndemo: stopping", flush=True)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.wait_for(proc.wait(), 90)
            except TimeoutError:
                proc.kill()
                code = await proc.wait()
            notify.close()
        print(
            f"hedgegridd exited with code {code}; trades on the simulator: {len(sim.engine.trades)}"
        )
        return 0 if code == 0 else 1


def run_demo(args: argparse.Namespace) -> int:
    """Handler of ``hedgegrid demo``."""
    base = Path(tempfile.mkdtemp(prefix="hedgegrid-demo-"))
    try:
        try:
            return asyncio.run(_run(args, base))
        except KeyboardInterrupt:
            return 0
    finally:
        if args.keep:
            print(f"state kept in {base}")
        else:
            import shutil

            with contextlib.suppress(OSError):
                shutil.rmtree(base)
