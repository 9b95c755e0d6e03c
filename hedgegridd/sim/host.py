"""``SimHost``: what the HTTP and stream surface may use of the simulator.

The REST handlers and views type their ``sim`` argument with this protocol instead
of importing ``SimExchange``, so imports run one way: ``exchange`` (the composition
root) imports the surface, the surface imports the account, markets, venue and
engine below it, and nothing below imports upward (``tests/sim/test_imports.py``).
``SimExchange`` satisfies it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from hedgegridd.data.instruments import InstrumentSpec
from hedgegridd.sim.account import Account
from hedgegridd.sim.config import SimConfig
from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.faults import Faults
from hedgegridd.sim.limits import OrderRateLimiter, WeightLimiter
from hedgegridd.sim.orders import Formats
from hedgegridd.sim.requestlog import RequestLog
from hedgegridd.sim.rules import SymbolRules
from hedgegridd.sim.streams import StreamHub
from hedgegridd.sim.symbol_market import SymbolMarket
from hedgegridd.sim.ticker import MarketTicker
from hedgegridd.sim.venue import Venue


class SimHost(Protocol):
    """The simulator as the REST/stream surface sees it (``SimExchange`` is one).

    ``account``: the one account (wallet, mode, income, margins); ``markets`` and
    ``market(symbol)`` (-1102 missing, -1121 unknown): each symbol's market;
    ``venue``: serialized order operations (take a symbol); ``hub``, ``faults``,
    ``limiter``, ``order_limiter``, ``requests``, ``order_rejections``: shared.
    ``spec``, ``engine``, ``ticker``, ``fmt``, ``rules``, ``symbol_info``: the default
    (first) symbol's.
    """

    config: SimConfig
    account: Account
    markets: dict[str, SymbolMarket]
    venue: Venue
    hub: StreamHub
    faults: Faults
    limiter: WeightLimiter
    order_limiter: OrderRateLimiter
    requests: RequestLog
    order_rejections: Counter[int]

    def market(self, symbol: str | None) -> SymbolMarket:
        """The symbol's market (-1102 when missing, -1121 when not served)."""
        ...

    def check_symbol(self, params: dict[str, str]) -> None:
        """-1102/-1121 unless the request names a served symbol."""
        ...

    def set_hedge_mode(self, enabled: bool) -> None:
        """Switch the account's position mode."""
        ...

    @property
    def spec(self) -> InstrumentSpec:
        """The default symbol's spec."""
        ...

    @property
    def engine(self) -> MatchingEngine:
        """The default symbol's engine."""
        ...

    @property
    def ticker(self) -> MarketTicker:
        """The default symbol's ticker."""
        ...

    @property
    def fmt(self) -> Formats:
        """The default symbol's formats."""
        ...

    @property
    def rules(self) -> SymbolRules:
        """The default symbol's rules."""
        ...

    @property
    def symbol_info(self) -> dict[str, Any]:
        """The default symbol's exchangeInfo entry."""
        ...
