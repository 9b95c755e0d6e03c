"""``hedgegrid demo --instances 2``: two daemons, two symbols, one simulator, one --all table."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from hedgegridd.data.instruments import instrument_for
from hedgegridd.demo_instances import plan_instances, write_config
from hedgegridd.params import load_strategy_params
from hedgegridd.sim.config import TYPICAL_START_PRICES
from hedgegridd.supervisor.settings import load_settings
from tests.supervisor.demo_harness import DemoRun, demo_env

_TRADING = re.compile(r"status mode=sim .*long=(?!0 )\S+ .*instance=(btc|eth)")


def test_two_instances_are_laid_out_as_systemd_instances(tmp_path: Path) -> None:
    """btc and eth get run/<name>/control.sock, their own state, symbol and ports."""
    plans = plan_instances(tmp_path, 2, 9500)
    assert [(p.name, p.symbol) for p in plans] == [("btc", "BTCUSDT"), ("eth", "ETHUSDT")]
    assert [p.socket for p in plans] == [
        tmp_path / "run" / "btc" / "control.sock",
        tmp_path / "run" / "eth" / "control.sock",
    ]
    assert [p.metrics_port for p in plans] == [9500, 9501]
    for plan in plans:
        settings = load_settings(write_config(plan, tmp_path, "http://127.0.0.1:1", "ws://x:1"))
        assert settings.venue.symbol == plan.symbol
        assert settings.control.socket_path == plan.socket
        assert settings.alerts.instance == plan.name
    eth = load_settings(plans[1].config)
    assert eth.strategy.params_file is not None
    params = load_strategy_params(eth.strategy.params_file)
    spec = instrument_for("ETHUSDT")
    # The smallest entry (a counter rung at half size) still clears the minimum notional.
    smallest = params.grid.base_qty * params.policy.counter_qty_scale
    assert smallest * TYPICAL_START_PRICES["ETHUSDT"] * Decimal("0.9") >= spec.min_notional
    assert load_settings(plans[0].config).strategy.params_file is None


def test_one_instance_keeps_the_single_layout(tmp_path: Path) -> None:
    """--instances 1 (the default): run/control.sock, state/, as before."""
    (plan,) = plan_instances(tmp_path, 1, 0)
    assert plan.socket == tmp_path / "run" / "control.sock"
    assert plan.state_dir == tmp_path / "state"


@pytest.mark.slow
def test_demo_two_instances_trade_and_answer_ctl_all() -> None:
    """Both daemons trade; the printed `--all status` line shows both instances, exit 0."""
    env = demo_env()

    def trading(seen: list[str]) -> set[str]:
        return {m.group(1) for ln in seen if (m := _TRADING.search(ln))}

    with DemoRun(["--instances", "2", "--speed", "300"], env) as run:
        ready = run.wait_for(
            lambda seen: (
                trading(seen) == {"btc", "eth"} and any(" --all status" in ln for ln in seen)
            ),
            300,
        )
        assert ready, "".join(run.seen)[-3000:]
        assert trading(run.seen) == {"btc", "eth"}
        pasted = next(ln for ln in run.seen if ln.rstrip().endswith(" --all status"))
        argv = shlex.split(pasted.replace(" --all status", " --json --all status"))
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        rows = {i["instance"]: i["result"] for i in doc["instances"]}
        assert sorted(rows) == ["btc", "eth"]
        assert rows["btc"]["instrument_id"] == "BTCUSDT-PERP.BINANCE"
        assert rows["eth"]["instrument_id"] == "ETHUSDT-PERP.BINANCE"
        assert all(r["fills"] > 0 for r in rows.values())
        table = subprocess.run(
            shlex.split(pasted), env=env, capture_output=True, text=True, check=False
        )
        assert table.returncode == 0
        assert [ln.split()[0] for ln in table.stdout.splitlines()[2:]] == ["btc", "eth"]
        rest = run.interrupt(timeout_s=180)
    assert run.returncode == 0
    assert "hedgegridd btc (BTCUSDT) exited with code 0" in rest
    assert "hedgegridd eth (ETHUSDT) exited with code 0" in rest
