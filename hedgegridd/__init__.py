"""hedgegrid: a hedge-mode grid trading daemon for Binance USD-M perpetuals on NautilusTrader.

Layers (each importing only the ones before it):
core (pure) -> strategy (Nautilus adapter) -> venues -> ops / control -> supervisor.
Offline tools: data, backtest, optimize, sim.
"""

from hedgegridd.errors import HedgegridError

__version__ = "0.1.0"

__all__ = ["HedgegridError", "__version__"]
