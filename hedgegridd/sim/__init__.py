"""Local exchange simulator: a Binance USD-M Futures look-alike (see docs/sim.md)."""

from hedgegridd.sim.config import SimConfig
from hedgegridd.sim.exchange import SimExchange
from hedgegridd.sim.market import SimBar

__all__ = ["SimBar", "SimConfig", "SimExchange"]
