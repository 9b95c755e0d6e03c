"""What the supervisor hands to the strategy factory before the node starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from hedgegridd.supervisor.settings import Settings
from hedgegridd.supervisor.state import Latch
from hedgegridd.supervisor.warmup import WarmupResult

if TYPE_CHECKING:
    from nautilus_trader.trading.strategy import Strategy


@dataclass(frozen=True, slots=True)
class RestoredState:
    """Durable state read from the StateStore at startup."""

    peak_equity: Decimal | None
    realized_pnl: Decimal | None
    throttle: Decimal | None  # operator throttle persisted by ctl/reload
    paused: bool  # operator pause persisted
    latch: Latch | None  # kill switch latched before the restart
    flatten_pause: str | None = None  # a flatten's pause (until an operator resumes)


@dataclass(frozen=True, slots=True)
class StrategyInputs:
    """Settings + warmup + restored state: everything a strategy needs to be built."""

    settings: Settings
    warmup: WarmupResult
    restored: RestoredState


# Builds the Nautilus strategy; the returned object must also implement StrategyHandle.
StrategyFactory = Callable[[StrategyInputs], "Strategy"]
