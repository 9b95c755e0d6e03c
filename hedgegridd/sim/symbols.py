"""Symbol resolution for the REST surface: a request's ``symbol`` -> that symbol's market.

``market_of(sim, symbol)``: -1102 when the symbol is missing, -1121 "Invalid symbol."
when the simulator does not list it (never another symbol's data). ``markets_of(sim)``:
every market, in listing order. Uses ``SimExchange.market``/``markets`` (one account,
several symbols) when the exchange has them, else its single-symbol attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from hedgegridd.sim.auth import mandatory
from hedgegridd.sim.orders import Formats, VenueError

if TYPE_CHECKING:
    from hedgegridd.data.instruments import InstrumentSpec
    from hedgegridd.sim.engine import MatchingEngine
    from hedgegridd.sim.exchange import SimExchange
    from hedgegridd.sim.market import PricePath
    from hedgegridd.sim.rules import SymbolRules
    from hedgegridd.sim.ticker import MarketTicker


class Market(Protocol):
    """What the REST views read of one symbol (``SimExchange.market(symbol)``)."""

    @property
    def symbol(self) -> str: ...
    @property
    def spec(self) -> InstrumentSpec: ...
    @property
    def symbol_info(self) -> dict[str, Any]: ...
    @property
    def rules(self) -> SymbolRules: ...
    @property
    def fmt(self) -> Formats: ...
    @property
    def engine(self) -> MatchingEngine: ...
    @property
    def ticker(self) -> MarketTicker: ...
    @property
    def path(self) -> PricePath: ...
    @property
    def funding_rates(self) -> list[Decimal]: ...


@dataclass(slots=True)
class _SingleMarket:
    """The one market of a single-symbol ``SimExchange`` (its legacy attributes)."""

    sim: SimExchange

    @property
    def symbol(self) -> str:
        return self.sim.spec.symbol

    @property
    def spec(self) -> InstrumentSpec:
        return self.sim.spec

    @property
    def symbol_info(self) -> dict[str, Any]:
        return self.sim.symbol_info

    @property
    def rules(self) -> SymbolRules:
        return self.sim.rules

    @property
    def fmt(self) -> Formats:
        return self.sim.fmt

    @property
    def engine(self) -> MatchingEngine:
        return self.sim.engine

    @property
    def ticker(self) -> MarketTicker:
        return self.sim.ticker

    @property
    def path(self) -> PricePath:
        return self.sim.path

    @property
    def funding_rates(self) -> list[Decimal]:
        return self.sim.funding_rates


def market_of(sim: SimExchange, symbol: str | None) -> Market:
    """The market of ``symbol``: -1102 when missing, -1121 when not listed."""
    if hasattr(sim, "markets"):
        found: Market = sim.market(symbol)  # type: ignore[attr-defined,unused-ignore]
        return found
    if not symbol:
        raise mandatory("symbol")
    if symbol != sim.spec.symbol:
        raise VenueError(-1121, "Invalid symbol.")
    return _SingleMarket(sim)


def markets_of(sim: SimExchange) -> list[Market]:
    """Every market of the simulator, in listing order."""
    if hasattr(sim, "markets"):
        return list(sim.markets.values())  # type: ignore[attr-defined,unused-ignore]
    return [_SingleMarket(sim)]


def markets_for(sim: SimExchange, symbol: str | None) -> list[Market]:
    """``symbol``'s market when given (-1121 if unknown), else every market."""
    return [market_of(sim, symbol)] if symbol else markets_of(sim)
