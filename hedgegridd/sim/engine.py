"""The simulated account and matching engine (hedge mode, Decimal throughout).

``MatchingEngine`` holds one symbol's book of resting orders, the conditional
(algo) orders, the position legs and the USDT wallet. Every mutating call returns
the user-stream events Binance would push (ORDER_TRADE_UPDATE, TRADE_LITE,
ACCOUNT_UPDATE, ALGO_UPDATE) as JSON-ready dicts; the REST and stream layers only
route them. Venue rules raise ``VenueError`` carrying Binance's error code.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hedgegridd.sim.events import Event, account_event, algo_event, order_event, trade_lite
from hedgegridd.sim.orders import AlgoOrder, Formats, SimOrder, SimPosition, SimTrade, VenueError
from hedgegridd.sim.rules import SymbolRules, check_price, check_qty, int_id, param_decimal


class MatchingEngine:
    """One symbol's venue state: wallet, hedge-mode positions, orders, algo orders, trades."""

    def __init__(
        self,
        rules: SymbolRules,
        fmt: Formats,
        *,
        balance: Decimal,
        leverage: int,
        dual_side: bool,
        price: Decimal,
        max_history: int = 50_000,
    ) -> None:
        self.rules = rules
        self.fmt = fmt
        self.wallet = balance
        self.leverage = leverage
        self.dual_side = dual_side
        self.price = price
        self.orders: dict[int, SimOrder] = {}
        self.algos: dict[int, AlgoOrder] = {}
        self.trades: list[SimTrade] = []
        self.positions: dict[str, SimPosition] = {
            side: SimPosition(side) for side in ("LONG", "SHORT", "BOTH")
        }
        self.max_history = max_history
        self.partial_fills = False
        self._ids = itertools.count(8_389_765_000_000_001)
        self._trade_ids = itertools.count(5_000_000_001)
        self._algo_ids = itertools.count(3_000_000_001)

    # ------------------------------------------------------------------ book
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

    # ------------------------------------------------------------ validation
    def _check_symbol(self, params: dict[str, str]) -> None:
        if params.get("symbol") != self.rules.symbol:
            raise VenueError(-1121, "Invalid symbol.")

    def _position_side(self, params: dict[str, str]) -> str:
        ps = params.get("positionSide", "BOTH")
        if ps not in ("BOTH", "LONG", "SHORT"):
            raise VenueError(-4006, "Invalid position side.")
        if (self.dual_side and ps == "BOTH") or (not self.dual_side and ps != "BOTH"):
            raise VenueError(-4061, "Order's position side does not match user's setting.")
        return ps

    def _check_price(self, price: Decimal) -> None:
        check_price(self.rules, price)

    def _check_qty(self, qty: Decimal, *, market: bool) -> None:
        check_qty(self.rules, qty, market=market)

    def _reduce_only(self, params: dict[str, str]) -> bool:
        """The reduceOnly flag; Binance refuses it in hedge mode (-1106)."""
        flag = params.get("reduceOnly", "false").lower() == "true"
        if flag and self.dual_side:
            raise VenueError(-1106, "Parameter 'reduceonly' sent when not required.")
        return flag

    def _is_closing(self, side: str, ps: str) -> bool:
        return (ps == "LONG" and side == "SELL") or (ps == "SHORT" and side == "BUY")

    def _check_close(self, side: str, ps: str, qty: Decimal) -> None:
        pending = sum(
            (o.remaining for o in self.open_orders() if o.position_side == ps and o.side == side),
            Decimal(0),
        )
        if qty + pending > abs(self.positions[ps].amt):
            raise VenueError(-2022, "ReduceOnly Order is rejected.")

    def available_balance(self) -> Decimal:
        """Wallet + unrealized - position initial margin - open-order initial margin."""
        lev = Decimal(self.leverage)
        upnl = sum((p.unrealized(self.price) for p in self.positions.values()), Decimal(0))
        pos_im = sum((abs(p.amt) * self.price / lev for p in self.positions.values()), Decimal(0))
        return self.wallet + upnl - pos_im - self.open_order_margin()

    def open_order_margin(self) -> Decimal:
        """Initial margin held by resting orders that open exposure."""
        lev = Decimal(self.leverage)
        return sum(
            (
                o.remaining * o.price / lev
                for o in self.open_orders()
                if not self._is_closing(o.side, o.position_side)
            ),
            Decimal(0),
        )

    def _check_margin(self, side: str, ps: str, qty: Decimal, price: Decimal) -> None:
        if self.dual_side and self._is_closing(side, ps):
            return
        if qty * price / Decimal(self.leverage) > self.available_balance():
            raise VenueError(-2019, "Margin is insufficient.")

    # ---------------------------------------------------------------- orders
    def new_order(self, params: dict[str, str], now_ms: int) -> tuple[dict[str, Any], list[Event]]:
        """POST /fapi/v1/order: validate, accept, and match at once if it takes."""
        self._check_symbol(params)
        side = params.get("side", "")
        if side not in ("BUY", "SELL"):
            raise VenueError(-1117, "Invalid side.")
        otype = params.get("type", "")
        if otype not in ("LIMIT", "MARKET"):
            if otype in ("STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT"):
                raise VenueError(-4120, "Order type not supported for this endpoint.")
            raise VenueError(-1116, "Invalid orderType.")
        ps = self._position_side(params)
        qty = param_decimal(params, "quantity")
        assert qty is not None
        market = otype == "MARKET"
        self._check_qty(qty, market=market)
        tif = params.get("timeInForce", "GTC") if not market else "GTC"
        if tif not in ("GTC", "GTX", "IOC", "FOK"):
            raise VenueError(-1115, "Invalid timeInForce.")
        price = Decimal(0)
        if not market:
            p = param_decimal(params, "price")
            assert p is not None
            self._check_price(p)
            price = p
        ref_price = price if not market else (self.ask if side == "BUY" else self.bid)
        closing = self.dual_side and self._is_closing(side, ps)
        reduce_only = self._reduce_only(params)
        if not closing and not reduce_only and qty * ref_price < self.rules.min_notional:
            raise VenueError(
                -4164,
                f"Order's notional must be no smaller than {self.rules.min_notional:f} "
                "(unless you choose reduce only).",
            )
        if closing:
            self._check_close(side, ps, qty)
        if reduce_only:
            amt = self.positions["BOTH"].amt
            reduces = (side == "SELL" and amt > 0) or (side == "BUY" and amt < 0)
            if not reduces or qty > abs(amt):
                raise VenueError(-2022, "ReduceOnly Order is rejected.")
        self._check_margin(side, ps, qty, ref_price)
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
        client_id = params.get("newClientOrderId") or f"sim-{next(self._ids)}"
        if any(o.client_id == client_id and o.is_open for o in self.orders.values()):
            raise VenueError(-4015, "Client order id is not valid.")
        order = SimOrder(
            order_id=next(self._ids),
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
        )
        self.orders[order.order_id] = order
        events = [order_event(self.fmt, order, "NEW", now_ms)]
        rest = order.to_rest(self.fmt)
        if takes:
            fill_px = self.ask if side == "BUY" else self.bid
            events += self._fill(order, order.remaining, fill_px, maker=False, now_ms=now_ms)
        elif tif in ("IOC", "FOK"):
            # Nothing to take at once: immediate-or-cancel orders expire instead of resting.
            order.status = "EXPIRED"
            events.append(order_event(self.fmt, order, "EXPIRED", now_ms))
            rest = order.to_rest(self.fmt)
        return rest, events

    def cancel_order(self, order: SimOrder, now_ms: int) -> tuple[dict[str, Any], list[Event]]:
        """DELETE /fapi/v1/order on a known order (-2011 when it is no longer open)."""
        if not order.is_open:
            raise VenueError(-2011, "Unknown order sent.")
        order.status = "CANCELED"
        order.update_ms = now_ms
        return order.to_rest(self.fmt), [order_event(self.fmt, order, "CANCELED", now_ms)]

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
        self._check_qty(qty, market=False)
        self._check_price(price)
        if qty <= order.executed:
            raise VenueError(-4003, "Quantity less than or equal to zero.")
        order.qty, order.price, order.update_ms = qty, price, now_ms
        return order.to_rest(self.fmt), [order_event(self.fmt, order, "AMENDMENT", now_ms)]

    def new_algo_order(
        self, params: dict[str, str], now_ms: int
    ) -> tuple[dict[str, Any], list[Event]]:
        """POST /fapi/v1/algoOrder: a STOP_MARKET held until the path crosses its trigger."""
        self._check_symbol(params)
        if params.get("algoType", "CONDITIONAL") != "CONDITIONAL":
            raise VenueError(-1116, "Invalid algoType.")
        side = params.get("side", "")
        if side not in ("BUY", "SELL"):
            raise VenueError(-1117, "Invalid side.")
        otype = params.get("type", "")
        if otype != "STOP_MARKET":
            raise VenueError(-1116, "Invalid orderType.")
        ps = self._position_side(params)
        qty = param_decimal(params, "quantity")
        trigger = param_decimal(params, "triggerPrice")
        assert qty is not None
        assert trigger is not None
        self._check_qty(qty, market=True)
        self._check_price(trigger)
        if (side == "BUY" and trigger <= self.price) or (side == "SELL" and trigger >= self.price):
            raise VenueError(-2021, "Order would immediately trigger.")
        client_id = params.get("clientAlgoId") or f"sim-algo-{next(self._algo_ids)}"
        algo = AlgoOrder(
            algo_id=next(self._algo_ids),
            client_algo_id=client_id,
            symbol=self.rules.symbol,
            side=side,
            position_side=ps,
            order_type=otype,
            qty=qty,
            trigger_price=trigger,
            working_type=params.get("workingType", "CONTRACT_PRICE"),
            tif=params.get("timeInForce", "GTC"),
            reduce_only=self._reduce_only(params),
            create_ms=now_ms,
            update_ms=now_ms,
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

    # -------------------------------------------------------------- matching
    def move_to(self, price: Decimal, now_ms: int) -> list[Event]:
        """Walk the last price to ``price``, filling what the segment crosses."""
        start = self.price
        lo, hi = min(start, price), max(start, price)
        events: list[Event] = []
        for order in sorted(self.open_orders(), key=lambda o: o.price, reverse=price < start):
            if order.type != "LIMIT" or not order.is_open:
                continue
            if (order.side == "BUY" and order.price >= lo) or (
                order.side == "SELL" and order.price <= hi
            ):
                self.price = order.price
                qty = self._touch_qty(order.remaining)
                events += self._fill(order, qty, order.price, maker=True, now_ms=now_ms)
        for algo in self.open_algos():
            if not algo.is_open:
                continue
            hit = (algo.side == "BUY" and hi >= algo.trigger_price) or (
                algo.side == "SELL" and lo <= algo.trigger_price
            )
            if hit:
                self.price = algo.trigger_price
                events += self._trigger(algo, now_ms)
        self.price = price
        return events

    def check_liquidation(self, now_ms: int) -> list[Event]:
        """Liquidate every leg at the mark when margin balance <= maintenance margin.

        Open orders and algo orders are cancelled first; each leg closes with an
        ``autoclose-`` LIMIT IOC order reported as ``x: CALCULATED`` (Binance's
        liquidation execution), charged the taker fee.
        """
        legs = [p for p in self.positions.values() if p.amt != 0]
        if not legs:
            return []
        mark = self.price
        upnl = sum((p.unrealized(mark) for p in legs), Decimal(0))
        maint = sum((abs(p.amt) * mark * self.rules.maint_margin for p in legs), Decimal(0))
        if self.wallet + upnl > maint:
            return []
        events: list[Event] = []
        for order in self.open_orders():
            events += self.cancel_order(order, now_ms)[1]
        for algo in self.open_algos():
            events += self.cancel_algo(algo, now_ms)[1]
        for n, pos in enumerate(legs):
            order = SimOrder(
                order_id=next(self._ids),
                client_id=f"autoclose-{now_ms}{n}",
                symbol=self.rules.symbol,
                side="SELL" if pos.amt > 0 else "BUY",
                position_side=pos.side,
                type="LIMIT",
                tif="IOC",
                price=mark,
                qty=abs(pos.amt),
                reduce_only=True,
                time_ms=now_ms,
                update_ms=now_ms,
            )
            self.orders[order.order_id] = order
            events += self._fill(
                order, order.qty, mark, maker=False, now_ms=now_ms, exec_type="CALCULATED"
            )
        return events

    def _touch_qty(self, remaining: Decimal) -> Decimal:
        """What a touch fills: everything, or half (on the step) when partial fills are on."""
        step = self.rules.step
        if not self.partial_fills or remaining <= step:
            return remaining
        return max(step, (remaining / 2 // step) * step)

    def _trigger(self, algo: AlgoOrder, now_ms: int) -> list[Event]:
        """Trigger an algo order into a MARKET order filled at its trigger price."""
        algo.trigger_ms = algo.update_ms = now_ms
        ps = algo.position_side
        if (
            self.dual_side
            and self._is_closing(algo.side, ps)
            and algo.qty > abs(self.positions[ps].amt)
        ):
            algo.status = "EXPIRED"
            return [algo_event(self.fmt, algo, now_ms)]
        order = SimOrder(
            order_id=next(self._ids),
            client_id=algo.client_algo_id,
            symbol=algo.symbol,
            side=algo.side,
            position_side=ps,
            type="MARKET",
            tif=algo.tif,
            price=Decimal(0),
            qty=algo.qty,
            reduce_only=algo.reduce_only,
            time_ms=now_ms,
            orig_type=algo.order_type,
            stop_price=algo.trigger_price,
            update_ms=now_ms,
        )
        self.orders[order.order_id] = order
        algo.status = "TRIGGERED"
        algo.actual_order_id = order.order_id
        events = [algo_event(self.fmt, algo, now_ms)]
        events += self._fill(order, order.qty, algo.trigger_price, maker=False, now_ms=now_ms)
        algo.status = "FINISHED"
        algo.executed = order.executed
        algo.avg_price = order.avg_price
        events.append(algo_event(self.fmt, algo, now_ms))
        return events

    def _fill(
        self,
        order: SimOrder,
        qty: Decimal,
        px: Decimal,
        *,
        maker: bool,
        now_ms: int,
        exec_type: str = "TRADE",
    ) -> list[Event]:
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
            elif (pos.amt > 0) == (delta > 0):  # flipped (one-way mode only)
                pos.entry = px
        fee_rate = self.rules.maker_fee if maker else self.rules.taker_fee
        commission = (qty * px * fee_rate).quantize(Decimal("0.00000001"))
        pos.realized += realized
        pos.update_ms = now_ms
        self.wallet += realized - commission
        order.executed += qty
        order.cum_quote += qty * px
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        order.update_ms = now_ms
        trade = SimTrade(
            trade_id=next(self._trade_ids),
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
        self._prune()
        events = [
            trade_lite(self.fmt, order, trade),
            order_event(self.fmt, order, exec_type, now_ms, trade),
            self._account("ORDER", now_ms, [order.position_side]),
        ]
        if self.dual_side and self._is_closing(order.side, order.position_side):
            events += self._expire_excess_closes(order.position_side, now_ms)
        return events

    def _expire_excess_closes(self, leg: str, now_ms: int) -> list[Event]:
        """Hedge mode: close orders on ``leg`` beyond what is left of it expire (newest first)."""
        pos = abs(self.positions[leg].amt)
        closes = [
            o
            for o in self.open_orders()
            if o.position_side == leg and self._is_closing(o.side, leg)
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
        return events

    def _prune(self) -> None:
        """Keep at most ``max_history`` trades and closed orders (open ones always stay)."""
        if len(self.trades) > self.max_history:
            del self.trades[: len(self.trades) - self.max_history]
        if len(self.orders) > self.max_history:
            closed = [oid for oid, o in self.orders.items() if not o.is_open]
            for oid in closed[: len(self.orders) - self.max_history]:
                del self.orders[oid]

    def settle_funding(self, rate: Decimal, mark: Decimal, now_ms: int) -> list[Event]:
        """Funding: each leg pays ``amt * mark * rate`` (longs pay a positive rate)."""
        legs = [p for p in self.positions.values() if p.amt != 0]
        if not legs:
            return []
        total = Decimal(0)
        for pos in legs:
            fee = -(pos.amt * mark * rate).quantize(Decimal("0.00000001"))
            self.wallet += fee
            total += fee
            pos.extra["funding"] = pos.extra.get("funding", Decimal(0)) + fee
        # Cross margin: Binance pushes the balance only (no P) for a funding fee.
        event = account_event(
            self.fmt, self.rules.symbol, self.wallet, self.price, [], "FUNDING_FEE", now_ms, total
        )
        return [event]

    def _account(self, reason: str, now_ms: int, sides: list[str]) -> Event:
        legs = [self.positions[side] for side in sides]
        return account_event(
            self.fmt, self.rules.symbol, self.wallet, self.price, legs, reason, now_ms
        )
