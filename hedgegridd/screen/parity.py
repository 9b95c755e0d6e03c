"""Parity harness: the screening kernel vs the Nautilus backtest on the same inputs.

    python -m hedgegridd.screen.parity --sets 40 --bars 50000          # full (hours of CPU)
    python -m hedgegridd.screen.parity --sets 8 --bars 10000 --json out.json

Parameter sets are drawn (seeded, uniformly within each range; categorical uniformly)
from the optimizer's ``[space]`` of ``--space`` (default
``etc/hedgegrid/optimize-example.toml``) over its base parameters; combinations the
strategy refuses are redrawn. Every set runs on every scenario of
``hedgegridd.screen.scenarios`` (trend up, trend down, range, crash) with both
engines; the first ``warmup_bars`` bars only prime the regime detector in both.

Per run: fills, round trips, fees, net PnL, max drawdown, final legs and the
objective of each engine. The objective (``--objective``, default the ``[objective]
metric`` of ``--space``; any optimizer metric, or ``max_drawdown``, the run's
drawdown fraction) is computed for both engines by the optimizer's own
``hedgegridd.optimize.metrics.compute_metrics`` from each engine's fills and
per-bar equity curve over the same traded bars (as the two evaluators do), so a
Sharpe here is the Sharpe a trial would score. Summary: median and max |fills
difference| (% of the Nautilus fills), runs within 5 %, and the Spearman rank
correlation across all runs of the objective and of net PnL. The Nautilus engine
is the reference for fills.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from hedgegridd.backtest.results import FillRecord
from hedgegridd.errors import BacktestError, ConfigError
from hedgegridd.optimize.config import (
    METRIC_DIRECTIONS,
    OptimizeConfig,
    ParamRange,
    load_optimize_config,
)
from hedgegridd.optimize.metrics import BacktestOutcome, Metrics, compute_metrics
from hedgegridd.optimize.space import base_document, build_params
from hedgegridd.params import StrategyParams
from hedgegridd.screen.market import from_nautilus
from hedgegridd.screen.reference import ReferenceRun, run_nautilus
from hedgegridd.screen.run import ScreenResult, ScreenVenue, run_screen
from hedgegridd.screen.scenarios import SCENARIOS, scenario_market

DEFAULT_SPACE = Path(__file__).resolve().parents[2] / "etc/hedgegrid/optimize-example.toml"
# Optimizer metrics (hedgegridd.optimize.metrics) plus the run's drawdown fraction.
OBJECTIVES = (*METRIC_DIRECTIONS, "max_drawdown")


def _draw(rng: random.Random, rng_def: ParamRange) -> Any:
    if rng_def.type == "categorical":
        assert rng_def.choices is not None
        return rng.choice(list(rng_def.choices))
    lo, hi = float(rng_def.low or 0), float(rng_def.high or 0)
    x = math.exp(rng.uniform(math.log(lo), math.log(hi))) if rng_def.log else rng.uniform(lo, hi)
    if rng_def.step:
        x = lo + round((x - lo) / rng_def.step) * rng_def.step
    if rng_def.type == "int":
        return round(x)
    return round(x, 6)


def draw_params(config: OptimizeConfig, count: int, seed: int) -> list[StrategyParams]:
    """``count`` valid parameter sets from the optimizer's space (seeded)."""
    rng = random.Random(seed)
    base = base_document(config)
    out: list[StrategyParams] = []
    attempts = 0
    while len(out) < count and attempts < count * 50:
        attempts += 1
        values = {name: _draw(rng, r) for name, r in config.space.items()}
        try:
            out.append(build_params(base, values))
        except ConfigError:
            continue
    return out


def spearman(a: list[float], b: list[float]) -> float | None:
    """Spearman rank correlation (average ranks for ties); None with < 3 points."""
    if len(a) < 3:
        return None

    def ranks(x: list[float]) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float64)
        order = arr.argsort(kind="mergesort")
        r = np.empty(len(arr))
        r[order] = np.arange(len(arr), dtype=np.float64)
        for v in np.unique(arr):
            idx = arr == v
            r[idx] = r[idx].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def screen_outcome(s: ScreenResult, start_ns: int, venue: ScreenVenue) -> BacktestOutcome:
    """The screening run as the screen evaluator hands it to the optimizer's metrics."""
    traded_ns = s.close_ns[s.close_ns.size - s.equity.size :]
    return BacktestOutcome(
        start_ns=start_ns,
        end_ns=int(traded_ns[-1]) if traded_ns.size else start_ns,
        starting_balance=venue.starting_balance,
        fills=s.fill_records(),
        equity_ts_ns=tuple(int(t) for t in traded_ns),
        equity=tuple(float(e) for e in s.equity),
        orders=s.orders,
    )


def nautilus_outcome(ref: ReferenceRun, start_ns: int) -> BacktestOutcome:
    """The Nautilus run as the Nautilus evaluator hands it to the optimizer's metrics."""
    r = ref.results
    return BacktestOutcome(
        start_ns=start_ns,
        end_ns=r.ts[-1] if r.ts else start_ns,
        starting_balance=r.starting_balance,
        fills=r.fills,
        equity_ts_ns=tuple(r.ts),
        equity=tuple(r.equity),
        orders=r.orders,
    )


def _objective(outcome: BacktestOutcome, run: dict[str, Any], objective: str) -> None:
    """Add the optimizer's metrics and the objective value (None if metrics refuse the run)."""
    try:
        metrics: Metrics | None = compute_metrics(outcome)
    except BacktestError as exc:
        metrics = None
        run["metrics_error"] = str(exc)
    run["metrics"] = metrics.as_dict() if metrics is not None else None
    if objective == "max_drawdown":
        run["objective"] = run["max_drawdown"]
    else:
        run["objective"] = getattr(metrics, objective) if metrics is not None else None


def fill_key(f: FillRecord) -> tuple[int, str, str, str, str, str]:
    """A fill as (time, leg, order side, price, quantity, tag) for fill-by-fill diffs."""
    return (
        f.ts_ns,
        f.position_side,
        f.order_side,
        str(f.price.normalize()),
        str(f.quantity.normalize()),
        f.tag,
    )


def first_divergence(a: Sequence[tuple[Any, ...]], b: Sequence[tuple[Any, ...]]) -> int | None:
    """Index of the first differing fill of two fill sequences (None if identical)."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def print_fill_diff(
    screen: Sequence[FillRecord], nautilus: Sequence[FillRecord], close_ns: Any, context: int
) -> None:
    """Both engines' fills side by side around the first divergence (bar index from 0;
    fills of one bar sorted: the Nautilus results do not keep their order within a bar)."""
    a = sorted(fill_key(f) for f in screen)
    b = sorted(fill_key(f) for f in nautilus)
    i = first_divergence(a, b)
    if i is None:
        print(f"fills identical ({len(a)})")
        return
    print(f"first divergence at fill {i} (screen {len(a)}, nautilus {len(b)} fills)")
    for k in range(max(0, i - context), min(max(len(a), len(b)), i + context)):
        row = []
        for seq in (a, b):
            if k < len(seq):
                ts, leg, side, px, qty, tag = seq[k]
                bar = int(np.searchsorted(close_ns, ts, side="left"))
                row.append(f"bar {bar:>6} {leg:5} {side:4} {px:>9} {qty:>6} {tag:7}")
            else:
                row.append(" " * 48)
        mark = "  " if k < min(len(a), len(b)) and a[k] == b[k] else "!="
        print(f"{k:>6} {row[0]} {mark} {row[1]}")


def run_pair(
    params: StrategyParams,
    market: dict[str, Any],
    venue: ScreenVenue,
    objective: str = "sharpe",
    *,
    dump_fills: int = 0,
    nautilus: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Both engines on one market; their figures and objective side by side (with
    ``dump_fills`` > 0, print both fill sequences around their first divergence). A
    given ``nautilus`` side (from an earlier run's JSON) is reused, not run again."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r} (one of {', '.join(OBJECTIVES)})")
    warm = params.warmup_bars
    arrays = from_nautilus(market["instrument"], market["bars"], market["funding"], market["marks"])
    s = run_screen(params, arrays, venue, warmup_bars=warm, record_fills=True)
    # The window opens where the first traded bar's minute opens (as a trial window does).
    start_ns = int(arrays.close_ns[min(warm, len(arrays) - 1)]) - arrays.interval_ns
    pair: dict[str, Any] = {
        "screen": {
            "fills": s.fills,
            "round_trips": s.round_trips,
            "fees": round(s.fees, 4),
            "net_pnl": round(s.net_pnl, 4),
            "max_drawdown": round(s.max_drawdown, 6),
            "legs": [str(s.final_long_qty), str(s.final_short_qty)],
            "seconds": round(s.run_seconds, 4),
        },
    }
    _objective(screen_outcome(s, start_ns, venue), pair["screen"], objective)
    if nautilus is not None:
        pair["nautilus"] = nautilus
        return pair
    ref = run_nautilus(
        params,
        market["instrument"],
        market["bars"],
        market["funding"],
        market["marks"],
        venue,
        warmup_bars=warm,
    )
    m = ref.metrics
    pair["nautilus"] = {
        "fills": m["fills"],
        "round_trips": m["round_trips"],
        "fees": float(m["fees"]),
        "net_pnl": float(m["net_pnl"]),
        "max_drawdown": m["max_drawdown"],
        "legs": [m["exposure"]["final_long_qty"], m["exposure"]["final_short_qty"]],
        "seconds": round(ref.run_seconds, 3),
    }
    if dump_fills > 0:
        print_fill_diff(s.fill_records(), ref.results.fills, arrays.close_ns, dump_fills)
    _objective(nautilus_outcome(ref, start_ns), pair["nautilus"], objective)
    return pair


def load_reference(path: Path, args: argparse.Namespace, objective: str) -> dict[Any, Any]:
    """The Nautilus sides of an earlier ``--json`` run, by (scenario, set); refused when
    it was made with another seed, bar count, space or objective."""
    doc = json.loads(path.read_text())
    made = doc.get("config", {})
    want = {"seed": args.seed, "bars": args.bars, "space": str(args.space), "objective": objective}
    for key, value in want.items():
        if key in made and made[key] != value:
            raise ConfigError(f"--reuse-nautilus {path}: made with {key}={made[key]!r}")
    if doc["summary"].get("objective") != objective:
        raise ConfigError(f"--reuse-nautilus {path}: objective {doc['summary'].get('objective')}")
    return {(r["scenario"], r["set"]): r["nautilus"] for r in doc["runs"]}


def _spearman_of(runs: list[dict[str, Any]], key: str) -> tuple[float | None, int]:
    """Spearman of ``key`` over the runs where both engines have a value, and that count."""
    both = [r for r in runs if r["screen"][key] is not None and r["nautilus"][key] is not None]
    s_val = [float(r["screen"][key]) for r in both]
    n_val = [float(r["nautilus"][key]) for r in both]
    rho = spearman(s_val, n_val)
    return (round(rho, 4) if rho is not None else None), len(both)


def summarize(runs: list[dict[str, Any]], objective: str) -> dict[str, Any]:
    """Median/max fills difference (% of Nautilus), Spearman of the objective and net PnL."""
    diffs = [
        abs(r["screen"]["fills"] - r["nautilus"]["fills"]) / max(1, r["nautilus"]["fills"]) * 100
        for r in runs
    ]
    rho_obj, n_obj = _spearman_of(runs, "objective")
    rho_pnl, _ = _spearman_of(runs, "net_pnl")
    return {
        "runs": len(runs),
        "objective": objective,
        "median_fills_diff_pct": round(float(np.median(diffs)), 3) if diffs else None,
        "max_fills_diff_pct": round(max(diffs), 3) if diffs else None,
        "runs_within_5pct": sum(1 for d in diffs if d <= 5.0),
        "spearman_" + objective: rho_obj,
        "objective_runs": n_obj,
        "spearman_net_pnl": rho_pnl,
        "screen_seconds": round(sum(r["screen"]["seconds"] for r in runs), 3),
        "nautilus_seconds": round(sum(r["nautilus"]["seconds"] for r in runs), 3),
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(prog="python -m hedgegridd.screen.parity", description=__doc__)
    ap.add_argument("--sets", type=int, default=40, help="parameter sets (default 40)")
    ap.add_argument("--bars", type=int, default=50_000, help="bars per scenario (default 50000)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--space", type=Path, default=DEFAULT_SPACE, help="optimizer config")
    ap.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default=None,
        help="metric ranked by the Spearman (default: [objective] metric of --space)",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write every run here")
    ap.add_argument(
        "--set", type=int, default=None, dest="only_set", help="run only this set (index)"
    )
    ap.add_argument(
        "--dump-fills",
        type=int,
        default=0,
        metavar="N",
        help="print both engines' fills (bar, leg, side, price, qty, kind) within N of "
        "their first divergence",
    )
    ap.add_argument(
        "--reuse-nautilus",
        type=Path,
        default=None,
        metavar="JSON",
        help="take the Nautilus side of each run from an earlier --json output of the same "
        "seed/bars/space (re-scores the screening kernel without re-running Nautilus); "
        "runs it does not hold are run (extends an earlier run to more sets)",
    )
    args = ap.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    config = load_optimize_config(args.space)
    objective = args.objective or config.objective.metric
    venue = ScreenVenue.of(config.backtest)
    sets = draw_params(config, args.sets, args.seed)
    reuse = load_reference(args.reuse_nautilus, args, objective) if args.reuse_nautilus else {}
    runs: list[dict[str, Any]] = []
    print(f"scenario set engine fills round_trips fees net_pnl max_dd legs(L,S) {objective}")
    for kind in args.scenarios.split(","):
        market = scenario_market(kind, args.bars, args.seed)
        for i, params in enumerate(sets):
            if args.only_set is not None and i != args.only_set:
                continue
            if args.dump_fills:
                print(f"-- {kind} set {i}")
            pair = run_pair(
                params,
                market,
                venue,
                objective,
                dump_fills=args.dump_fills,
                nautilus=reuse.get((kind, i)),
            )
            pair.update(scenario=kind, set=i)
            runs.append(pair)
            for eng in ("screen", "nautilus"):
                r = pair[eng]
                print(
                    f"{kind} {i} {eng} {r['fills']} {r['round_trips']} {r['fees']} "
                    f"{r['net_pnl']} {r['max_drawdown']} {','.join(r['legs'])} {r['objective']}",
                    flush=True,
                )
    summary = summarize(runs, objective)
    print("summary " + json.dumps(summary))
    if args.json is not None:
        made = {"seed": args.seed, "bars": args.bars, "space": str(args.space)}
        made["objective"] = objective
        doc = {"config": made, "summary": summary, "runs": runs}
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
