"""End to end: the real daemon trades BTCUSDT on a two-symbol simulator whose account
also trades ETHUSDT (another client, as a second daemon would), through Nautilus's adapter."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path

import pytest

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.supervisor.daemon_harness import sim_config_toml, start_daemon
from tests.supervisor.test_e2e_daemon import drop_path, flat, wait_until

D = Decimal
pytestmark = [pytest.mark.slow, pytest.mark.asyncio]


def eth_bars() -> list[SimBar]:
    """ETHUSDT flat at 3000 (nothing there fills by itself)."""
    return flat("3000", 20000)


async def test_daemon_trades_its_symbol_while_the_account_trades_another(tmp_path: Path) -> None:
    """The BTCUSDT daemon ladders and fills on a sim whose default symbol is ETHUSDT; the
    account's ETH leg and resting ETH order are left alone; one wallet pays both."""
    config = SimConfig(speed=120, symbols=("ETHUSDT", "BTCUSDT"))
    async with SimExchange(config, bars={"ETHUSDT": eth_bars(), "BTCUSDT": drop_path()}) as sim:
        eth = sim.market("ETHUSDT").engine
        btc = sim.market("BTCUSDT").engine
        await sim.place_order(
            {
                "symbol": "ETHUSDT",
                "side": "BUY",
                "positionSide": "LONG",
                "type": "MARKET",
                "quantity": "0.100",
            }
        )
        await sim.place_order(
            {
                "symbol": "ETHUSDT",
                "side": "SELL",
                "positionSide": "LONG",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "price": "3100.00",
                "quantity": "0.100",
                "newClientOrderId": "eth-tp",
            }
        )
        daemon = start_daemon(sim_config_toml(sim, tmp_path), tmp_path)
        try:
            await daemon.wait_lines(lambda ls: "READY=1" in ls)
            await wait_until(
                daemon,
                lambda: btc.positions["LONG"].amt == D("0.004")
                and len([o for o in btc.open_orders() if o.client_id.startswith("mg-T")]) == 2,
                "BTC entries filled and their take-profits resting",
            )
            assert len(btc.trades) >= 2
            assert {o.symbol for o in btc.orders.values()} == {"BTCUSDT"}
            assert [o.client_id for o in eth.open_orders()] == ["eth-tp"]
            assert eth.positions["LONG"].amt == D("0.100")
            fees = sum((t.commission for t in (*eth.trades, *btc.trades)), D(0))
            paid = sim.account.income_history(income_type="COMMISSION", limit=1000)
            assert {r.symbol for r in paid} == {"ETHUSDT", "BTCUSDT"}
            assert -sum((r.amount for r in paid), D(0)) == fees
            income = sum((r.amount for r in sim.account.income), D(0))
            assert sim.account.wallet == D("10000") + income
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait_exit(60) == 0, daemon.log_text()[-3000:]
            assert [o.client_id for o in eth.open_orders()] == ["eth-tp"]
        finally:
            daemon.stop_now()
