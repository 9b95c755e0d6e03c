"""Symbol resolution for the REST surface: a request's ``symbol`` -> that symbol's market.

``market_of(sim, symbol)`` is ``SimExchange.market``: -1102 when the symbol is
missing, -1121 "Invalid symbol." when the simulator does not list it (never another
symbol's data). ``markets_of(sim)``: every market, in listing order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hedgegridd.sim.host import SimHost as SimExchange
    from hedgegridd.sim.symbol_market import SymbolMarket

    Market = SymbolMarket


def market_of(sim: SimExchange, symbol: str | None) -> SymbolMarket:
    """The market of ``symbol``: -1102 when missing, -1121 when not listed."""
    return sim.market(symbol)


def markets_of(sim: SimExchange) -> list[SymbolMarket]:
    """Every market of the simulator, in listing order."""
    return list(sim.markets.values())


def markets_for(sim: SimExchange, symbol: str | None) -> list[SymbolMarket]:
    """``symbol``'s market when given (-1121 if unknown), else every market."""
    return [market_of(sim, symbol)] if symbol else markets_of(sim)
