"""What a stop leaves behind, on purpose or not.

NautilusTrader checks the cache once the trader has stopped and prints one
``[WARN] ... Cache: Residual <order|position>`` line per open order and position; it
cannot be configured off (``NautilusKernel._await_trader_residuals``). Under the
default stop policy (``cancel_entries``) the exits and the positions they protect are
left on purpose, so the strategy says so first (``strategy.stopped`` with
``left_on_purpose``) and, once the node has stopped, checks that nothing else was
left: an open order the policy should have cancelled is a ``stop.residual_unexpected``
warning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from hedgegridd.core.types import Position
from hedgegridd.strategy.orders import meta_from_client_id

# Order kinds each stop policy leaves resting on purpose (positions always stay open).
KEPT_KINDS: Mapping[str, frozenset[str]] = {
    "cancel_entries": frozenset({"tp", "sl"}),
    "cancel_all": frozenset(),
    "keep_all": frozenset({"entry", "tp", "sl"}),
}
NAUTILUS_NOTE = (
    "NautilusTrader lists these open orders and positions as 'Residual' warnings at "
    "shutdown; the stop policy leaves them on purpose"
)


def live(strategy: Any) -> bool:
    """On a live node (a backtest never processes the cancels sent at its stop)."""
    from nautilus_trader.common.component import LiveClock

    return isinstance(strategy.clock, LiveClock)


def open_kinds(strategy: Any) -> list[str]:
    """Kinds of the strategy's open orders in the Nautilus cache (cancels in flight too)."""
    orders = strategy.cache.orders_open(
        instrument_id=strategy.instrument_id, strategy_id=strategy.id
    )
    metas = (meta_from_client_id(o.client_order_id) for o in orders)
    return [m.kind for m in metas if m is not None]


def left_on_purpose(
    policy: str, kinds: Iterable[str], positions: Iterable[Position]
) -> dict[str, object]:
    """Log fields: the orders (by kind) and positions the policy leaves, and the note."""
    kept = KEPT_KINDS.get(policy, frozenset())
    orders = Counter(kind for kind in kinds if kind in kept)
    held = {p.side.value: str(p.qty) for p in positions if p.qty != 0}
    fields: dict[str, object] = {"left_orders": dict(sorted(orders.items())), "positions": held}
    if orders or held:
        fields["note"] = NAUTILUS_NOTE
    return fields


def unexpected(policy: str, kinds: Iterable[str]) -> dict[str, int]:
    """Open orders by kind that the policy should not have left (cancels that failed)."""
    kept = KEPT_KINDS.get(policy, frozenset())
    return dict(sorted(Counter(kind for kind in kinds if kind not in kept).items()))
