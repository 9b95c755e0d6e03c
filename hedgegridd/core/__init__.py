"""The pure grid core: stdlib + Decimal only; no Nautilus, no clock, no I/O.

Time is always an argument (int nanoseconds). Public API:

Types (``core.types``): ``Side``, ``Regime``, ``ExitKind``, ``InstrumentRules``, ``Rung``,
``RungKey`` (("LONG", 3)), ``Ladder``, ``Position``, ``LiveEntry``, ``RestingExit`` and the
intents ``PlaceEntry``/``CancelEntry``/``PlaceExit``/``CancelExit``.
Specs (``core.specs``, built by ``hedgegridd.params.StrategyParams.to_core()``):
``GridParams`` bundling ``LadderSpec``, ``ExitSpec``, ``RegimeSpec``, ``PolicySpec``,
``FundingSpec``, ``DiffSpec``, ``RiskSpec``.
Precision (``core.precision``): ``round_entry_price``, ``floor_qty``, ``clamp_qty``,
``clamp_rung``.
"""

from hedgegridd.core.precision import clamp_qty, clamp_rung, floor_qty, round_entry_price
from hedgegridd.core.specs import (
    DiffSpec,
    ExitSpec,
    FundingSpec,
    GridParams,
    LadderSpec,
    PolicyKind,
    PolicySpec,
    RegimeSpec,
    RiskSpec,
    Spacing,
)
from hedgegridd.core.types import (
    CancelEntry,
    CancelExit,
    ExitKind,
    InstrumentRules,
    Intent,
    Ladder,
    LiveEntry,
    PlaceEntry,
    PlaceExit,
    Position,
    Regime,
    RestingExit,
    Rung,
    RungKey,
    Side,
)

__all__ = [
    "CancelEntry",
    "CancelExit",
    "DiffSpec",
    "ExitKind",
    "ExitSpec",
    "FundingSpec",
    "GridParams",
    "InstrumentRules",
    "Intent",
    "Ladder",
    "LadderSpec",
    "LiveEntry",
    "PlaceEntry",
    "PlaceExit",
    "PolicyKind",
    "PolicySpec",
    "Position",
    "Regime",
    "RegimeSpec",
    "RestingExit",
    "RiskSpec",
    "Rung",
    "RungKey",
    "Side",
    "Spacing",
    "clamp_qty",
    "clamp_rung",
    "floor_qty",
    "round_entry_price",
]
