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
from hedgegridd.sim.events import Event, algo_event
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


def walk(engine: MatchingEngine, target: Decimal, now_ms: int, *, gap: bool = False) -> list[Event]:
    """Move the last price to ``target``, filling and triggering what the move reaches."""
    start = engine.price
    down = target < start
    lo, hi = min(start, target), max(start, target)
    events: list[Event] = []
    reached = sorted(_reached(engine, lo, hi), key=lambda x: x[0], reverse=down)
    for at, item in reached:
        if isinstance(item, SimOrder):
            if not item.is_open:
                continue
            engine.price = item.price
            qty = _touch_qty(engine, item.remaining)
            events += engine.fill(item, qty, item.price, maker=True, now_ms=now_ms)
        elif isinstance(item, AlgoOrder) and item.is_open:
            engine.price = target if gap else at
            px = engine.price
            if gap and item.side == "BUY":
                px = engine.ask
            events += trigger(engine, item, now_ms, px)
    engine.price = target
    return events


def trigger(engine: MatchingEngine, algo: AlgoOrder, now_ms: int, px: Decimal) -> list[Event]:
    """Trigger an algo order into a MARKET order filled at ``px`` (taker)."""
    algo.trigger_ms = algo.update_ms = now_ms
    ps = algo.position_side
    if is_hedge_close(algo.side, ps) and algo.qty > abs(engine.positions[ps].amt):
        algo.status = "EXPIRED"
        return [algo_event(engine.fmt, algo, now_ms)]
    order = engine.add_order(
        algo.side,
        ps,
        "MARKET",
        algo.tif,
        Decimal(0),
        algo.qty,
        algo.reduce_only,
        algo.client_algo_id,
        now_ms,
        orig_type=algo.order_type,
        stop_price=algo.trigger_price,
    )
    algo.status = "TRIGGERED"
    algo.actual_order_id = order.order_id
    events = [algo_event(engine.fmt, algo, now_ms)]
    events += engine.fill(order, order.qty, px, maker=False, now_ms=now_ms)
    algo.status = "FINISHED"
    algo.executed = order.executed
    algo.avg_price = order.avg_price
    events.append(algo_event(engine.fmt, algo, now_ms))
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
