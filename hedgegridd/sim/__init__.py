"""Local exchange simulator: a Binance USD-M Futures look-alike for the real adapter.

Public API: ``SimExchange`` (async context manager / component with ``run``),
``SimConfig`` (frozen settings), ``SimBar`` (one replayed 1-minute bar).
``hedgegrid sim`` runs it standalone. The supported subset (REST endpoints,
streams, order types, venue rules and error codes, faults) and its known
differences from Binance are documented in ``docs/sim.md``. In short: one or
several symbols (``SimConfig.symbols``, each with its own price path and funding)
on one hedge-mode (or one-way) cross-margin account, LIMIT/GTX/MARKET orders and
STOP_MARKET/TAKE_PROFIT_MARKET/STOP/TAKE_PROFIT algo orders (last- or
mark-triggered, closePosition) filled against replayed price paths with a speed
factor, fees and 8-hourly funding; scripted
scenarios (gap, crash, spike, wick, bleed, funding spike, mark premium); faults:
drop/stall (drop or delay) streams, expire the listenKey, reject the next N
orders, 5xx, latency, price jumps, venue restart, hedge mode off, 429/418.
"""

from hedgegridd.sim.config import SimConfig
from hedgegridd.sim.exchange import SimExchange
from hedgegridd.sim.market import SimBar

__all__ = ["SimBar", "SimConfig", "SimExchange"]
