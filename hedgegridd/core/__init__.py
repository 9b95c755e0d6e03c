"""The pure grid core: stdlib + Decimal only; no Nautilus, no clock, no I/O.

Time is always an argument (int nanoseconds). mypy --strict. Public API:

* One-call decision (``core.engine``): ``GridEngine(params, rules).decide(DecisionInputs)``
  -> ``Decision`` (desired ``long``/``short`` ladders, ``entries`` = minimal
  ``CancelEntry``/``PlaceEntry``, ``exits`` = ``ExitPlan`` of ``CancelExit``/``PlaceExit``,
  funding verdict, inventory-cap notices, ``intents`` in send order). ``EntryMode``
  (ACTIVE / FREEZE / WITHDRAW) is how the caller applies the risk gate's verdict.
* Types (``core.types``): ``Side``, ``Regime``, ``ExitKind``, ``InstrumentRules``, ``Rung``,
  ``RungKey`` (("LONG", 3)), ``Ladder``, ``Position``, ``LiveEntry``, ``RestingExit``.
* Specs (``core.specs``; built by ``hedgegridd.params.StrategyParams.to_core()``):
  ``GridParams`` bundling ``LadderSpec``, ``ExitSpec``, ``RegimeSpec``, ``PolicySpec``,
  ``FundingSpec``, ``DiffSpec``, ``RiskSpec``.
* Building blocks: precision (``clamp_rung`` ...), ladders (``build_raw_ladder``,
  ``exit_prices``, ``recenter_needed``), ``apply_policy``, ``validate_throttle``,
  ``funding_verdict``/``FundingState``, ``diff_entries``/``EntryDiffer``,
  ``plan_exits`` (exit quantity == position per side and kind; ``stop_breached`` flags SL
  placements already through the market: close those at market), ``RegimeDetector``,
  ``RiskGate`` (verdicts, breaker events, drawdown status), ``check_bar_sequence``.
"""

from hedgegridd.core.diff import EntryDiff, EntryDiffer, diff_entries
from hedgegridd.core.engine import Decision, DecisionInputs, EntryMode, GridEngine
from hedgegridd.core.exits import (
    ExitPlan,
    StopBreached,
    Uncovered,
    find_breached_stops,
    plan_exits,
    protected_qty,
)
from hedgegridd.core.funding import FundingState, FundingVerdict, funding_verdict, paying_side
from hedgegridd.core.gaps import BarCheck, BarSequence, check_bar_sequence
from hedgegridd.core.ladder import (
    ExitPrices,
    InventoryCapReached,
    build_raw_ladder,
    exit_prices,
    recenter_needed,
)
from hedgegridd.core.policy import apply_policy, counter_side, validate_throttle
from hedgegridd.core.precision import clamp_qty, clamp_rung, floor_qty, round_entry_price
from hedgegridd.core.regime import RegimeDetector, RegimeReading
from hedgegridd.core.risk import (
    BreakerEvent,
    DenyReason,
    DrawdownStatus,
    RiskGate,
    RiskVerdict,
)
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
    "BarCheck",
    "BarSequence",
    "BreakerEvent",
    "CancelEntry",
    "CancelExit",
    "Decision",
    "DecisionInputs",
    "DenyReason",
    "DiffSpec",
    "DrawdownStatus",
    "EntryDiff",
    "EntryDiffer",
    "EntryMode",
    "ExitKind",
    "ExitPlan",
    "ExitPrices",
    "ExitSpec",
    "FundingSpec",
    "FundingState",
    "FundingVerdict",
    "GridEngine",
    "GridParams",
    "InstrumentRules",
    "Intent",
    "InventoryCapReached",
    "Ladder",
    "LadderSpec",
    "LiveEntry",
    "PlaceEntry",
    "PlaceExit",
    "PolicyKind",
    "PolicySpec",
    "Position",
    "Regime",
    "RegimeDetector",
    "RegimeReading",
    "RegimeSpec",
    "RestingExit",
    "RiskGate",
    "RiskSpec",
    "RiskVerdict",
    "Rung",
    "RungKey",
    "Side",
    "Spacing",
    "StopBreached",
    "Uncovered",
    "apply_policy",
    "build_raw_ladder",
    "check_bar_sequence",
    "clamp_qty",
    "clamp_rung",
    "counter_side",
    "diff_entries",
    "exit_prices",
    "find_breached_stops",
    "floor_qty",
    "funding_verdict",
    "paying_side",
    "plan_exits",
    "protected_qty",
    "recenter_needed",
    "round_entry_price",
    "validate_throttle",
]
