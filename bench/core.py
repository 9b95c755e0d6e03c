"""Microseconds per bar for the whole pure-core decision, at 10, 50 and 100 levels per side.

Run: ``.venv/bin/python bench/core.py``. Each bar runs regime update + risk check +
``GridEngine.decide`` (recenter, ladder, policy, funding, throttle, precision, cap, diff,
exits); building the live-order tuples (the adapter's work) is not timed. Paths
measured in this same run:

* requote: the center moves every bar (forced recenter) and the LONG position changes
  every bar; live orders are the previous decision applied: both ladders are re-priced,
  every entry is replaced and exits are re-planned (the worst case, rare in practice);
* fill: the LONG position changes every bar (an entry fill, then a TP fill) without a
  recenter: inventory cap, diff and exit planning rerun, prices are not rebuilt;
* unchanged: mid jitters inside the recenter band, nothing else moves (the common case);
* naive baseline: the unchanged inputs through an engine with its caches off
  (recompute everything every bar). The ratio naive / unchanged is the cache's gain.
Target: unchanged path under 100 us per bar at 10 levels per side.
"""

from __future__ import annotations

import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hedgegridd.core import (
    DecisionInputs,
    ExitSpec,
    FundingState,
    GridEngine,
    GridParams,
    InstrumentRules,
    LadderSpec,
    LiveEntry,
    Position,
    RegimeDetector,
    RegimeSpec,
    RestingExit,
    RiskGate,
    RiskSpec,
    Side,
)
from hedgegridd.core.engine import Decision

D = Decimal
MIN = 60_000_000_000
RULES = InstrumentRules(D("0.10"), D("0.001"), D("0.001"), D("1000"), D("100"))


def _params(levels: int) -> GridParams:
    return GridParams(
        ladder=LadderSpec(
            step_bps=D(10),
            levels_per_side=levels,
            base_qty=D("0.003"),
            max_inventory_qty=D(100),
            recenter_bps=D(200),
        ),
        exits=ExitSpec(tp_bps=D(40), sl_bps=D(400)),
        regime=RegimeSpec(),
        risk=RiskSpec(max_position_qty=D(100)),
    )


def _apply(live: tuple[LiveEntry, ...], d: Decision, n: int) -> tuple[LiveEntry, ...]:
    if d.entries.is_empty:
        return live
    gone = {c.order_id for c in d.entries.cancels}
    kept = [o for o in live if o.order_id not in gone]
    kept += [
        LiveEntry(f"{n}-{i}", p.rung.side, p.rung.level, p.rung.price, p.rung.qty)
        for i, p in enumerate(d.entries.places)
    ]
    return tuple(kept)


def _exits(d: Decision, resting: tuple[RestingExit, ...], n: int) -> tuple[RestingExit, ...]:
    if d.exits.is_empty:
        return resting
    gone = {c.order_id for c in d.exits.cancels}
    kept = [e for e in resting if e.order_id not in gone]
    kept += [
        RestingExit(f"x{n}-{i}", p.side, p.kind, p.price, p.qty)
        for i, p in enumerate(d.exits.places)
    ]
    return tuple(kept)


def run(levels: int, bars: int, mode: str) -> float:
    """Median-of-3 microseconds per bar for ``mode`` in {requote, fill, unchanged, naive}."""
    results = []
    for _ in range(3):
        engine = GridEngine(_params(levels), RULES, cache=(mode != "naive"))
        detector = RegimeDetector(RegimeSpec())
        gate = RiskGate(RiskSpec(max_position_qty=D(100)), peak_equity=D(10_000))
        funding = FundingState(rate=D("0.0001"), next_funding_ns=480 * MIN)
        long_pos = Position(Side.LONG, D("0.006"), D("49900"))
        short_pos = Position(Side.SHORT, D("0.003"), D("50100"))
        live: tuple[LiveEntry, ...] = ()
        resting: tuple[RestingExit, ...] = ()
        center: Decimal | None = None
        # settle: one decision applied, so the unchanged path starts from a synced book
        d = engine.decide(
            DecisionInputs(D(50000), None, detector.regime, 0, long_pos, short_pos, live, resting)
        )
        center, live, resting = d.center, _apply(live, d, 0), _exits(d, resting, 0)
        mids = [D(50000) + D(i % 7) for i in range(bars)]
        elapsed = 0
        clock = time.perf_counter_ns
        for n in range(1, bars + 1):
            now = n * MIN
            mid = mids[n - 1]
            if mode in ("requote", "fill"):
                long_pos = Position(Side.LONG, D("0.006") if n % 2 else D("0.009"), D("49900"))
            start = clock()
            if mode == "requote":
                mid = D(50000) + D(n * 3)
                center = None  # force a recenter: full rebuild and re-diff
            regime = detector.update(mid + 5, mid - 5, mid)
            gate.on_bar(now)
            verdict = gate.check_entries(now)
            d = engine.decide(
                DecisionInputs(
                    mid=mid,
                    center=center,
                    regime=regime,
                    now_ns=now,
                    long=long_pos,
                    short=short_pos,
                    live_entries=live,
                    resting_exits=resting,
                    funding=funding,
                    throttle=D(1) if verdict.allowed else D(0),
                )
            )
            elapsed += clock() - start
            center = d.center
            if mode in ("requote", "fill"):  # the adapter's work, not timed
                live, resting = _apply(live, d, n), _exits(d, resting, n)
        results.append(elapsed / bars / 1000)
    return statistics.median(results)


def main() -> None:
    """Print the table and ratios."""
    print(
        f"{'levels/side':>11} {'requote us':>11} {'fill us':>8} {'unchanged us':>13} "
        f"{'naive us':>9} {'naive/unchanged':>16}"
    )
    for levels, bars in ((10, 3000), (50, 1000), (100, 600)):
        requote = run(levels, max(bars // 5, 100), "requote")
        fill = run(levels, max(bars // 2, 100), "fill")
        unchanged = run(levels, bars, "unchanged")
        naive = run(levels, max(bars // 5, 100), "naive")
        ratio = naive / unchanged if unchanged > 0 else float("inf")
        print(
            f"{levels:>11} {requote:>11.1f} {fill:>8.1f} {unchanged:>13.1f} {naive:>9.1f} "
            f"{ratio:>15.1f}x"
        )
    target = run(10, 3000, "unchanged")
    status = "OK" if target < 100 else "ABOVE TARGET"
    print(f"target: unchanged path < 100 us/bar at 10 levels/side: {target:.1f} us ({status})")


if __name__ == "__main__":
    main()
