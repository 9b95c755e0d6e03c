"""End to end against the exchange simulator: a price jump fires, closes and verifies flat."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import aiohttp
import anyio
import pytest
from pydantic import SecretStr

from bench.killswitch import SimRest, SimVenueHandle
from hedgegridd.ops.alert_channels import AlertSecrets
from hedgegridd.ops.alerts import AlertManager
from hedgegridd.ops.config import AlertsConfig, KillSwitchConfig
from hedgegridd.ops.killswitch import KillSwitch
from hedgegridd.sim import SimConfig, SimExchange
from hedgegridd.supervisor.state import AsyncStateStore
from tests.ops.fake_services import FakeSlack
from tests.ops.helpers import until

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]


async def test_price_jump_on_the_simulator_flattens_both_sides(tmp_path: Path) -> None:
    """A -10% jump breaches drawdown; MARKET closes reach the sim; positions end at zero."""
    sim_cfg = SimConfig(speed=1.0, minutes=120, start_price=Decimal(60000))
    ks_cfg = KillSwitchConfig(
        check_interval_s=0.1,
        max_drawdown_pct=Decimal(2),
        max_margin_ratio=None,
        flatten_verify_timeout_s=5.0,
        flatten_poll_interval_s=0.02,
    )
    store = await AsyncStateStore.open(tmp_path / "state.db")
    try:
        async with (
            SimExchange(sim_cfg) as sim,
            FakeSlack() as slack,
            aiohttp.ClientSession() as session,
        ):
            rest = SimRest(session, sim.base_url_http, sim_cfg.api_key, sim_cfg.api_secret)
            await rest.market("BUY", "LONG", Decimal("0.2"))
            await rest.market("SELL", "SHORT", Decimal("0.05"))
            handle = SimVenueHandle(rest, refresh_s=0.05)
            alerts = AlertManager(
                AlertsConfig.model_validate({"slack": {"min_severity": "info"}}),
                AlertSecrets(slack_webhook_url=SecretStr(slack.webhook_url)),
            )
            ks = KillSwitch(ks_cfg, strategy=handle, store=store, alerts=alerts)
            async with anyio.create_task_group() as tg:
                await tg.start(handle.run)
                await tg.start(alerts.run)
                await tg.start(ks.run)
                await until(lambda: ks.checks_total >= 3)
                assert handle.qty["LONG"] == Decimal("0.2")
                await sim.jump_price(pct=Decimal(-10))
                await until(lambda: ks.last_flatten is not None, deadline_s=30)
                await until(lambda: alerts.sent["slack"] >= 3, deadline_s=30)
                tg.cancel_scope.cancel()
            risk = await rest.call("GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"})
            closes = [
                (r.params["side"], r.params["positionSide"])
                for r in sim.seen("/fapi/v1/order", "POST")
            ]
    finally:
        latch = await store.killswitch_latch()
        await store.aclose()
    assert ("SELL", "LONG") in closes
    assert ("BUY", "SHORT") in closes
    assert all(Decimal(r["positionAmt"]) == 0 for r in risk)
    assert ks.last_flatten is not None
    assert ks.last_flatten.verified
    assert latch is not None
    assert latch.reason == "limit:drawdown"
    texts = " ".join(r["text"] for r in slack.requests)
    assert "KILL SWITCH FIRED" in texts
    assert "flat verified" in texts
