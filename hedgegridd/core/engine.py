"""``GridEngine.decide``: the whole per-bar decision in one pure call.

recenter -> raw ladders -> policy -> funding -> throttle -> precision -> inventory cap
-> passive filter (vs mid) -> entry diff (vs live orders) -> exit plan (vs positions).

Cheap when nothing changed: the ladders are cached keyed on every input they depend
on (center, the regime's counter side, the funding verdict, throttle, positions), the
diff is cached on (desired rungs, live orders) and the exit plan on (positions,
resting exits). Pass the same ``live_entries``/``resting_exits`` tuples while no order
event happened to get the identity fast path.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from hedgegridd.core.diff import EMPTY_DIFF, EntryDiff, EntryDiffer, diff_entries
from hedgegridd.core.exits import ExitPlan, find_breached_stops, plan_exits
from hedgegridd.core.funding import FundingState, FundingVerdict, funding_verdict
from hedgegridd.core.ladder import (
    InventoryCapReached,
    build_raw_ladder,
    cap_inventory,
    finalize_ladder,
    keep_passive,
    recenter_needed,
    scale_ladder,
)
from hedgegridd.core.policy import apply_policy, counter_side
from hedgegridd.core.specs import GridParams
from hedgegridd.core.types import (
    ONE,
    ZERO,
    InstrumentRules,
    Intent,
    Ladder,
    LiveEntry,
    Position,
    Regime,
    RestingExit,
    Rung,
    Side,
)
from hedgegridd.errors import DomainError


class EntryMode(enum.StrEnum):
    """What the decision may do with entry orders (from the risk gate's verdict)."""

    ACTIVE = "ACTIVE"  # place and cancel to match the desired ladders
    FREEZE = "FREEZE"  # no entry operations at all (e.g. operator pause)
    WITHDRAW = "WITHDRAW"  # cancel every live entry, place none (breaker, drawdown, halt)


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    """Everything one decision depends on; time is ``now_ns`` (engine clock)."""

    mid: Decimal
    center: Decimal | None
    regime: Regime
    now_ns: int
    long: Position
    short: Position
    live_entries: Sequence[LiveEntry] = ()
    resting_exits: Sequence[RestingExit] = ()
    funding: FundingState | None = None
    throttle: Decimal = ONE
    entry_mode: EntryMode = EntryMode.ACTIVE

    def __post_init__(self) -> None:
        if not ZERO <= self.throttle <= ONE:
            raise DomainError(f"throttle must be within [0, 1], got {self.throttle}")


@dataclass(frozen=True, slots=True)
class Decision:
    """The desired ladders and the minimal intents to get there."""

    center: Decimal
    recentered: bool
    long: Ladder
    short: Ladder
    entries: EntryDiff
    exits: ExitPlan
    funding: FundingVerdict
    notices: tuple[InventoryCapReached, ...] = field(default=())

    @property
    def desired_rungs(self) -> tuple[Rung, ...]:
        """LONG then SHORT desired rungs."""
        return self.long.rungs + self.short.rungs

    @property
    def intents(self) -> tuple[Intent, ...]:
        """Send order: entry cancels, exit cancels, exit placements, entry placements."""
        return (
            *self.entries.cancels,
            *self.exits.cancels,
            *self.exits.places,
            *self.entries.places,
        )


_BaseKey = tuple[Decimal, Side | None, Side | None, Decimal, Decimal]


class GridEngine:
    """Pure decision engine for one instrument (no clock, no I/O)."""

    def __init__(self, params: GridParams, rules: InstrumentRules, *, cache: bool = True) -> None:
        self.params = params
        self.rules = rules
        self._cache = cache
        # Per side, position + every desired entry stays within both the inventory cap and
        # the risk gate's position limit (existing + pending + new).
        self.side_cap = min(params.ladder.max_inventory_qty, params.risk.max_position_qty)
        self._differ = EntryDiffer(params.diff)
        self.reset()

    def reset(self) -> None:
        """Drop every cache (after a restart, an instrument change or a reconcile)."""
        self._base_key: _BaseKey | None = None
        self._base: tuple[Ladder, Ladder] | None = None
        self._cap_key: tuple[Decimal, Decimal] | None = None
        self._ladders: tuple[Ladder, Ladder, tuple[InventoryCapReached, ...]] | None = None
        self._passive: tuple[Decimal, Ladder, Ladder, tuple[Rung, ...]] | None = None
        self._exit_key: tuple[Position, Position, Sequence[RestingExit]] | None = None
        self._exit_plan: ExitPlan | None = None
        self._differ = EntryDiffer(self.params.diff)

    @property
    def diff_history(self) -> Sequence[object]:
        """Bounded history of recent non-empty entry diffs."""
        return self._differ.history

    def ladders_for(
        self,
        center: Decimal,
        regime: Regime,
        verdict: FundingVerdict,
        throttle: Decimal,
        long: Position,
        short: Position,
    ) -> tuple[Ladder, Ladder, tuple[InventoryCapReached, ...]]:
        """Desired ladders before the passive filter, cached in two levels: the priced and
        sized ladders on (center, counter side, funding, throttle); the inventory cap on
        the positions (so a fill does not re-price the grid)."""
        base_key: _BaseKey = (
            center,
            counter_side(regime),
            verdict.paying_side,
            verdict.factor,
            throttle,
        )
        if not self._cache or base_key != self._base_key or self._base is None:
            p, rules = self.params, self.rules
            sized: list[Ladder] = []
            for side in (Side.LONG, Side.SHORT):
                ladder = build_raw_ladder(side, center, p.ladder, rules.tick)
                ladder = apply_policy(ladder, regime, p.policy)
                ladder = scale_ladder(ladder, verdict.factor_for(side) * throttle)
                sized.append(finalize_ladder(ladder, rules))
            self._base_key, self._base = base_key, (sized[0], sized[1])
            self._ladders = None
        cap_key = (long.qty, short.qty)
        if self._cache and self._ladders is not None and cap_key == self._cap_key:
            return self._ladders
        notices: list[InventoryCapReached] = []
        capped: list[Ladder] = []
        for ladder, pos in zip(self._base, (long, short), strict=True):
            ladder, notice = cap_inventory(ladder, pos.qty, self.side_cap, self.rules)
            if notice is not None:
                notices.append(notice)
            capped.append(ladder)
        result = (capped[0], capped[1], tuple(notices))
        self._cap_key, self._ladders = cap_key, result
        return result

    def _passive_ladders(
        self, long: Ladder, short: Ladder, mid: Decimal
    ) -> tuple[Ladder, Ladder, tuple[Rung, ...]]:
        cached = self._passive
        if self._cache and cached is not None and cached[1] is long and cached[2] is short:
            # Unchanged ladders: the filter result only changes if mid crossed a rung.
            lo = long.rungs[0].price if long.rungs else None
            hi = short.rungs[0].price if short.rungs else None
            if (lo is None or lo < mid) and (hi is None or hi > mid):
                return long, short, cached[3]
        pl, ps = keep_passive(long, mid), keep_passive(short, mid)
        desired = pl.rungs + ps.rungs
        if pl is long and ps is short:
            self._passive = (mid, long, short, desired)
        return pl, ps, desired

    def _exits(self, inp: DecisionInputs) -> ExitPlan:
        k = self._exit_key
        if (
            self._cache
            and self._exit_plan is not None
            and k is not None
            and k[0] == inp.long
            and k[1] == inp.short
            and (k[2] is inp.resting_exits or k[2] == inp.resting_exits)
        ):
            return self._exit_plan
        plan = plan_exits((inp.long, inp.short), inp.resting_exits, self.params.exits, self.rules)
        self._exit_key, self._exit_plan = (inp.long, inp.short, inp.resting_exits), plan
        return plan

    def decide(self, inp: DecisionInputs) -> Decision:
        """The desired ladders plus minimal entry and exit intents for ``inp``."""
        recentered = recenter_needed(inp.center, inp.mid, self.params.ladder.recenter_bps)
        center = inp.mid if recentered or inp.center is None else inp.center
        verdict = funding_verdict(inp.funding, inp.now_ns, self.params.funding)
        long, short, notices = self.ladders_for(
            center, inp.regime, verdict, inp.throttle, inp.long, inp.short
        )
        long, short, desired = self._passive_ladders(long, short, inp.mid)
        if inp.entry_mode is EntryMode.FREEZE:
            entries = EMPTY_DIFF
        elif inp.entry_mode is EntryMode.WITHDRAW:
            entries = diff_entries((), inp.live_entries, self.params.diff)
        elif self._cache:
            entries = self._differ.diff(desired, inp.live_entries, inp.now_ns)
        else:
            entries = diff_entries(desired, inp.live_entries, self.params.diff)
        return Decision(
            center=center,
            recentered=recentered,
            long=long,
            short=short,
            entries=entries,
            exits=find_breached_stops(self._exits(inp), inp.mid),
            funding=verdict,
            notices=notices,
        )
