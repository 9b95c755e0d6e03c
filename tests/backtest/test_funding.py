"""Funding settlement from history on a real engine: who pays, how much, exactly once."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType, FundingRateUpdate
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId, PositionId
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from hedgegridd.backtest.engine import VenueModel
from hedgegridd.backtest.session import BacktestSession
from tests.strategy.harness import BAR_TYPE, INSTRUMENT_ID, market


class HoldBoth(Strategy):
    """Opens 0.010 LONG and 0.004 SHORT at market on the first bar and holds them."""

    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="HoldBoth-001"))
        self.done = False

    def on_start(self) -> None:
        self.subscribe_bars(BarType.from_str(BAR_TYPE))

    def on_bar(self, bar: Bar) -> None:
        if self.done:
            return
        self.done = True
        iid = InstrumentId.from_str(INSTRUMENT_ID)
        for side, qty, suffix in (
            (OrderSide.BUY, "0.010", "LONG"),
            (OrderSide.SELL, "0.004", "SHORT"),
        ):
            order = self.order_factory.market(iid, side, Quantity.from_str(qty))
            self.submit_order(order, position_id=PositionId(f"{iid}-{suffix}"))


def test_funding_is_settled_per_side_from_history() -> None:
    """Positive rate: LONG pays qty*mark*rate, SHORT receives it; the account moves by the net."""
    instrument, bars, _ = market(600, 3)
    t1, t2 = int(bars[200].ts_event), int(bars[400].ts_event)
    updates = [
        FundingRateUpdate(instrument.id, Decimal("0.0010"), t1, t1, interval=480),
        FundingRateUpdate(instrument.id, Decimal("-0.0005"), t2, t2, interval=480),
    ]
    session = BacktestSession(instrument, bars, updates, VenueModel())
    session.add_strategy(HoldBoth())
    try:
        session.run()
        res = session.results()
    finally:
        session.dispose()
    assert len(res.fills) == 2
    pays = res.funding
    assert [(p.ts_ns, p.side) for p in pays] == [
        (t1, "LONG"),
        (t1, "SHORT"),
        (t2, "LONG"),
        (t2, "SHORT"),
    ]
    mark1 = bars[200].close.as_decimal()
    mark2 = bars[400].close.as_decimal()
    assert pays[0].amount == (-Decimal("0.010") * mark1 * Decimal("0.0010")).quantize(
        Decimal("1e-8")
    )
    assert pays[1].amount == (Decimal("0.004") * mark1 * Decimal("0.0010")).quantize(
        Decimal("1e-8")
    )
    assert pays[2].amount > 0  # negative rate: LONG receives
    assert pays[3].amount < 0
    assert pays[2].amount == (Decimal("0.010") * mark2 * Decimal("0.0005")).quantize(
        Decimal("1e-8")
    )
    fees = sum((f.commission for f in res.fills), Decimal(0))
    net_funding = sum((p.amount for p in pays), Decimal(0))
    change = res.final_balance - res.starting_balance
    assert abs(change - (net_funding - fees)) < Decimal("0.00001")
