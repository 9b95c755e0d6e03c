"""The simulated futures account: one USDT wallet shared by every symbol (cross margin).

``Account`` holds what Binance keeps per account rather than per symbol: the wallet,
the position mode (hedge or one-way), the income history, the id counters, and the
margin totals over every symbol's book. Each symbol's ``MatchingEngine`` registers
itself as a ``MarginBook``; the account sums them for the available balance and the
liquidation check (cross margin: a loss in one symbol eats the margin of all).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from hedgegridd.sim.orders import SimPosition, money

INCOME_TYPES = ("REALIZED_PNL", "COMMISSION", "FUNDING_FEE")
INCOME_HISTORY = 100_000


class MarginBook(Protocol):
    """What the account needs of one symbol's book (``MatchingEngine`` is one)."""

    @property
    def positions(self) -> dict[str, SimPosition]:
        """The symbol's legs (LONG, SHORT, BOTH)."""
        ...

    @property
    def mark(self) -> Decimal:
        """The symbol's mark price."""
        ...

    def unrealized(self) -> Decimal:
        """Unrealized PnL of the symbol's legs at the mark."""
        ...

    def position_margin(self) -> Decimal:
        """Initial margin of the symbol's legs."""
        ...

    def open_order_margin(self) -> Decimal:
        """Initial margin held by the symbol's opening orders."""
        ...

    def maint_margin(self) -> Decimal:
        """Maintenance margin of the symbol's legs."""
        ...


@dataclass(frozen=True, slots=True)
class IncomeRecord:
    """One wallet change, as ``GET /fapi/v1/income`` lists it."""

    symbol: str
    income_type: str
    amount: Decimal
    time_ms: int
    tran_id: int
    trade_id: int | None = None
    asset: str = "USDT"

    def to_rest(self) -> dict[str, Any]:
        """The row of ``GET /fapi/v1/income``."""
        return {
            "symbol": self.symbol,
            "incomeType": self.income_type,
            "income": money(self.amount),
            "asset": self.asset,
            "info": self.income_type,
            "time": self.time_ms,
            "tranId": self.tran_id,
            "tradeId": "" if self.trade_id is None else str(self.trade_id),
        }


class Account:
    """The account every symbol trades on: wallet, position mode, income, margin totals.

    Public API (the REST views build v2/v3 ``account``, ``balance``, ``positionRisk``
    and ``income`` from it):

    - ``wallet`` (USDT wallet balance), ``dual_side`` (hedge mode on);
    - ``books`` (symbol -> its ``MarginBook``, registration order), ``register``;
    - ``unrealized()``, ``position_margin()``, ``open_order_margin()``,
      ``maint_margin()``, ``margin_balance()`` (wallet + unrealized),
      ``available_balance()`` (margin balance - initial margins), all over every
      symbol;
    - ``legs()``: ``(symbol, position)`` for every leg of every symbol;
    - ``liquidation_due()``: margin balance <= total maintenance margin;
    - ``credit(symbol, income_type, amount, now_ms, trade_id=None)``: change the
      wallet and record the income (zero amounts are not recorded);
    - ``income_history(symbol=None, income_type=None, start_ms=0, end_ms=..., limit=100)``:
      records oldest first, filtered like ``GET /fapi/v1/income`` (the last
      ``limit`` in the window);
    - ``next_order_id()``, ``next_algo_id()``, ``next_trade_id()``: account-wide ids.
    """

    def __init__(self, balance: Decimal, *, dual_side: bool = True) -> None:
        self.wallet = balance
        self.dual_side = dual_side
        self.books: dict[str, MarginBook] = {}
        self.income: deque[IncomeRecord] = deque(maxlen=INCOME_HISTORY)
        self._order_ids = itertools.count(8_389_765_000_000_001)
        self._algo_ids = itertools.count(3_000_000_001)
        self._trade_ids = itertools.count(5_000_000_001)
        self._tran_ids = itertools.count(9_000_000_001)

    def register(self, symbol: str, book: MarginBook) -> None:
        """Count ``book``'s legs and orders in the account's margin."""
        self.books[symbol] = book

    # ------------------------------------------------------------------- ids
    def next_order_id(self) -> int:
        """A fresh order id (unique across symbols)."""
        return next(self._order_ids)

    def next_algo_id(self) -> int:
        """A fresh algo order id."""
        return next(self._algo_ids)

    def next_trade_id(self) -> int:
        """A fresh trade id."""
        return next(self._trade_ids)

    # ---------------------------------------------------------------- margin
    def unrealized(self) -> Decimal:
        """Unrealized PnL of every leg of every symbol at its mark."""
        return sum((b.unrealized() for b in self.books.values()), Decimal(0))

    def position_margin(self) -> Decimal:
        """Initial margin of every open leg."""
        return sum((b.position_margin() for b in self.books.values()), Decimal(0))

    def open_order_margin(self) -> Decimal:
        """Initial margin held by every symbol's opening orders."""
        return sum((b.open_order_margin() for b in self.books.values()), Decimal(0))

    def maint_margin(self) -> Decimal:
        """Maintenance margin of every open leg."""
        return sum((b.maint_margin() for b in self.books.values()), Decimal(0))

    def margin_balance(self) -> Decimal:
        """Wallet + unrealized PnL."""
        return self.wallet + self.unrealized()

    def available_balance(self) -> Decimal:
        """Margin balance minus the initial margin of legs and opening orders."""
        return self.margin_balance() - self.position_margin() - self.open_order_margin()

    def legs(self) -> Iterator[tuple[str, SimPosition]]:
        """``(symbol, leg)`` for every leg of every symbol (open or flat)."""
        for symbol, book in self.books.items():
            for pos in book.positions.values():
                yield symbol, pos

    def liquidation_due(self) -> bool:
        """Whether the margin balance has fallen to the maintenance margin (with legs open)."""
        if not any(pos.amt != 0 for _symbol, pos in self.legs()):
            return False
        return self.margin_balance() <= self.maint_margin()

    # ---------------------------------------------------------------- income
    def credit(
        self,
        symbol: str,
        income_type: str,
        amount: Decimal,
        now_ms: int,
        trade_id: int | None = None,
    ) -> None:
        """Add ``amount`` (negative: a debit) to the wallet and record it as income."""
        self.wallet += amount
        if amount != 0:
            self.income.append(
                IncomeRecord(symbol, income_type, amount, now_ms, next(self._tran_ids), trade_id)
            )

    def income_history(
        self,
        *,
        symbol: str | None = None,
        income_type: str | None = None,
        start_ms: int = 0,
        end_ms: int = 2**62,
        limit: int = 100,
    ) -> list[IncomeRecord]:
        """Income records in ``[start_ms, end_ms]``, oldest first, at most ``limit``."""
        rows = [
            r
            for r in self.income
            if start_ms <= r.time_ms <= end_ms
            and (symbol is None or r.symbol == symbol)
            and (income_type is None or r.income_type == income_type)
        ]
        if start_ms > 0:
            return rows[:limit]
        return rows[-limit:]
