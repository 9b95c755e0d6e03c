"""The Nautilus strategy adapter: ``HedgeGridStrategy`` + frozen ``HedgeGridConfig``.

Public API (import from the submodules; this ``__init__`` stays Nautilus-free so
that the handle contract can be imported without loading the engine):

- ``hedgegridd.strategy.strategy.HedgeGridStrategy`` (implements ``StrategyHandle``;
  ``prime(WarmupData)`` before start, ``set_sinks(state=..., alert=...)``)
- ``hedgegridd.strategy.config.HedgeGridConfig.create(params, instrument_id=..., bar_type=...)``
- ``hedgegridd.strategy.warmup``: ``WarmupData``, ``HistoryBar``, ``StateUpdate``
- ``hedgegridd.strategy.handle``: the ``StrategyHandle`` contract and snapshot types
"""

from hedgegridd.strategy.handle import StrategyHandle, StrategySnapshot, TradingState
from hedgegridd.strategy.warmup import HistoryBar, StateUpdate, WarmupData

__all__ = [
    "HistoryBar",
    "StateUpdate",
    "StrategyHandle",
    "StrategySnapshot",
    "TradingState",
    "WarmupData",
]
