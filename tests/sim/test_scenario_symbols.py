"""Scenario steps naming a symbol: validation, routing to that symbol's market, errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from hedgegridd.errors import ConfigError
from hedgegridd.sim import SimBar, SimConfig, SimExchange
from hedgegridd.sim.cli import run_sim
from hedgegridd.sim.scenarios import load_scenario_file, parse_step, parse_steps, route_steps

D = Decimal
REPO = Path(__file__).resolve().parents[2]
BTC = [SimBar(D("60000"), D("60000"), D("60000"), D("60000"))] * 500
ETH = [SimBar(D("3000"), D("3000"), D("3000"), D("3000"))] * 500
BARS = {"BTCUSDT": BTC, "ETHUSDT": ETH}
TWO = SimConfig(speed=1, symbols=("BTCUSDT", "ETHUSDT"))
ETH_GAP = """
description = "ETH gaps down 10 %, BTC is left alone"
[[steps]]
kind = "gap"
symbol = "ETHUSDT"
pct = -10
[[steps]]
kind = "premium"
symbol = "ethusdt"
bps = 50
"""


def write(tmp_path: Path, text: str, name: str = "scenario.toml") -> Path:
    """A scenario file with ``text``."""
    path = tmp_path / name
    path.write_text(text)
    return path


async def until(check: Callable[[], bool], what: str) -> None:
    """Wait (generous deadline) until ``check()`` holds; the clock applies steps at its points."""
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def limit_buy(symbol: str, price: str, qty: str) -> dict[str, str]:
    """POST /fapi/v1/order params of a GTC LIMIT BUY opening a LONG."""
    return {
        "symbol": symbol,
        "side": "BUY",
        "positionSide": "LONG",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": price,
        "quantity": qty,
    }


def test_a_step_may_name_its_symbol_and_files_without_one_are_unchanged(tmp_path: Path) -> None:
    """`symbol` is validated and normalised per step; steps without one keep symbol None."""
    steps = load_scenario_file(write(tmp_path, ETH_GAP), ("BTCUSDT", "ETHUSDT"))
    assert [(s.kind, s.symbol) for s in steps] == [("gap", "ETHUSDT"), ("premium", "ETHUSDT")]
    assert steps[0].describe() == {
        "kind": "gap",
        "start_s": "0",
        "symbol": "ETHUSDT",
        "pct": "-10",
    }
    for name in ("crash.toml", "stress.toml"):
        shipped = load_scenario_file(REPO / "docs" / "scenarios" / name, ("BTCUSDT",))
        assert {s.symbol for s in shipped} == {None}
        assert "symbol" not in shipped[0].describe()
    with pytest.raises(ConfigError, match=r"steps\[0\]: 'symbol' must be a symbol name"):
        parse_steps([{"kind": "gap", "pct": -1, "symbol": 7}])
    with pytest.raises(ConfigError, match="'symbol' must be a symbol name"):
        parse_step({"kind": "gap", "pct": -1, "symbol": "BTC/USDT"})


def test_the_two_symbol_example_loads_for_the_two_instance_demo() -> None:
    """docs/scenarios/two_symbols.toml moves both demo symbols and needs both served."""
    path = REPO / "docs" / "scenarios" / "two_symbols.toml"
    steps = load_scenario_file(path, ("BTCUSDT", "ETHUSDT"))
    routed = route_steps(steps, ("BTCUSDT", "ETHUSDT"))
    assert set(routed) == {"BTCUSDT", "ETHUSDT"}
    with pytest.raises(ConfigError, match="'ETHUSDT' is not served"):
        load_scenario_file(path, ("BTCUSDT",))


def test_an_unknown_symbol_is_refused_at_load_naming_file_step_and_symbols(
    tmp_path: Path,
) -> None:
    """Loading for the served symbols refuses a step naming another one, before anything runs."""
    path = write(
        tmp_path,
        '[[steps]]\nkind = "gap"\npct = -5\n[[steps]]\nkind = "gap"\npct = -5\n'
        'symbol = "XRPUSDT"\n',
    )
    with pytest.raises(ConfigError) as err:
        load_scenario_file(path, ("BTCUSDT", "ETHUSDT"))
    message = str(err.value)
    assert str(path) in message
    assert "steps[1]: 'symbol' 'XRPUSDT' is not served by the simulator" in message
    assert "(symbols: BTCUSDT, ETHUSDT)" in message
    steps = load_scenario_file(path)  # without the served symbols: syntax only
    with pytest.raises(ConfigError, match="'XRPUSDT' is not served"):
        SimExchange(TWO, bars=BARS, scenario=steps)


def test_route_steps_groups_by_symbol_in_order_with_a_default() -> None:
    """Steps without a symbol go to the default (else the first symbol), order kept."""
    steps = parse_steps(
        [
            {"kind": "gap", "pct": -1},
            {"kind": "gap", "pct": -2, "symbol": "ETHUSDT"},
            {"kind": "gap", "pct": -3},
        ]
    )
    symbols = ("BTCUSDT", "ETHUSDT")
    first = route_steps(steps, symbols)
    assert {k: [s.params["pct"] for s in v] for k, v in first.items()} == {
        "BTCUSDT": [D(-1), D(-3)],
        "ETHUSDT": [D(-2)],
    }
    assert list(route_steps(steps, symbols, "ETHUSDT")) == ["ETHUSDT"]


def test_sim_cli_refuses_a_step_for_a_symbol_it_does_not_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hedgegrid sim --symbols BTCUSDT --scenario F` exits 2 when F moves ETHUSDT."""
    from hedgegridd.tools_cli import build_parser

    path = write(tmp_path, ETH_GAP)
    args = build_parser().parse_args(["sim", "--symbols", "BTCUSDT", "--scenario", str(path)])
    assert args.handler is run_sim
    assert args.handler(args) == 2
    err = capsys.readouterr().err
    assert "'ETHUSDT' is not served by the simulator (symbols: BTCUSDT)" in err


def test_demo_refuses_a_step_for_a_symbol_it_runs_no_instance_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hedgegrid demo --scenario F` (one instance: BTCUSDT) exits 2 when F moves ETHUSDT."""
    from hedgegridd.demo import _run
    from hedgegridd.tools_cli import build_parser

    path = write(tmp_path, ETH_GAP)
    args = build_parser().parse_args(["demo", "--duration", "1", "--scenario", str(path)])
    assert asyncio.run(_run(args, tmp_path / "demo")) == 2
    assert "'ETHUSDT' is not served by the simulator (symbols: BTCUSDT)" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()  # refused before any daemon was laid out


def test_a_director_refuses_a_step_naming_another_symbol() -> None:
    """Scheduling an ETH step on BTC's director directly is an error, not a BTC move."""
    sim = SimExchange(TWO, bars=BARS)
    step = parse_step({"kind": "gap", "pct": -10, "symbol": "ETHUSDT"})
    with pytest.raises(ConfigError, match="names symbol 'ETHUSDT', scheduled on 'BTCUSDT'"):
        sim.director.schedule([step])
    assert sim.director.shaper.pending == []


@pytest.mark.asyncio
async def test_a_file_step_for_the_second_symbol_moves_only_that_market(tmp_path: Path) -> None:
    """A scenario file given at start gaps ETH (its resting buy fills) and leaves BTC alone."""
    steps = load_scenario_file(write(tmp_path, ETH_GAP), TWO.symbols)
    sim = SimExchange(TWO, bars=BARS, scenario=steps)
    eth = sim.market("ETHUSDT")
    btc_buy = await sim.place_order(limit_buy("BTCUSDT", "55000", "0.010"))
    eth_buy = await sim.place_order(limit_buy("ETHUSDT", "2800", "0.100"))
    assert (btc_buy["status"], eth_buy["status"]) == ("NEW", "NEW")
    async with sim:
        await until(lambda: eth.director.idle and eth.engine.price == D("2700"), "the ETH gap")
        assert eth.engine.positions["LONG"].amt == D("0.100")  # the resting buy filled
        assert eth.engine.ledger.premium_bps == D(50)
        assert sim.engine.price == D("60000")
        assert sim.engine.positions["LONG"].amt == 0
        assert len(sim.engine.open_orders()) == 1
        assert sim.engine.ledger.premium_bps == 0
        assert sim.director.status()["done"] == []
        assert [s["kind"] for s in eth.director.status()["done"]] == ["gap", "premium"]


@pytest.mark.asyncio
async def test_a_loaded_file_routes_named_steps_and_keeps_unnamed_ones_on_the_first(
    tmp_path: Path,
) -> None:
    """`load_scenario`: an unnamed step moves the first symbol, a named one its own."""
    path = write(
        tmp_path,
        '[[steps]]\nkind = "gap"\npct = -5\n'
        '[[steps]]\nkind = "gap"\nto = 3300\nsymbol = "ETHUSDT"\n',
    )
    async with SimExchange(TWO, bars=BARS) as sim:
        eth = sim.market("ETHUSDT")
        assert [s.symbol for s in sim.load_scenario(path)] == [None, "ETHUSDT"]
        await until(lambda: sim.director.idle and eth.director.idle, "both steps")
        assert (sim.engine.price, eth.engine.price) == (D("57000"), D("3300"))
        mixed = parse_steps(
            [{"kind": "gap", "pct": -1, "at_s": 900}, {"kind": "gap", "pct": -1, "symbol": "XRP"}]
        )
        with pytest.raises(ConfigError, match=r"steps\[1\]: 'symbol' 'XRP' is not served"):
            sim.schedule_scenario(mixed)
        assert sim.director.shaper.pending == []  # nothing of a refused scenario is queued


@pytest.mark.asyncio
async def test_http_steps_route_by_their_symbol() -> None:
    """`POST /_sim/scenario {"steps": [...]}`: each step goes to the symbol it names."""
    async with SimExchange(TWO, bars=BARS) as sim, aiohttp.ClientSession() as session:
        eth = sim.market("ETHUSDT")
        url = f"{sim.base_url_http}/_sim/scenario"
        body = {"steps": [{"kind": "funding", "rate": "0.002", "symbol": "ETHUSDT"}]}
        async with session.post(url, json=body) as resp:
            assert resp.status == 200
            assert (await resp.json())["scheduled"][0]["symbol"] == "ETHUSDT"
        await until(lambda: eth.ticker.funding_rate == D("0.002"), "the ETH funding step")
        assert sim.ticker.funding_rate == D("0.0001")
        bad = {"steps": [{"kind": "funding", "rate": "0.002", "symbol": "XRPUSDT"}]}
        async with session.post(url, json=bad) as resp:
            assert resp.status == 400
            assert "'XRPUSDT' is not served" in (await resp.json())["error"]
