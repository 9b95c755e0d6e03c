"""Kill-switch latency against the exchange simulator.

Measures, per trial: price jump -> kill switch fires -> closing orders handed to
the venue side -> closing orders acknowledged by the venue -> flat verified. The
venue side is a minimal ``StrategyHandle`` over the simulator's signed REST API
(positionRisk/account polled, MARKET closing orders with positionSide), run on
the same event loop as the kill switch, exactly as the Nautilus strategy will be.

Baselines measured in the same run: the simulator's REST round trip (median of
GET /fapi/v1/time) and the kill switch check interval. Targets:
closing orders sent within one check interval of the firing decision (the
decision itself needs ``breaches_required`` breaching checks), flat verified
within 2 s.

A second part runs the real ``hedgegridd`` process (sim mode: HedgeGridStrategy
on the Nautilus Binance adapter) against the simulator with a position-notional
limit; times come from the simulator (closes received, book flat) and the
daemon's JSON log (``killswitch.fired``, ``flatten.closing_sent``, ``flatten.flat_verified``).

Run: ``.venv/bin/python bench/killswitch.py [--trials N] [--daemon-trials N]
[--latency-ms MS] [--interval-s S]``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import anyio
import anyio.abc
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hedgegridd.ops.config import KillSwitchConfig
from hedgegridd.ops.killswitch import KillSwitch
from hedgegridd.sim import SimConfig, SimExchange
from hedgegridd.strategy.handle import (
    FlattenSide,
    FlattenTicket,
    OrderView,
    RungView,
    SideSnapshot,
    StrategySnapshot,
    TradingState,
)
from hedgegridd.supervisor.state import AsyncStateStore

ZERO = Decimal(0)
SYMBOL = "BTCUSDT"


class SimRest:
    """Signed REST calls to the simulator (Binance USD-M wire format)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, key: str, secret: str) -> None:
        self._s = session
        self._base = base
        self._key = key
        self._secret = secret.encode()

    async def call(self, method: str, path: str, params: dict[str, str] | None = None) -> Any:
        query = dict(params or {})
        query["timestamp"] = str(int(time.time() * 1000))
        qs = urlencode(query)
        sig = hmac.new(self._secret, qs.encode(), hashlib.sha256).hexdigest()
        url = f"{self._base}{path}?{qs}&signature={sig}"
        async with self._s.request(method, url, headers={"X-MBX-APIKEY": self._key}) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"{method} {path}: {resp.status} {body}")
            return body

    async def public(self, path: str) -> Any:
        async with self._s.get(f"{self._base}{path}") as resp:
            return await resp.json()

    async def market(self, side: str, position_side: str, qty: Decimal) -> Any:
        return await self.call(
            "POST",
            "/fapi/v1/order",
            {
                "symbol": SYMBOL,
                "side": side,
                "positionSide": position_side,
                "type": "MARKET",
                "quantity": f"{qty:f}",
            },
        )


class SimVenueHandle:
    """A StrategyHandle over the simulator's REST: the venue side of the kill switch path."""

    def __init__(self, rest: SimRest, refresh_s: float) -> None:
        self._rest = rest
        self._refresh_s = refresh_s
        self._tg: anyio.abc.TaskGroup | None = None
        self.qty = {"LONG": ZERO, "SHORT": ZERO}
        self.upnl = {"LONG": ZERO, "SHORT": ZERO}
        self.notional = {"LONG": ZERO, "SHORT": ZERO}
        self.equity: Decimal | None = None
        self.wallet0: Decimal | None = None
        self.wallet = ZERO
        self.margin_ratio: Decimal | None = None
        self.mark: Decimal | None = None
        self.fresh_ns: int | None = None
        self.halted: str | None = None
        self.pauses: set[str] = set()
        self.sent_ns: int | None = None
        self.acked_ns: int | None = None
        self.flat_ns: int | None = None

    async def run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            await self.refresh()
            task_status.started()
            while True:
                await anyio.sleep(self._refresh_s)
                await self.refresh()

    async def refresh(self) -> None:
        risk = await self._rest.call("GET", "/fapi/v3/positionRisk", {"symbol": SYMBOL})
        account = await self._rest.call("GET", "/fapi/v2/account")
        for row in risk:
            side = row["positionSide"]
            self.qty[side] = abs(Decimal(row["positionAmt"]))
            self.upnl[side] = Decimal(row["unRealizedProfit"])
            self.notional[side] = abs(Decimal(row["notional"]))
            self.mark = Decimal(row["markPrice"])
        self.wallet = Decimal(account["totalWalletBalance"])
        if self.wallet0 is None:
            self.wallet0 = self.wallet
        self.equity = Decimal(account["totalMarginBalance"])
        maint = Decimal(account["totalMaintMargin"])
        self.margin_ratio = maint / self.equity if self.equity > 0 else None
        self.fresh_ns = time.time_ns()

    # -- StrategyHandle
    def snapshot(self) -> StrategySnapshot:
        sides = {
            s: SideSnapshot(s, self.qty[s], None, self.upnl[s], self.notional[s], 0, ZERO, ZERO)
            for s in ("LONG", "SHORT")
        }
        state = TradingState.HALTED if self.halted else TradingState.RUNNING
        return StrategySnapshot(
            instrument_id="BTCUSDT-PERP.BINANCE",
            state=state,
            pause_reasons=tuple(self.pauses),
            regime="SIDEWAYS",
            center_price=self.mark,
            last_price=self.mark,
            throttle=Decimal(1),
            long=sides["LONG"],
            short=sides["SHORT"],
            realized_pnl=self.wallet - (self.wallet0 or self.wallet),
            unrealized_pnl=self.upnl["LONG"] + self.upnl["SHORT"],
            equity=self.equity,
            peak_equity=None,
            margin_ratio=self.margin_ratio,
            funding_rate=Decimal("0.0001"),
            next_funding_ns=None,
            last_bar_ns=self.fresh_ns,
            fills=0,
            circuit_breaker_trips=0,
        )

    def open_orders(self) -> Sequence[OrderView]:
        return []

    def ladders(self) -> Sequence[RungView]:
        return []

    def pause(self, reason: str) -> None:
        self.pauses.add(reason)

    def resume(self, reason: str) -> None:
        self.pauses.discard(reason)

    def set_throttle(self, value: Decimal) -> None:
        return None

    def cancel_entries(self) -> int:
        return 0

    def flatten(self, side: FlattenSide) -> FlattenTicket:
        assert self._tg is not None
        sides = ("LONG", "SHORT") if side is FlattenSide.BOTH else (side.value,)
        orders = {s: self.qty[s] for s in sides if self.qty[s] > 0}
        if self.sent_ns is None:
            self.sent_ns = time.time_ns()
        for s, q in orders.items():
            self._tg.start_soon(self._close, s, q)
        return FlattenTicket(sides=sides, entries_cancelled=0, closing_orders=orders)

    async def _close(self, side: str, qty: Decimal) -> None:
        await self._rest.market("SELL" if side == "LONG" else "BUY", side, qty)
        self.acked_ns = time.time_ns()
        await self.refresh()

    def is_flat(self, side: FlattenSide) -> bool:
        sides = ("LONG", "SHORT") if side is FlattenSide.BOTH else (side.value,)
        flat = all(self.qty[s] == 0 for s in sides)
        if flat and self.sent_ns is not None and self.flat_ns is None:
            self.flat_ns = time.time_ns()
        return flat

    def halt(self, reason: str) -> None:
        self.halted = reason

    def unhalt(self) -> None:
        self.halted = None


async def rest_rtt_ms(rest: SimRest, n: int = 30) -> float:
    samples = []
    for _ in range(n):
        t0 = anyio.current_time()
        await rest.public("/fapi/v1/time")
        samples.append((anyio.current_time() - t0) * 1000)
    return statistics.median(samples)


async def bench(
    trials: int, latency_ms: float, interval_s: float, confirm_s: float | None, state_dir: Path
) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    cfg = SimConfig(speed=1.0, minutes=600, start_price=Decimal(60000), loop_data=True)
    ks_cfg = KillSwitchConfig(
        check_interval_s=interval_s,
        confirm_interval_s=confirm_s,
        max_drawdown_pct=Decimal(2),
        max_margin_ratio=None,
        flatten_verify_timeout_s=2.0,
        flatten_poll_interval_s=0.01,
    )
    rows: list[dict[str, float]] = []
    phase = random.Random(7)
    async with SimExchange(cfg) as sim, aiohttp.ClientSession() as session:
        rest = SimRest(session, sim.base_url_http, cfg.api_key, cfg.api_secret)
        sim.set_latency(latency_ms / 1000)
        rtt = await rest_rtt_ms(rest)
        store = await AsyncStateStore.open(state_dir / "bench-state.db")
        handle = SimVenueHandle(rest, refresh_s=min(0.05, interval_s / 2))
        ks = KillSwitch(ks_cfg, strategy=handle, store=store)
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(handle.run)
                await tg.start(ks.run)
                for _ in range(trials):
                    await rest.market("BUY", "LONG", Decimal("0.2"))
                    await rest.market("SELL", "SHORT", Decimal("0.05"))
                    await handle.refresh()
                    if ks.latched:
                        await ks.reset(by="bench")
                    before = ks.checks_total
                    while ks.checks_total < before + ks_cfg.breach_window:  # noqa: ASYNC110
                        await anyio.sleep(interval_s / 4)
                    handle.sent_ns = handle.acked_ns = handle.flat_ns = None
                    previous = ks.last_flatten
                    await anyio.sleep(phase.uniform(0, interval_s))  # jump at a random phase
                    t_jump = time.time_ns()
                    await sim.jump_price(pct=Decimal(-10))
                    with anyio.fail_after(30):
                        while ks.last_flatten is previous:  # noqa: ASYNC110
                            await anyio.sleep(0.005)
                    outcome = ks.last_flatten
                    fired_ns = ks.status().fired_at_ns
                    assert outcome is not None
                    assert fired_ns is not None
                    assert handle.sent_ns is not None
                    assert handle.acked_ns is not None
                    assert handle.flat_ns is not None
                    rows.append(
                        {
                            "fired_ms": (fired_ns - t_jump) / 1e6,
                            "sent_ms": (handle.sent_ns - t_jump) / 1e6,
                            "decision_to_sent_ms": (handle.sent_ns - fired_ns) / 1e6,
                            "acked_ms": (handle.acked_ns - t_jump) / 1e6,
                            "flat_ms": (handle.flat_ns - t_jump) / 1e6,
                            "sent_to_flat_ms": (handle.flat_ns - handle.sent_ns) / 1e6,
                            "verified": float(outcome.verified),
                        }
                    )
                    await sim.jump_price(pct=Decimal("11.1"))
                tg.cancel_scope.cancel()
        finally:
            await store.aclose()
    print(f"== in-process venue handle, confirm_interval_s={confirm_s}")
    return report(rows, rtt, latency_ms, interval_s, ks_cfg.breaches_required)


def report(
    rows: list[dict[str, float]],
    rtt_ms: float,
    latency_ms: float,
    interval_s: float,
    k: int,
    *,
    acked: str = "jump -> closing orders acked",
    to_sent: str = "fired -> closing orders sent",
) -> int:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    def worst(key: str) -> float:
        return max(r[key] for r in rows)

    interval_ms = interval_s * 1000
    verified = all(r["verified"] for r in rows)
    print(f"kill switch vs simulator: {len(rows)} trials, sim REST latency {latency_ms:.0f} ms")
    print(
        f"  baseline: sim REST round trip (median) {rtt_ms:.2f} ms; "
        f"check interval {interval_ms:.0f} ms; rule {k} breaching checks"
    )
    for label, key in (
        ("jump -> kill switch fired", "fired_ms"),
        ("jump -> closing orders sent", "sent_ms"),
        (acked, "acked_ms"),
        ("jump -> flat at the venue", "venue_flat_ms"),
        ("jump -> flat verified", "flat_ms"),
        (to_sent, "decision_to_sent_ms"),
        ("sent -> flat verified", "sent_to_flat_ms"),
    ):
        if key not in rows[0]:
            continue
        m = med(key)
        print(
            f"  {label:31s} median {m:8.1f} ms  worst {worst(key):8.1f} ms"
            f"  = {m / interval_ms:5.2f} intervals = {m / max(rtt_ms, 1e-3):8.1f} x RTT"
        )
    sent_ok = worst("decision_to_sent_ms") <= interval_ms
    flat_ok = worst("sent_to_flat_ms") <= 2000 and verified
    print(
        "  target: closing orders sent within one check interval of the firing decision: "
        + ("OK" if sent_ok else "MISSED")
    )
    literal = med("sent_ms") <= interval_ms
    print(
        "  target: closing orders sent within one check interval of the jump (median): "
        + ("OK" if literal else f"MISSED ({k} breaching checks are required before firing)")
    )
    print("  target: flat verified within 2 s of sending: " + ("OK" if flat_ok else "MISSED"))
    return 0 if verified else 1


DAEMON_TOML = """
mode = "sim"
[venue]
base_url_http = "{http}"
base_url_ws = "{ws}"
[warmup]
total_deadline_s = 30
history_bars = 60
max_clock_skew_ms = 5000
[lifecycle]
ready_timeout_s = 60
stop_deadline_s = 20
[watchdog]
max_data_age_s = 60
[killswitch]
enabled = true
check_interval_s = {interval}
max_position_notional = "150"
flatten_poll_interval_s = 0.01
[metrics]
port = 0
[control]
socket_path = "{sock}"
systemd_socket = false
"""


def _log_event_ns(log_path: Path, event: str) -> int | None:
    """Wall-clock ns of the first JSON log line of ``event`` in the daemon's log."""
    from datetime import datetime

    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            doc = json.loads(line)
            if doc.get("event") == event:
                stamp = datetime.fromisoformat(str(doc["timestamp"]).replace("Z", "+00:00"))
                return int(stamp.timestamp() * 1e9)
    return None


async def daemon_trial(interval_s: float, workdir: Path) -> dict[str, float]:
    """One run of the real ``hedgegridd`` (HedgeGridStrategy, sim mode) against the simulator."""
    from hedgegridd.sim import SimBar

    (workdir / "state").mkdir(parents=True)
    (workdir / "run").mkdir()
    flat = Decimal(60000)
    bars = [SimBar(flat, flat, flat, flat) for _ in range(20000)]
    async with SimExchange(SimConfig(speed=120), bars=bars) as sim:
        config = workdir / "hedgegridd.toml"
        config.write_text(
            DAEMON_TOML.format(
                http=sim.base_url_http,
                ws=sim.base_url_ws,
                interval=interval_s,
                sock=workdir / "run" / "control.sock",
            )
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("HEDGEGRID_", "BINANCE_", "NOTIFY_", "WATCHDOG_"))
        }
        repo = str(Path(__file__).resolve().parents[1])
        env.update(
            STATE_DIRECTORY=str(workdir / "state"),
            RUNTIME_DIRECTORY=str(workdir / "run"),
            PYTHONPATH=repo,
        )
        log_path = workdir / "daemon.log"
        cmd = [sys.executable, "-m", "hedgegridd.supervisor.cli", "--config", str(config)]
        with log_path.open("wb") as log_file:
            proc = await anyio.open_process(
                [*cmd, "--log-format", "json"], cwd=repo, env=env, stdout=log_file, stderr=log_file
            )
        try:
            with anyio.fail_after(120):
                while not any(o.side == "BUY" for o in sim.engine.open_orders()):
                    if proc.returncode is not None:
                        raise RuntimeError(f"hedgegridd exited {proc.returncode}: see {log_path}")
                    await anyio.sleep(0.1)
            await anyio.sleep(2 * interval_s)
            level1 = max(o.price for o in sim.engine.open_orders() if o.side == "BUY")
            t_jump = time.time_ns()
            await sim.jump_price(to=level1 - Decimal(50))  # fills the first LONG entries
            with anyio.fail_after(60):
                while True:
                    closes = [
                        r
                        for r in sim.seen("/fapi/v1/order", "POST")
                        if r.params.get("type") == "MARKET" and r.at * 1e9 >= t_jump
                    ]
                    if closes and all(p.amt == 0 for p in sim.engine.positions.values()):
                        venue_flat = time.time_ns()
                        break
                    await anyio.sleep(0.005)
                while _log_event_ns(log_path, "flatten.flat_verified") is None:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
        finally:
            if proc.returncode is None:
                proc.terminate()
                with anyio.move_on_after(40):
                    await proc.wait()
                if proc.returncode is None:
                    proc.kill()
    fired = _log_event_ns(log_path, "killswitch.fired")
    sent = _log_event_ns(log_path, "flatten.closing_sent")
    verified = _log_event_ns(log_path, "flatten.flat_verified")
    assert fired is not None
    assert sent is not None
    assert verified is not None
    at_venue = int(min(r.at for r in closes) * 1e9)
    return {
        "fired_ms": (fired - t_jump) / 1e6,
        "sent_ms": (sent - t_jump) / 1e6,
        "decision_to_sent_ms": (at_venue - fired) / 1e6,
        "acked_ms": (at_venue - t_jump) / 1e6,
        "flat_ms": (verified - t_jump) / 1e6,
        "sent_to_flat_ms": (verified - sent) / 1e6,
        "venue_flat_ms": (venue_flat - t_jump) / 1e6,
        "verified": 1.0,
    }


async def bench_daemon(trials: int, interval_s: float, root: Path) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    async with aiohttp.ClientSession() as session:
        probe = SimExchange(SimConfig(speed=1.0, minutes=60))
        async with probe:
            rtt = await rest_rtt_ms(SimRest(session, probe.base_url_http, "k", "s"))
    rows = [await daemon_trial(interval_s, root / f"trial{i}") for i in range(trials)]
    print("== real hedgegridd (HedgeGridStrategy, Nautilus Binance adapter, sim mode)")
    return report(
        rows,
        rtt,
        0.0,
        interval_s,
        2,
        acked="jump -> closes reach the sim",
        to_sent="fired -> closes reach the sim",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--daemon-trials", type=int, default=1, help="0 skips the daemon run")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--interval-s", type=float, default=0.25)
    parser.add_argument(
        "--confirm-s", type=float, default=0.05, help="confirm_interval_s of the second run"
    )
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        code = 0
        for confirm in (None, args.confirm_s):
            root = Path(tmp) / f"confirm-{confirm}"
            root.mkdir()
            code |= anyio.run(bench, args.trials, args.latency_ms, args.interval_s, confirm, root)
        if args.daemon_trials > 0:
            code |= anyio.run(bench_daemon, args.daemon_trials, args.interval_s, Path(tmp))
        return code


if __name__ == "__main__":
    sys.exit(main())
