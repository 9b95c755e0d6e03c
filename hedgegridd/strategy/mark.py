"""``MarkTracker``: the price positions are valued at, as it streams.

Risk readings (equity, drawdown, margin ratio, position notional) must move with
the market, not with bar closes. The tracker keeps the latest valuation price and
when it was received (node clock, ns):

- the venue's mark price (``BinanceFuturesMarkPriceUpdate``, ~1/s in sim, testnet
  and live) or the quote mid (paper) on every update;
- a bar close only when no mark/quote arrived for ``bar_fallback_after_ns`` (the
  mark stream is down but bars still flow: the bar is then the freshest price).

Observers (the kill switch's wake-up) are called after every update that changes
the price (a repeated price only refreshes the age); an observer that raises is
logged, never propagated into the strategy's handler.
No Nautilus import: the strategy's handlers translate and call ``observe_*``;
``revalued`` values a snapshot's positions at the tracked price.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import structlog

from hedgegridd.core.types import ZERO, Position
from hedgegridd.strategy.handle import SideSnapshot, StrategySnapshot

log = structlog.get_logger(__name__)

# A bar close values the book only when the streamed mark is older than this.
DEFAULT_BAR_FALLBACK_NS = 5_000_000_000

MarkObserver = Callable[[Decimal, int], None]


@dataclass(frozen=True, slots=True)
class MarkObservation:
    """One valuation price and the node-clock ns it was received at."""

    price: Decimal
    received_ns: int
    source: str  # "mark" | "quote" | "bar"


class MarkTracker:
    """Latest valuation price (mark, quote mid or bar close) and its age."""

    def __init__(self, *, bar_fallback_after_ns: int = DEFAULT_BAR_FALLBACK_NS) -> None:
        self._bar_fallback_ns = bar_fallback_after_ns
        self._last: MarkObservation | None = None
        self._streamed_ns: int | None = None  # last mark/quote receipt
        self._observers: list[MarkObserver] = []
        self.updates = 0

    @property
    def price(self) -> Decimal | None:
        """The valuation price, or None before any mark, quote or bar."""
        return None if self._last is None else self._last.price

    @property
    def received_ns(self) -> int | None:
        """Node-clock ns of the last valuation update (None before the first)."""
        return None if self._last is None else self._last.received_ns

    @property
    def last(self) -> MarkObservation | None:
        """The last observation."""
        return self._last

    def add_observer(self, observer: MarkObserver) -> None:
        """Call ``observer(price, received_ns)`` after every valuation update."""
        self._observers.append(observer)

    def observe_stream(self, price: Decimal, received_ns: int, *, source: str = "mark") -> bool:
        """A streamed mark price (or quote mid); True when it changed the valuation price."""
        if price <= 0:
            return False
        self._streamed_ns = received_ns
        if self._last is not None and self._last.price == price:
            self._last = MarkObservation(price, received_ns, source)  # fresher, same value
            return False
        self._set(MarkObservation(price, received_ns, source))
        return True

    def observe_bar(self, close: Decimal, received_ns: int) -> bool:
        """A bar close: taken only when no streamed price arrived recently."""
        if close <= 0:
            return False
        streamed = self._streamed_ns
        if streamed is not None and received_ns - streamed < self._bar_fallback_ns:
            return False
        self._set(MarkObservation(close, received_ns, "bar"))
        return True

    def reset(self) -> None:
        """Forget every observation (strategy reset)."""
        self._last = None
        self._streamed_ns = None

    def _set(self, obs: MarkObservation) -> None:
        self._last = obs
        self.updates += 1
        for observer in tuple(self._observers):
            try:
                observer(obs.price, obs.received_ns)
            except Exception as exc:  # noqa: BLE001 - an observer bug must not stop valuation
                log.error("mark.observer_failed", error=f"{type(exc).__name__}: {exc}")


_MONEY = Decimal(1).scaleb(-8)  # money at 8 decimals, as the control replies


def revalued(
    snap: StrategySnapshot,
    positions: tuple[Position, Position],
    price: Decimal,
    received_ns: int | None,
) -> StrategySnapshot:
    """``snap`` with unrealized PnL and notional of (LONG, SHORT) ``positions`` at ``price``."""

    def side(view: SideSnapshot, pos: Position, sign: int) -> SideSnapshot:
        upnl = ZERO
        if pos.qty > 0 and pos.avg_price is not None:
            upnl = (price - pos.avg_price) * pos.qty * sign
        notional = pos.qty * price
        return dataclasses.replace(
            view,
            unrealized_pnl=upnl.quantize(_MONEY) if upnl else ZERO,
            notional=notional.quantize(_MONEY) if notional else ZERO,
        )

    long, short = side(snap.long, positions[0], 1), side(snap.short, positions[1], -1)
    return dataclasses.replace(
        snap,
        long=long,
        short=short,
        unrealized_pnl=long.unrealized_pnl + short.unrealized_pnl,
        mark_price=price,
        mark_ns=received_ns,
    )
