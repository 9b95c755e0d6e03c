"""The parity harness scores both engines with the optimizer's own metric functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hedgegridd.errors import ConfigError
from hedgegridd.optimize.metrics import BacktestOutcome, compute_metrics
from hedgegridd.params import default_strategy_params
from hedgegridd.screen import parity
from hedgegridd.screen.market import from_nautilus
from hedgegridd.screen.parity import run_pair, spearman, summarize
from hedgegridd.screen.reference import run_nautilus
from hedgegridd.screen.run import ScreenVenue, run_screen
from hedgegridd.screen.scenarios import scenario_market

MARKET = scenario_market("range", 1500, 7)
VENUE = ScreenVenue()


def _window_start(warm: int) -> int:
    arrays = from_nautilus(MARKET["instrument"], MARKET["bars"], MARKET["funding"], MARKET["marks"])
    return int(arrays.close_ns[warm]) - arrays.interval_ns


def test_parity_sharpe_is_the_optimizers_sharpe_for_both_engines() -> None:
    """Each engine's objective equals compute_metrics on that engine's own fills and equity."""
    params = default_strategy_params()
    warm = params.warmup_bars
    pair = run_pair(params, MARKET, VENUE, "sharpe")
    assert pair["screen"]["fills"] > 10
    assert pair["nautilus"]["fills"] > 10
    start = _window_start(warm)

    arrays = from_nautilus(MARKET["instrument"], MARKET["bars"], MARKET["funding"], MARKET["marks"])
    s = run_screen(params, arrays, VENUE, warmup_bars=warm)
    traded_ns = [int(t) for t in arrays.close_ns[warm:]]
    screen_want = compute_metrics(
        BacktestOutcome(
            start_ns=start,
            end_ns=traded_ns[-1],
            starting_balance=VENUE.starting_balance,
            fills=s.fill_records(),
            equity_ts_ns=tuple(traded_ns),
            equity=tuple(float(e) for e in s.equity),
            orders=s.orders,
        )
    )
    ref = run_nautilus(
        params,
        MARKET["instrument"],
        MARKET["bars"],
        MARKET["funding"],
        MARKET["marks"],
        VENUE,
        warmup_bars=warm,
    )
    r = ref.results
    nautilus_want = compute_metrics(
        BacktestOutcome(
            start_ns=start,
            end_ns=traded_ns[-1],
            starting_balance=r.starting_balance,
            fills=r.fills,
            equity_ts_ns=tuple(r.ts),
            equity=tuple(r.equity),
            orders=r.orders,
        )
    )
    assert screen_want.sharpe != 0.0
    assert pair["screen"]["objective"] == pytest.approx(screen_want.sharpe, rel=1e-12)
    assert pair["nautilus"]["objective"] == pytest.approx(nautilus_want.sharpe, rel=1e-12)
    assert pair["screen"]["metrics"] == screen_want.as_dict()
    assert pair["nautilus"]["metrics"] == nautilus_want.as_dict()


def test_summary_ranks_the_objective_and_net_pnl() -> None:
    """The summary carries the Spearman of the chosen objective and of net PnL."""

    def run(s_obj: float, n_obj: float, s_pnl: float, n_pnl: float) -> dict[str, object]:
        return {
            "screen": {"fills": 10, "objective": s_obj, "net_pnl": s_pnl, "seconds": 0.1},
            "nautilus": {"fills": 10, "objective": n_obj, "net_pnl": n_pnl, "seconds": 1.0},
        }

    runs = [run(1, 1, 3, 1), run(2, 2, 2, 2), run(3, 3, 1, 3), run(4, 4, 0, 4)]
    summary = summarize(runs, "sortino")
    assert summary["objective"] == "sortino"
    assert summary["spearman_sortino"] == pytest.approx(1.0)
    assert summary["spearman_net_pnl"] == pytest.approx(-1.0)
    assert summary["runs_within_5pct"] == 4
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_reuse_nautilus_rescores_the_kernel_without_running_nautilus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--reuse-nautilus takes each run's Nautilus side from an earlier --json output."""
    first = tmp_path / "first.json"
    argv = ["--sets", "1", "--bars", "1500", "--scenarios", "range", "--seed", "7"]
    assert parity.main([*argv, "--json", str(first)]) == 0
    done = json.loads(first.read_text())
    assert done["runs"][0]["nautilus"]["fills"] > 0

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("Nautilus must not run")

    monkeypatch.setattr(parity, "run_nautilus", refuse)
    again = tmp_path / "again.json"
    assert parity.main([*argv, "--reuse-nautilus", str(first), "--json", str(again)]) == 0
    redo = json.loads(again.read_text())
    assert redo["runs"][0]["nautilus"] == done["runs"][0]["nautilus"]
    assert redo["runs"][0]["screen"]["fills"] == done["runs"][0]["screen"]["fills"]
    with pytest.raises(ConfigError):
        parity.main(["--sets", "1", "--bars", "1600", "--reuse-nautilus", str(first)])


def test_reuse_nautilus_runs_the_sets_the_earlier_output_does_not_hold(tmp_path: Path) -> None:
    """Extending an earlier --json run to more sets runs Nautilus only for the new sets."""
    first = tmp_path / "first.json"
    argv = ["--bars", "1500", "--scenarios", "range", "--seed", "7"]
    assert parity.main([*argv, "--sets", "1", "--json", str(first)]) == 0
    more = tmp_path / "more.json"
    assert (
        parity.main([*argv, "--sets", "2", "--reuse-nautilus", str(first), "--json", str(more)])
        == 0
    )
    runs = json.loads(more.read_text())["runs"]
    assert [r["set"] for r in runs] == [0, 1]
    assert runs[0]["nautilus"] == json.loads(first.read_text())["runs"][0]["nautilus"]
    assert runs[1]["nautilus"]["fills"] > 0
    assert "seconds" in runs[1]["nautilus"]
