"""hedgegridd against the exchange simulator: start-to-READY time and RSS slope.

Run: ``.venv/bin/python bench/daemon.py [--sim-hours 1] [--speed 600] [--factory M:F]``.

1. Start-to-READY: wall time from spawning ``hedgegridd`` (sim mode) to the READY=1
   datagram on a fake NOTIFY_SOCKET, over ``--runs`` starts. Baseline measured in the
   same run: a bare ``python -c "import nautilus_trader.live.node"`` (the import cost no
   daemon can avoid); the ratio says what the daemon's own phases add.
2. Memory: after READY the simulator replays ``--sim-hours`` of 1-minute bars at
   ``--speed`` sim-minutes per real minute while the daemon trades; the daemon's RSS
   (/proc/<pid>/status VmRSS) is sampled every second and a least-squares slope is
   reported in MiB per simulated hour, over the second half of the run (after warm-up
   allocations). Flat memory means a slope near 0.
The strategy defaults to HedgeGridStrategy when it is installed, else the test grid.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hedgegridd.sim import SimConfig, SimExchange  # noqa: E402
from tests.supervisor.daemon_harness import sim_config_toml, start_daemon  # noqa: E402


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs) or 1.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def default_factory() -> str | None:
    try:
        import hedgegridd.strategy.strategy  # noqa: F401
    except ImportError:
        return "tests.supervisor.mini_strategy:build"
    return None  # the daemon's default: HedgeGridStrategy


def import_baseline() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import nautilus_trader.live.node"], check=True)
    return time.perf_counter() - started


async def one_start(tmp: Path, factory: str | None, tag: str) -> float:
    async with SimExchange(SimConfig(speed=60)) as sim:
        config = sim_config_toml(sim, tmp)
        started = time.perf_counter()
        daemon = start_daemon(config, tmp, factory=factory, tag=tag)
        try:
            await daemon.wait_lines(lambda ls: "READY=1" in ls, deadline_s=180)
            ready = time.perf_counter() - started
            daemon.signal(signal.SIGTERM)
            await daemon.wait_exit(60)
        finally:
            daemon.stop_now()
    return ready


async def memory_run(tmp: Path, factory: str | None, sim_hours: float, speed: float) -> None:
    async with SimExchange(SimConfig(speed=speed, seed=7)) as sim:
        config = sim_config_toml(sim, tmp)
        daemon = start_daemon(config, tmp, factory=factory, tag="mem")
        try:
            await daemon.wait_lines(lambda ls: "READY=1" in ls, deadline_s=180)
            real_s = sim_hours * 60 * 60 / speed
            t0, bars0, trades0 = time.monotonic(), sim.ticker.bar_index, len(sim.engine.trades)
            xs: list[float] = []
            ys: list[float] = []
            while (elapsed := time.monotonic() - t0) < real_s:
                daemon.notify.drain()
                xs.append(elapsed * speed / 3600)  # simulated hours
                ys.append(rss_mib(daemon.proc.pid))
                await asyncio.sleep(1.0)
            bars = sim.ticker.bar_index - bars0
            trades = len(sim.engine.trades) - trades0
            half = len(xs) // 2
            print(
                f"simulated: {bars} bars ({bars / 60:.2f} h) in {real_s:.0f} s real, "
                f"{trades} trades"
            )
            print(f"RSS at READY {ys[0]:.1f} MiB, end {ys[-1]:.1f} MiB, max {max(ys):.1f} MiB")
            print(
                f"RSS slope (second half): {slope(xs[half:], ys[half:]):+.2f} MiB "
                "per simulated hour"
            )
            print(f"RSS slope (whole run):   {slope(xs, ys):+.2f} MiB per simulated hour")
            daemon.signal(signal.SIGTERM)
            print(f"exit code after SIGTERM: {await daemon.wait_exit(60)}")
        finally:
            daemon.stop_now()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sim-hours", type=float, default=1.0)
    parser.add_argument("--speed", type=float, default=600.0, help="sim minutes per real minute")
    parser.add_argument("--factory", default=None, help="MODULE:CALLABLE strategy factory")
    args = parser.parse_args()
    factory = args.factory or default_factory()
    print(f"strategy factory: {factory or 'HedgeGridStrategy (default)'}; cpus: {os.cpu_count()}")
    baseline = min(import_baseline() for _ in range(args.runs))
    with tempfile.TemporaryDirectory() as td:
        readies = []
        for i in range(args.runs):
            run_dir = Path(td) / f"start{i}"
            run_dir.mkdir()
            readies.append(asyncio.run(one_start(run_dir, factory, f"s{i}")))
        best, median = min(readies), statistics.median(readies)
        print(f"baseline import nautilus_trader.live.node: {baseline:.2f} s (best of {args.runs})")
        print(f"start -> READY: best {best:.2f} s, median {median:.2f} s over {args.runs} runs")
        print(f"ratio READY / import baseline: {best / baseline:.2f}x")
        mem_dir = Path(td) / "mem"
        mem_dir.mkdir()
        asyncio.run(memory_run(mem_dir, factory, args.sim_hours, args.speed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
