"""Price moves against the book: resting fills, conditional triggers, liquidation.

``walk`` moves the last price from where it is to a target. Everything the move
reaches is processed in path order (nearest first): a resting LIMIT fills in full
at its own price (maker), a conditional order triggers into a MARKET order. A
conditional order triggers on the last price (``CONTRACT_PRICE``) or on the mark
(``MARK_PRICE``: the last price at which the mark reaches the trigger). On a
continuous move a triggered order fills at that price; on a gap (``gap=True``:
a jump, an instant scenario move, a venue coming back) it fills at the market
after the gap, as a market order would. A closing trigger larger than its leg
expires instead of filling, so a hedge leg never changes sign.
"""

from __future__ import annotations

from decimal import Decimal

from hedgegridd.sim.checks import would_trigger
from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.events import Event, algo_event, order_event
from hedgegridd.sim.ledger import is_hedge_close
from hedgegridd.sim.orders import AlgoOrder, SimOrder


def _touch_qty(engine: MatchingEngine, remaining: Decimal) -> Decimal:
    """What a touch fills: everything, or half (on the step) when partial fills are on."""
    step = engine.rules.step
    if not engine.partial_fills or remaining <= step:
        return remaining
    return max(step, (remaining / 2 // step) * step)


def trigger_last(engine: MatchingEngine, algo: AlgoOrder) -> Decimal:
    """The last price at which ``algo`` triggers (its trigger, or the mark's equivalent)."""
    if algo.working_type == "MARK_PRICE":
        return engine.ledger.last_for_mark(algo.trigger_price)
    return algo.trigger_price


def _reaches(engine: MatchingEngine, algo: AlgoOrder, lo: Decimal, hi: Decimal) -> bool:
    """Whether a price segment [lo, hi] (last prices) reaches ``algo``'s trigger."""
    if algo.working_type == "MARK_PRICE":
        lo, hi = engine.ledger.mark_of(lo), engine.ledger.mark_of(hi)
    trig = algo.trigger_price
    return would_trigger(algo.order_type, algo.side, trig, lo) or would_trigger(
        algo.order_type, algo.side, trig, hi
    )


def _reached(engine: MatchingEngine, lo: Decimal, hi: Decimal) -> list[tuple[Decimal, object]]:
    """Open orders and algo orders the segment [lo, hi] reaches, with their touch price."""
    found: list[tuple[Decimal, object]] = []
    for order in engine.open_orders():
        if order.type != "LIMIT":
            continue
        if (order.side == "BUY" and order.price >= lo) or (
            order.side == "SELL" and order.price <= hi
        ):
            found.append((order.price, order))
    for algo in engine.open_algos():
        if _reaches(engine, algo, lo, hi):
            found.append((min(max(trigger_last(engine, algo), lo), hi), algo))
    return found


def _queue(
    engine: MatchingEngine, pos: Decimal, target: Decimal, done: set[int]
) -> list[tuple[Decimal, object]]:
    """What the rest of a move (``pos`` to ``target``) reaches, nearest first."""
    lo, hi = min(pos, target), max(pos, target)
    found = [(at, it) for at, it in _reached(engine, lo, hi) if id(it) not in done]
    return sorted(found, key=lambda x: x[0], reverse=target < pos)


def walk(engine: MatchingEngine, target: Decimal, now_ms: int, *, gap: bool = False) -> list[Event]:
    """Move the last price to ``target``, filling and triggering what the move reaches.

    Items are taken nearest first; when a trigger places a resting LIMIT (STOP /
    TAKE_PROFIT), the rest of the move is looked at again, so that order fills later
    in the same move if the move reaches its price. Each item is processed once a walk.
    """
    pos = engine.price
    done: set[int] = set()
    events: list[Event] = []
    queue = _queue(engine, pos, target, done)
    while queue:
        at, item = queue.pop(0)
        if not isinstance(item, SimOrder | AlgoOrder) or not item.is_open:
            continue
        done.add(id(item))
        pos = at
        if isinstance(item, SimOrder):
            engine.price = item.price
            qty = _touch_qty(engine, item.remaining)
            events += engine.fill(item, qty, item.price, maker=True, now_ms=now_ms)
            continue
        engine.price = target if gap else at
        px = engine.price
        if gap and item.side == "BUY":
            px = engine.ask
        events += trigger(engine, item, now_ms, px)
        placed = engine.orders.get(item.actual_order_id or 0)
        if placed is not None and placed.is_open:
            queue = _queue(engine, pos, target, done)
    engine.price = target
    return events


def _trigger_qty(engine: MatchingEngine, algo: AlgoOrder) -> Decimal:
    """What a trigger orders: the algo's quantity, or for closePosition the whole leg
    it closes (0 when that leg is flat or on the other side)."""
    if not algo.close_position:
        return algo.qty
    amt = engine.positions[algo.position_side].amt
    closes = (algo.side == "SELL" and amt > 0) or (algo.side == "BUY" and amt < 0)
    return abs(amt) if closes else Decimal(0)


def trigger(engine: MatchingEngine, algo: AlgoOrder, now_ms: int, px: Decimal) -> list[Event]:
    """Trigger an algo order: STOP_MARKET/TAKE_PROFIT_MARKET become a MARKET order filled
    at ``px`` (taker); STOP/TAKE_PROFIT a LIMIT order at the algo's price (it takes at
    the touch when it crosses, else rests; IOC/FOK that cannot fill expire). A close
    larger than its leg (or a closePosition with nothing to close) expires instead,
    so a hedge leg never flips; an opening one the account cannot margin is REJECTED."""
    algo.trigger_ms = algo.update_ms = now_ms
    ps = algo.position_side
    qty = _trigger_qty(engine, algo)
    too_big = is_hedge_close(algo.side, ps) and qty > abs(engine.positions[ps].amt)
    if qty <= 0 or too_big:
        algo.status = "EXPIRED"
        return [algo_event(engine.fmt, algo, now_ms)]
    limit = algo.actual_type == "LIMIT"
    opening = not (is_hedge_close(algo.side, ps) or algo.reduce_only or algo.close_position)
    cost = qty * (algo.price if limit else px) / Decimal(engine.leverage)
    if opening and cost > engine.available_balance():
        algo.status = "REJECTED"  # Binance: the matching engine's margin check failed
        return [algo_event(engine.fmt, algo, now_ms)]
    order = engine.add_order(
        algo.side,
        ps,
        algo.actual_type,
        algo.tif,
        algo.price if limit else Decimal(0),
        qty,
        algo.reduce_only or (algo.close_position and ps == "BOTH"),
        algo.client_algo_id,
        now_ms,
        orig_type=algo.order_type,
        stop_price=algo.trigger_price,
        algo_id=algo.algo_id,
        working_type=algo.working_type,
        close_position=algo.close_position,
        price_protect=algo.price_protect,
    )
    algo.status = "TRIGGERED"
    algo.actual_order_id = order.order_id
    events = [algo_event(engine.fmt, algo, now_ms)]
    if not limit:
        return events + engine.fill(order, order.qty, px, maker=False, now_ms=now_ms)
    events.append(order_event(engine.fmt, order, "NEW", now_ms))
    if (algo.side == "BUY" and algo.price >= engine.ask) or (
        algo.side == "SELL" and algo.price <= engine.bid
    ):
        touch = engine.ask if algo.side == "BUY" else engine.bid
        return events + engine.fill(order, order.qty, touch, maker=False, now_ms=now_ms)
    if algo.tif in ("IOC", "FOK"):
        order.status = "EXPIRED"
        order.update_ms = now_ms
        events.append(order_event(engine.fmt, order, "EXPIRED", now_ms))
        events += engine.finish_algo(order, now_ms)
    return events


def trigger_marked(engine: MatchingEngine, now_ms: int) -> list[Event]:
    """After the mark moved on its own (premium change): trigger MARK_PRICE orders it crossed."""
    events: list[Event] = []
    mark = engine.mark
    for algo in engine.open_algos():
        if algo.working_type != "MARK_PRICE":
            continue
        if would_trigger(algo.order_type, algo.side, algo.trigger_price, mark):
            px = engine.ask if algo.side == "BUY" else engine.bid
            events += trigger(engine, algo, now_ms, px)
    return events


def check_liquidation(engine: MatchingEngine, now_ms: int) -> list[Event]:
    """Liquidate every leg of every symbol when the account's margin balance <=
    its maintenance margin (cross margin: one account for all symbols).

    Open orders and algo orders are cancelled first; each leg closes at its
    symbol's mark with an ``autoclose-`` LIMIT IOC order reported as
    ``x: CALCULATED`` (Binance's liquidation execution), charged the taker fee.
    """
    if not engine.account.liquidation_due():
        return []
    books = [b for b in engine.account.books.values() if isinstance(b, MatchingEngine)]
    events: list[Event] = []
    for book in books:
        events += _liquidate(book, now_ms)
    return events


def _liquidate(engine: MatchingEngine, now_ms: int) -> list[Event]:
    mark = engine.mark
    events: list[Event] = []
    for order in engine.open_orders():
        events += engine.cancel_order(order, now_ms)[1]
    for algo in engine.open_algos():
        events += engine.cancel_algo(algo, now_ms)[1]
    legs = [p for p in engine.positions.values() if p.amt != 0]
    for n, pos in enumerate(legs):
        order = engine.add_order(
            "SELL" if pos.amt > 0 else "BUY",
            pos.side,
            "LIMIT",
            "IOC",
            mark,
            abs(pos.amt),
            True,
            f"autoclose-{now_ms}{n}",
            now_ms,
        )
        events += engine.fill(
            order, order.qty, mark, maker=False, now_ms=now_ms, exec_type="CALCULATED"
        )
    return events
