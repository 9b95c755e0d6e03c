"""One symbol's part of the account: position legs, trades, mark price and margin.

``Ledger`` books fills (PnL, fees, entry prices) and settles funding into the shared
``Account`` wallet (with income records), and values the symbol's legs at its mark
price. The mark is the last price plus a configurable premium (``set_premium``:
basis points and/or an absolute amount), so mark-triggered and last-triggered
behaviour can differ.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hedgegridd.sim.account import Account
from hedgegridd.sim.events import Event, account_event
from hedgegridd.sim.orders import Formats, SimOrder, SimPosition, SimTrade
from hedgegridd.sim.rules import SymbolRules

SIDES = ("LONG", "SHORT", "BOTH")
FEE_QUANTUM = Decimal("0.00000001")


def is_hedge_close(side: str, position_side: str) -> bool:
    """Whether ``side`` on ``position_side`` closes a hedge leg (SELL LONG / BUY SHORT)."""
    return (position_side == "LONG" and side == "SELL") or (
        position_side == "SHORT" and side == "BUY"
    )


class Ledger:
    """Legs, trade history, leverage and the mark price of one symbol (wallet: the account's)."""

    def __init__(
        self,
        rules: SymbolRules,
        fmt: Formats,
        *,
        account: Account,
        leverage: int,
        price: Decimal,
        max_history: int = 50_000,
    ) -> None:
        self.rules = rules
        self.fmt = fmt
        self.account = account
        self.leverage = leverage
        self.price = price
        self.positions: dict[str, SimPosition] = {side: SimPosition(side) for side in SIDES}
        self.trades: list[SimTrade] = []
        self.max_history = max_history
        self.premium_bps = Decimal(0)
        self.premium_abs = Decimal(0)

    @property
    def wallet(self) -> Decimal:
        """The account's USDT wallet balance (shared by every symbol)."""
        return self.account.wallet

    # ------------------------------------------------------------------ mark
    def mark_of(self, last: Decimal) -> Decimal:
        """The mark price when the last price is ``last`` (premium applied, on the tick)."""
        raw = last * (1 + self.premium_bps / 10_000) + self.premium_abs
        tick = self.rules.tick
        steps = (raw / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return max(steps, Decimal(1)) * tick

    @property
    def mark(self) -> Decimal:
        """The current mark price."""
        return self.mark_of(self.price)

    def last_for_mark(self, mark: Decimal) -> Decimal:
        """The last price at which the mark equals ``mark`` (inverse of ``mark_of``)."""
        raw = (mark - self.premium_abs) / (1 + self.premium_bps / 10_000)
        tick = self.rules.tick
        steps = (raw / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return max(steps, Decimal(1)) * tick

    def set_premium(self, bps: Decimal = Decimal(0), absolute: Decimal = Decimal(0)) -> None:
        """Mark = last * (1 + bps / 10000) + absolute."""
        self.premium_bps = bps
        self.premium_abs = absolute

    # ---------------------------------------------------------------- margin
    def unrealized(self) -> Decimal:
        """Unrealized PnL of every leg at the mark."""
        mark = self.mark
        return sum((p.unrealized(mark) for p in self.positions.values()), Decimal(0))

    def position_margin(self) -> Decimal:
        """Initial margin of the open legs at the mark."""
        lev = Decimal(self.leverage)
        mark = self.mark
        return sum((abs(p.amt) * mark / lev for p in self.positions.values()), Decimal(0))

    def maint_margin(self) -> Decimal:
        """Maintenance margin of the open legs at the mark (one tier)."""
        mark = self.mark
        return sum(
            (abs(p.amt) * mark * self.rules.maint_margin for p in self.positions.values()),
            Decimal(0),
        )

    # ----------------------------------------------------------------- fills
    def book_fill(
        self, order: SimOrder, qty: Decimal, px: Decimal, *, maker: bool, now_ms: int
    ) -> SimTrade:
        """Apply one fill to the order, its leg and the wallet; returns the trade."""
        pos = self.positions[order.position_side]
        delta = qty if order.side == "BUY" else -qty
        realized = Decimal(0)
        if pos.amt == 0 or (pos.amt > 0) == (delta > 0):
            new_amt = pos.amt + delta
            pos.entry = (abs(pos.amt) * pos.entry + qty * px) / abs(new_amt)
            pos.amt = new_amt
        else:
            closed = min(qty, abs(pos.amt))
            realized = closed * (px - pos.entry) * (1 if pos.amt > 0 else -1)
            pos.amt += delta
            if pos.amt == 0:
                pos.entry = Decimal(0)
            elif (pos.amt > 0) == (delta > 0):  # flipped (one-way BOTH leg only)
                pos.entry = px
        fee_rate = self.rules.maker_fee if maker else self.rules.taker_fee
        commission = (qty * px * fee_rate).quantize(FEE_QUANTUM)
        pos.realized += realized
        pos.update_ms = now_ms
        trade_id = self.account.next_trade_id()
        symbol = self.rules.symbol
        self.account.credit(symbol, "REALIZED_PNL", realized, now_ms, trade_id)
        self.account.credit(symbol, "COMMISSION", -commission, now_ms, trade_id)
        order.executed += qty
        order.cum_quote += qty * px
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        order.update_ms = now_ms
        trade = SimTrade(
            trade_id=trade_id,
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            position_side=order.position_side,
            price=px,
            qty=qty,
            realized_pnl=realized,
            commission=commission,
            maker=maker,
            time_ms=now_ms,
        )
        self.trades.append(trade)
        if len(self.trades) > self.max_history:
            del self.trades[: len(self.trades) - self.max_history]
        return trade

    def settle_funding(self, rate: Decimal, now_ms: int) -> list[Event]:
        """Funding at the mark: each leg pays ``amt * mark * rate`` (longs pay a positive rate).

        One FUNDING_FEE income record per leg; the event carries the account's balance.
        """
        legs = [p for p in self.positions.values() if p.amt != 0]
        if not legs:
            return []
        mark = self.mark
        total = Decimal(0)
        for pos in legs:
            fee = -(pos.amt * mark * rate).quantize(FEE_QUANTUM)
            self.account.credit(self.rules.symbol, "FUNDING_FEE", fee, now_ms)
            total += fee
            pos.extra["funding"] = pos.extra.get("funding", Decimal(0)) + fee
        # Cross margin: Binance pushes the balance only (no P) for a funding fee.
        event = account_event(
            self.fmt, self.rules.symbol, self.wallet, mark, [], "FUNDING_FEE", now_ms, total
        )
        return [event]

    def account_update(self, reason: str, now_ms: int, sides: list[str]) -> Event:
        """An ACCOUNT_UPDATE with the wallet and the named legs (valued at the mark)."""
        legs = [self.positions[side] for side in sides]
        return account_event(
            self.fmt, self.rules.symbol, self.wallet, self.mark, legs, reason, now_ms
        )
