"""The simulated venue's order book for one symbol: order entry, cancels, amendments.

``MatchingEngine`` holds one symbol's resting orders and conditional (algo) orders
and owns its ``Ledger`` (legs, trades, mark price); the wallet, the position mode
and the margin totals are the shared ``Account``'s (one account, many symbols).
Every mutating call returns the user-stream events Binance would push
(ORDER_TRADE_UPDATE, TRADE_LITE,
ACCOUNT_UPDATE, ALGO_UPDATE) as JSON-ready dicts; the REST and stream layers only
route them. Venue rules raise ``VenueError`` carrying Binance's error code. Price
moves (fills, triggers, liquidation) are walked by ``hedgegridd.sim.matching``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import hedgegridd.sim.checks as checks
from hedgegridd.sim.account import Account
from hedgegridd.sim.algos import parse_algo
from hedgegridd.sim.events import Event, algo_event, order_event, trade_lite
from hedgegridd.sim.ledger import Ledger, is_hedge_close
from hedgegridd.sim.orders import AlgoOrder, Formats, SimOrder, SimPosition, SimTrade, VenueError
from hedgegridd.sim.rules import SymbolRules, check_price, check_qty, int_id, param_decimal


class MatchingEngine:
    """One symbol's venue state: orders, algo orders and its ledger, on a shared account.

    Without ``account`` the engine makes its own (``balance``, ``dual_side``): a
    one-symbol account, as the unit tests use it.
    """

    def __init__(
        self,
        rules: SymbolRules,
        fmt: Formats,
        *,
        leverage: int,
        price: Decimal,
        account: Account | None = None,
        balance: Decimal = Decimal(0),
        dual_side: bool = True,
        max_history: int = 50_000,
    ) -> None:
        self.rules = rules
        self.fmt = fmt
        self.account = account if account is not None else Account(balance, dual_side=dual_side)
        self.ledger = Ledger(
            rules,
            fmt,
            account=self.account,
            leverage=leverage,
            price=price,
            max_history=max_history,
        )
        self.orders: dict[int, SimOrder] = {}
        self.algos: dict[int, AlgoOrder] = {}
        self.max_history = max_history
        self.partial_fills = False
        self.account.register(rules.symbol, self)

    # ------------------------------------------------------- account views
    @property
    def price(self) -> Decimal:
        """The last traded price."""
        return self.ledger.price

    @price.setter
    def price(self, value: Decimal) -> None:
        self.ledger.price = value

    @property
    def mark(self) -> Decimal:
        """The mark price (last price plus the premium)."""
        return self.ledger.mark

    @property
    def wallet(self) -> Decimal:
        """The account's USDT wallet balance."""
        return self.account.wallet

    @property
    def dual_side(self) -> bool:
        """Hedge mode (an account setting: the same for every symbol)."""
        return self.account.dual_side

    @dual_side.setter
    def dual_side(self, value: bool) -> None:
        self.account.dual_side = value

    @property
    def leverage(self) -> int:
        """The symbol's leverage."""
        return self.ledger.leverage

    @leverage.setter
    def leverage(self, value: int) -> None:
        self.ledger.leverage = value

    @property
    def positions(self) -> dict[str, SimPosition]:
        """The LONG, SHORT and BOTH legs."""
        return self.ledger.positions

    @property
    def trades(self) -> list[SimTrade]:
        """Fills, oldest first (bounded)."""
        return self.ledger.trades

    @property
    def bid(self) -> Decimal:
        """Best bid: the last price."""
        return self.price

    @property
    def ask(self) -> Decimal:
        """Best ask: one tick above the last price."""
        return self.price + self.rules.tick

    def open_orders(self) -> list[SimOrder]:
        """Resting regular orders, oldest first."""
        return [o for o in self.orders.values() if o.is_open]

    def open_algos(self) -> list[AlgoOrder]:
        """Untriggered algo orders, oldest first."""
        return [a for a in self.algos.values() if a.is_open]

    def available_balance(self) -> Decimal:
        """The account's available balance (every symbol's legs and orders count)."""
        return self.account.available_balance()

    def unrealized(self) -> Decimal:
        """Unrealized PnL of this symbol's legs at its mark."""
        return self.ledger.unrealized()

    def position_margin(self) -> Decimal:
        """Initial margin of this symbol's legs."""
        return self.ledger.position_margin()

    def maint_margin(self) -> Decimal:
        """Maintenance margin of this symbol's legs."""
        return self.ledger.maint_margin()

    def open_order_margin(self) -> Decimal:
        """Initial margin held by resting orders that open exposure."""
        lev = Decimal(self.leverage)
        return sum(
            (
                o.remaining * o.price / lev
                for o in self.open_orders()
                if not is_hedge_close(o.side, o.position_side)
            ),
            Decimal(0),
        )

    def find_order(self, order_id: str | None, client_id: str | None) -> SimOrder:
        """The order with this id or client id (-2013 when unknown)."""
        if order_id:
            found = self.orders.get(int_id(order_id, "orderId"))
            if found is not None:
                return found
        if client_id:
            for order in self.orders.values():
                if order.client_id == client_id:
                    return order
        raise VenueError(-2013, "Order does not exist.")

    def find_algo(self, algo_id: str | None, client_id: str | None) -> AlgoOrder:
        """The algo order with this id or client id (-2013 when unknown)."""
        if algo_id:
            found = self.algos.get(int_id(algo_id, "algoId"))
            if found is not None:
                return found
        if client_id:
            for algo in self.algos.values():
                if algo.client_algo_id == client_id:
                    return algo
        raise VenueError(-2013, "Order does not exist.")

    def _check_symbol(self, params: dict[str, str]) -> None:
        if params.get("symbol") != self.rules.symbol:
            raise VenueError(-1121, "Invalid symbol.")

    # ---------------------------------------------------------------- orders
    def new_order(self, params: dict[str, str], now_ms: int) -> tuple[dict[str, Any], list[Event]]:
        """POST /fapi/v1/order: validate, accept, and match at once if it takes."""
        self._check_symbol(params)
        side, otype, ps, qty, tif, price = checks.parse_order(params, self.rules, self.dual_side)
        market = otype == "MARKET"
        ref_price = price if not market else (self.ask if side == "BUY" else self.bid)
        closing = is_hedge_close(side, ps)
        reduce_only = checks.reduce_only(params, self.dual_side)
        if not closing and not reduce_only and qty * ref_price < self.rules.min_notional:
            raise VenueError(
                -4164,
                f"Order's notional must be no smaller than {self.rules.min_notional:f} "
                "(unless you choose reduce only).",
            )
        if closing:
            checks.check_close(self.ledger, self.open_orders(), side, ps, qty)
        if reduce_only:
            checks.check_reduce_only(self.ledger, side, qty)
        checks.check_margin(self.available_balance(), self.leverage, side, ps, qty, ref_price)
        takes = (
            market
            or (side == "BUY" and price >= self.ask)
            or (side == "SELL" and price <= self.bid)
        )
        if tif == "GTX" and takes:
            raise VenueError(
                -5022,
                "Due to the order could not be executed as maker, the Post Only order will be "
                "rejected. The order will not be recorded in the order history",
            )
        client_id = params.get("newClientOrderId") or f"sim-{self.account.next_order_id()}"
        if any(o.client_id == client_id and o.is_open for o in self.orders.values()):
            raise VenueError(-4015, "Client order id is not valid.")
        order = self.add_order(side, ps, otype, tif, price, qty, reduce_only, client_id, now_ms)
        events = [order_event(self.fmt, order, "NEW", now_ms)]
        if takes:
            fill_px = self.ask if side == "BUY" else self.bid
            events += self.fill(order, order.remaining, fill_px, maker=False, now_ms=now_ms)
        elif tif in ("IOC", "FOK"):
            # Nothing to take at once: immediate-or-cancel orders expire instead of resting.
            order.status = "EXPIRED"
            events.append(order_event(self.fmt, order, "EXPIRED", now_ms))
        return order.to_rest(self.fmt), events

    def add_order(
        self,
        side: str,
        ps: str,
        otype: str,
        tif: str,
        price: Decimal,
        qty: Decimal,
        reduce_only: bool,
        client_id: str,
        now_ms: int,
        **extra: Any,
    ) -> SimOrder:
        """Record a new order (no checks, no events)."""
        order = SimOrder(
            order_id=self.account.next_order_id(),
            client_id=client_id,
            symbol=self.rules.symbol,
            side=side,
            position_side=ps,
            type=otype,
            tif=tif,
            price=price,
            qty=qty,
            reduce_only=reduce_only,
            time_ms=now_ms,
            update_ms=now_ms,
            **extra,
        )
        self.orders[order.order_id] = order
        self._prune()
        return order

    def cancel_order(self, order: SimOrder, now_ms: int) -> tuple[dict[str, Any], list[Event]]:
        """DELETE /fapi/v1/order on a known order (-2011 when it is no longer open)."""
        if not order.is_open:
            raise VenueError(-2011, "Unknown order sent.")
        order.status = "CANCELED"
        order.update_ms = now_ms
        events = [order_event(self.fmt, order, "CANCELED", now_ms)]
        return order.to_rest(self.fmt), events + self.finish_algo(order, now_ms)

    def modify_order(
        self, order: SimOrder, params: dict[str, str], now_ms: int
    ) -> tuple[dict[str, Any], list[Event]]:
        """PUT /fapi/v1/order: new price/quantity for a resting LIMIT order."""
        if not order.is_open or order.type != "LIMIT":
            raise VenueError(-2011, "Unknown order sent.")
        qty = param_decimal(params, "quantity")
        price = param_decimal(params, "price")
        assert qty is not None
        assert price is not None
        check_qty(self.rules, qty, market=False)
        check_price(self.rules, price)
        if qty <= order.executed:
            raise VenueError(-4003, "Quantity less than or equal to zero.")
        order.qty, order.price, order.update_ms = qty, price, now_ms
        return order.to_rest(self.fmt), [order_event(self.fmt, order, "AMENDMENT", now_ms)]

    def new_algo_order(
        self, params: dict[str, str], now_ms: int
    ) -> tuple[dict[str, Any], list[Event]]:
        """POST /fapi/v1/algoOrder: a conditional order held until triggered (see ``algos``).

        -2021 when it would trigger at once: against the last price for
        ``workingType=CONTRACT_PRICE`` (default), against the mark for ``MARK_PRICE``.
        """
        self._check_symbol(params)
        req = parse_algo(
            params,
            self.rules,
            dual_side=self.dual_side,
            last=self.price,
            mark=self.mark,
            open_algos=self.open_algos(),
        )
        algo_id = self.account.next_algo_id()
        client_id = params.get("clientAlgoId") or f"sim-algo-{algo_id}"
        algo = AlgoOrder(
            algo_id=algo_id,
            client_algo_id=client_id,
            symbol=self.rules.symbol,
            side=req.side,
            position_side=req.position_side,
            order_type=req.order_type,
            qty=req.qty,
            trigger_price=req.trigger_price,
            working_type=req.working_type,
            tif=req.tif,
            reduce_only=req.reduce_only,
            create_ms=now_ms,
            update_ms=now_ms,
            price=req.price,
            close_position=req.close_position,
            price_protect=req.price_protect,
        )
        self.algos[algo.algo_id] = algo
        return algo.to_rest(self.fmt), [algo_event(self.fmt, algo, now_ms)]

    def cancel_algo(self, algo: AlgoOrder, now_ms: int) -> tuple[dict[str, Any], list[Event]]:
        """DELETE /fapi/v1/algoOrder on a known algo order."""
        if not algo.is_open:
            raise VenueError(-2011, "Unknown order sent.")
        algo.status = "CANCELED"
        algo.update_ms = now_ms
        body = {
            "algoId": algo.algo_id,
            "clientAlgoId": algo.client_algo_id,
            "code": "200",
            "msg": "success",
        }
        return body, [algo_event(self.fmt, algo, now_ms)]

    # ----------------------------------------------------------------- fills
    def fill(
        self,
        order: SimOrder,
        qty: Decimal,
        px: Decimal,
        *,
        maker: bool,
        now_ms: int,
        exec_type: str = "TRADE",
    ) -> list[Event]:
        """Fill ``qty`` of ``order`` at ``px``; closes beyond what is left of a leg expire."""
        trade = self.ledger.book_fill(order, qty, px, maker=maker, now_ms=now_ms)
        events = [
            trade_lite(self.fmt, order, trade),
            order_event(self.fmt, order, exec_type, now_ms, trade),
            self.ledger.account_update("ORDER", now_ms, [order.position_side]),
        ]
        if is_hedge_close(order.side, order.position_side):
            events += self._expire_excess_closes(order.position_side, now_ms)
        return events + self.finish_algo(order, now_ms)

    def finish_algo(self, order: SimOrder, now_ms: int) -> list[Event]:
        """ALGO_UPDATE FINISHED once the order a trigger placed is done (filled, cancelled,
        expired); nothing for other orders or while it is still open."""
        algo = self.algos.get(order.algo_id) if order.algo_id is not None else None
        if algo is None or order.is_open or algo.status != "TRIGGERED":
            return []
        algo.status = "FINISHED"
        algo.update_ms = now_ms
        algo.executed = order.executed
        algo.avg_price = order.avg_price
        return [algo_event(self.fmt, algo, now_ms)]

    def _expire_excess_closes(self, leg: str, now_ms: int) -> list[Event]:
        """Close orders on ``leg`` beyond what is left of it expire (newest first)."""
        pos = abs(self.positions[leg].amt)
        closes = [
            o for o in self.open_orders() if o.position_side == leg and is_hedge_close(o.side, leg)
        ]
        events: list[Event] = []
        pending = sum((o.remaining for o in closes), Decimal(0))
        for order in sorted(closes, key=lambda o: o.order_id, reverse=True):
            if pending <= pos:
                break
            pending -= order.remaining
            order.status = "EXPIRED"
            order.update_ms = now_ms
            events.append(order_event(self.fmt, order, "EXPIRED", now_ms))
            events += self.finish_algo(order, now_ms)
        return events

    def _prune(self) -> None:
        """Keep at most ``max_history`` closed orders (open ones always stay)."""
        if len(self.orders) > self.max_history:
            closed = [oid for oid, o in self.orders.items() if not o.is_open]
            for oid in closed[: len(self.orders) - self.max_history]:
                del self.orders[oid]
