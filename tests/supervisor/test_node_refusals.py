"""The daemon refuses to trade when the venue is not hedge-safe (real sim, real node)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import msgspec
import pytest
from nautilus_trader.model.enums import OmsType
from pydantic import SecretStr

from hedgegridd.errors import VenueRefusedError
from hedgegridd.sim import SimConfig, SimExchange
from hedgegridd.supervisor.node_runner import NodeRunner
from hedgegridd.venues.config import Mode, VenueSettings
from hedgegridd.venues.guards import BinanceKeys
from hedgegridd.venues.nodes import NodePlan, build_node_plan

from .daemon_harness import sim_config_toml, start_daemon
from .mini_strategy import MiniGrid, MiniGridConfig

IID = "BTCUSDT-PERP.BINANCE"


def _strategy(oms: str = "HEDGING", *, fail_start: bool = False) -> MiniGrid:
    return MiniGrid(
        MiniGridConfig(
            instrument_id=IID,
            bar_type=f"{IID}-1-MINUTE-LAST-EXTERNAL",
            oms_type=oms,
            fail_start=fail_start,
        )
    )


def _plan(sim: SimExchange) -> NodePlan:
    venue = VenueSettings(base_url_http=sim.base_url_http, base_url_ws=sim.base_url_ws)
    keys = BinanceKeys(
        api_key=SecretStr(sim.config.api_key), api_secret=SecretStr(sim.config.api_secret)
    )
    return build_node_plan(Mode.SIM, venue, keys=keys, timeout_connection_s=5)


@pytest.mark.asyncio
async def test_netting_strategy_refused_before_the_node_is_built() -> None:
    """A strategy configured for NETTING is refused: hedge mode is never downgraded."""
    async with SimExchange(SimConfig()) as sim:
        runner = NodeRunner(_plan(sim), _strategy("NETTING"), ready_timeout_s=5, stop_timeout_s=5)
        assert _strategy("NETTING").oms_type == OmsType.NETTING
        with pytest.raises(VenueRefusedError, match="HEDGING is required"):
            runner.build()
        assert runner.node is None


@pytest.mark.slow
@pytest.mark.asyncio
async def test_exec_client_not_connected_is_never_ready() -> None:
    """reduce_only on a hedge-mode account leaves exec disconnected: not READY, refused."""
    async with SimExchange(SimConfig()) as sim:
        plan = _plan(sim)
        exec_cfg = plan.config.exec_clients["BINANCE"]
        misconfigured = msgspec.structs.replace(exec_cfg, use_reduce_only=True)
        plan = dataclasses.replace(
            plan,
            config=msgspec.structs.replace(
                plan.config,
                exec_clients={"BINANCE": misconfigured},
            ),
        )
        runner = NodeRunner(plan, _strategy(), ready_timeout_s=10, stop_timeout_s=10)
        runner.build()
        with pytest.raises(VenueRefusedError, match="exec_connected=False"):
            await runner.run()
        assert runner.ready_at is None
        assert runner.node is None  # stopped and disposed


@pytest.mark.slow
@pytest.mark.asyncio
async def test_strategy_start_failure_is_never_ready() -> None:
    """A strategy that fails its start is refused with its reason, not reported READY."""
    async with SimExchange(SimConfig()) as sim:
        runner = NodeRunner(
            _plan(sim), _strategy(fail_start=True), ready_timeout_s=60, stop_timeout_s=10
        )
        runner.build()
        with pytest.raises(VenueRefusedError, match="instrument rules missing"):
            await runner.run()
        assert runner.ready_at is None
        assert runner.node is None


@pytest.mark.asyncio
async def test_one_way_account_exits_76(tmp_path: Path) -> None:
    """An account in one-way (netting) position mode makes hedgegridd exit 76 at warmup."""
    async with SimExchange(SimConfig(dual_side_position=False)) as sim:
        daemon = start_daemon(sim_config_toml(sim, tmp_path), tmp_path)
        try:
            code = await daemon.wait_exit(120)
        finally:
            daemon.stop_now()
        assert code == 76
        assert "READY=1" not in daemon.notify.lines()
        failed = [e for e in daemon.events() if e["event"] == "daemon.failed"]
        assert "hedge mode" in str(failed[0]["error"])
        assert not [r for r in sim.seen() if r.path.startswith("/fapi/v1/order")]
        await asyncio.sleep(0)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_ops_component_failing_to_start_is_fatal(tmp_path: Path) -> None:
    """A task that cannot start (metrics port taken) stops the daemon: never READY unprotected."""
    import socket

    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        async with SimExchange(SimConfig()) as sim:
            config = sim_config_toml(sim, tmp_path)
            config.write_text(config.read_text().replace("port = 0", f"port = {port}"))
            daemon = start_daemon(config, tmp_path)
            try:
                code = await daemon.wait_exit(180)
            finally:
                daemon.stop_now()
    finally:
        blocker.close()
    assert code == 78  # the metrics server reports a taken port as a configuration error
    assert "READY=1" not in daemon.notify.lines()
    failed = next(e for e in daemon.events() if e["event"] == "daemon.failed")
    assert str(port) in str(failed["error"])
    events = [e["event"] for e in daemon.events()]
    assert "node.stopped" in events
    assert events[-1] == "daemon.exit"
