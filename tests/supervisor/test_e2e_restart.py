"""End-to-end restart safety: kill -9 of the real daemon running ``HedgeGridStrategy``.

After a restart the Binance adapter reconciles our resting orders with
``position_id=None`` and no tags; the strategy must still recognise every one of them
(kind, side, level from the client order id), never duplicate an entry, and keep per
side resting TP quantity == resting SL quantity == the venue position.
"""

from __future__ import annotations

import signal
import sqlite3
from collections import Counter
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from hedgegridd.control.client import ControlClient
from hedgegridd.core.order_ids import OrderKind, decode
from hedgegridd.sim import SimBar, SimConfig, SimExchange

from .daemon_harness import sim_config_toml, start_daemon

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

ZERO = Decimal(0)
SIDES = ("LONG", "SHORT")
LEGACY_ID = "O-20261124-224136-001-001-21"


def flat(price: str, n: int) -> list[SimBar]:
    p = Decimal(price)
    return [SimBar(p, p, p, p) for _ in range(n)]


async def _call(sock: Path, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    async with await ControlClient.connect(sock) as client:
        return await client.call_raw(command, args)


def venue_book(sim: SimExchange) -> dict[str, dict[str, Decimal]]:
    """Per side: venue position, resting TP qty (closing limits), resting SL qty (algo stops)."""
    out: dict[str, dict[str, Decimal]] = {}
    for side in SIDES:
        closing = "SELL" if side == "LONG" else "BUY"
        out[side] = {
            "pos": abs(sim.engine.positions[side].amt),
            "tp": sum(
                (
                    o.qty
                    for o in sim.engine.open_orders()
                    if o.position_side == side and o.side == closing
                ),
                ZERO,
            ),
            "sl": sum(
                (
                    a.qty
                    for a in sim.engine.open_algos()
                    if a.position_side == side and a.side == closing
                ),
                ZERO,
            ),
        }
    return out


def entry_keys(sim: SimExchange) -> list[tuple[str, Decimal]]:
    """(side, price) of every resting opening-side limit (an entry at one grid level)."""
    return [
        (o.position_side, o.price)
        for o in sim.engine.open_orders()
        if (o.position_side, o.side) in (("LONG", "BUY"), ("SHORT", "SELL"))
    ]


def balanced(sim: SimExchange) -> bool:
    """Per side resting TP qty == resting SL qty == position; no entry duplicated."""
    book = venue_book(sim)
    keys = entry_keys(sim)
    no_dupes = len(keys) == len(set(keys))
    return no_dupes and all(b["tp"] == b["sl"] == b["pos"] for b in book.values())


def assert_balanced(sim: SimExchange) -> None:
    keys = entry_keys(sim)
    dupes = [k for k, n in Counter(keys).items() if n > 1]
    assert dupes == [], f"duplicate entries at {dupes}"
    ids = [o.client_id for o in sim.engine.open_orders()]
    ids += [a.client_algo_id for a in sim.engine.open_algos()]
    infos = [decode(i) for i in ids]
    assert None not in infos, ids  # every resting order is one of ours, named by its id
    levels = [(i.side, i.level) for i in infos if i is not None and i.kind is OrderKind.ENTRY]
    assert len(levels) == len(set(levels)), f"duplicate entry levels {levels}"
    for side, b in venue_book(sim).items():
        assert b["tp"] == b["sl"] == b["pos"], f"{side}: {b}"


def db_decimal(state_dir: Path, key: str) -> Decimal | None:
    """A decimal the daemon persisted in its StateStore (read straight from SQLite)."""
    conn = sqlite3.connect(state_dir / "hedgegridd.db")
    try:
        row = conn.execute("SELECT value FROM kv_decimal WHERE key = ?", (key,)).fetchone()
    finally:
        conn.close()
    return None if row is None else Decimal(row[0])


async def test_kill9_restart_readopts_every_order_without_excess_exits(tmp_path: Path) -> None:
    """kill -9 + restart: orders re-adopted by id, TP == SL == position per side, state restored."""
    async with SimExchange(SimConfig(speed=600), bars=flat("60000", 100_000)) as sim:
        config = sim_config_toml(sim, tmp_path)
        sock = tmp_path / "run" / "control.sock"
        first = start_daemon(config, tmp_path, factory=None, watchdog_usec=None, tag="first")
        try:
            await first.wait_lines(lambda ls: "READY=1" in ls, deadline_s=180)

            async def laddered() -> bool:
                keys = entry_keys(sim)
                return len([k for k in keys if k[0] == "LONG"]) >= 3

            await first.until(laddered, "entry ladder placed")
            await sim.jump_price(to=Decimal("59640"))  # fills the first two LONG levels

            async def protected() -> bool:
                book = venue_book(sim)
                return book["LONG"]["pos"] > 0 and balanced(sim)

            await first.until(protected, "LONG entries filled with TP and SL resting")
            assert len(sim.engine.trades) > 0
            assert venue_book(sim)["LONG"]["sl"] > 0
            throttled = await _call(sock, "throttle", {"value": "0.5"})
            assert throttled["throttle"] == "0.5"

            async def peak_persisted() -> Decimal | None:
                return await anyio.to_thread.run_sync(db_decimal, tmp_path / "state", "peak_equity")

            peak = await first.until(peak_persisted, "peak equity persisted")
            first.signal(signal.SIGKILL)
            assert await first.wait_exit(20) == -signal.SIGKILL
        finally:
            first.stop_now()
        before = venue_book(sim)
        entries_before = sorted(entry_keys(sim))
        resting_before = len(sim.engine.open_orders()) + len(sim.engine.open_algos())
        # A stop whose id is not ours (an earlier version's id, the reported defect): the
        # restarted strategy cannot classify it, so it must cancel it.
        await sim.place_algo_order(
            {
                "symbol": "BTCUSDT",
                "side": "SELL",
                "positionSide": "LONG",
                "type": "STOP_MARKET",
                "quantity": "0.003",
                "triggerPrice": "57000.0",
                "algoType": "CONDITIONAL",
                "clientAlgoId": LEGACY_ID,
            }
        )

        second = start_daemon(config, tmp_path, factory=None, watchdog_usec=None, tag="second")
        try:
            await second.wait_lines(lambda ls: "READY=1" in ls, deadline_s=180)
            status = await second.until(lambda: _call(sock, "status"), "status after restart")
            assert status["throttle"] == "0.5"
            restored = next(e for e in second.events() if e["event"] == "state.restored")
            assert Decimal(str(restored["peak_equity"])) == peak
            # The restored peak (replies carry 8 dp) is never below the persisted one.
            assert Decimal(status["peak_equity"]) >= peak.quantize(Decimal("1e-8"), ROUND_DOWN)
            pos = await _call(sock, "positions")
            assert Decimal(pos["long"]["quantity"]) == before["LONG"]["pos"]
            assert Decimal(pos["short"]["quantity"]) == before["SHORT"]["pos"]
            adopted = next(e for e in second.events() if e["event"] == "strategy.adopted")
            assert adopted["orders"] == resting_before
            assert adopted["unknown_cancelled"] == 1
            assert Decimal(str(adopted["long_qty"])) == before["LONG"]["pos"]

            # Bars pass: nothing re-placed on top of the adopted orders.
            await anyio.sleep(3)
            assert LEGACY_ID not in [a.client_algo_id for a in sim.engine.open_algos()]
            assert_balanced(sim)
            assert venue_book(sim) == before
            assert sorted(entry_keys(sim)) == entries_before

            # The price comes back: the TPs close the LONG, its stops must go with it.
            await sim.jump_price(to=Decimal("60200"))

            async def long_closed_and_clean() -> bool:
                book = venue_book(sim)
                return book["LONG"]["pos"] == 0 and book["LONG"]["sl"] == 0 and balanced(sim)

            await second.until(long_closed_and_clean, "LONG closed and its stops cancelled")
            await anyio.sleep(2)
            assert_balanced(sim)
        finally:
            second.stop_now()
