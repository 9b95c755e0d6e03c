"""The kill switch's decision part: readings in, per-limit verdicts and firing out.

Pure (stdlib + Decimal): no clock, no I/O, no Nautilus. Time comes in as an
argument. A reading that is missing (unknown) or stale is *reported* with its
status and is never treated as zero: it neither counts as a breach nor as a
healthy check, it simply leaves a gap in the breach window.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from hedgegridd.ops.config import KillSwitchConfig
from hedgegridd.strategy.handle import StrategySnapshot

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


class Limit(enum.StrEnum):
    """One limit the kill switch checks."""

    DRAWDOWN = "drawdown"
    MARGIN_RATIO = "margin_ratio"
    FUNDING_COST = "funding_cost"
    SESSION_LOSS = "session_loss"
    DAILY_LOSS = "daily_loss"
    POSITION_NOTIONAL = "position_notional"


class ReadingStatus(enum.StrEnum):
    """Verdict of one limit on one check."""

    OK = "ok"
    BREACH = "breach"
    MISSING = "missing"  # the value is unknown (e.g. no account equity yet)
    STALE = "stale"  # the value derives from prices older than max_reading_age_s


# Readings whose value depends on market prices (stale when the last mark or bar is old).
PRICE_DERIVED = frozenset(
    {
        Limit.DRAWDOWN,
        Limit.FUNDING_COST,
        Limit.SESSION_LOSS,
        Limit.DAILY_LOSS,
        Limit.POSITION_NOTIONAL,
    }
)


@dataclass(frozen=True, slots=True)
class Readings:
    """Values measured on one check (None = unknown). Losses are positive numbers."""

    drawdown_pct: Decimal | None
    margin_ratio: Decimal | None
    projected_funding_cost: Decimal | None
    session_loss: Decimal | None
    daily_loss: Decimal | None
    position_notional: Decimal | None
    data_age_s: float | None  # age of the freshest mark or bar; None before either

    def value(self, limit: Limit) -> Decimal | None:
        """The reading that ``limit`` compares against its threshold."""
        return {
            Limit.DRAWDOWN: self.drawdown_pct,
            Limit.MARGIN_RATIO: self.margin_ratio,
            Limit.FUNDING_COST: self.projected_funding_cost,
            Limit.SESSION_LOSS: self.session_loss,
            Limit.DAILY_LOSS: self.daily_loss,
            Limit.POSITION_NOTIONAL: self.position_notional,
        }[limit]


@dataclass(frozen=True, slots=True)
class LimitVerdict:
    """One limit on one check: value, threshold, status and breaches in the window."""

    limit: Limit
    value: Decimal | None
    threshold: Decimal
    status: ReadingStatus
    breaches_in_window: int


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Outcome of one check: every enabled limit's verdict and which limits fire."""

    verdicts: tuple[LimitVerdict, ...]
    firing: tuple[Limit, ...]

    @property
    def fire(self) -> bool:
        """True when at least one limit held its breach long enough to fire."""
        return bool(self.firing)

    @property
    def unknown(self) -> tuple[LimitVerdict, ...]:
        """Verdicts whose reading was missing or stale."""
        return tuple(
            v for v in self.verdicts if v.status in (ReadingStatus.MISSING, ReadingStatus.STALE)
        )


def thresholds(config: KillSwitchConfig) -> dict[Limit, Decimal]:
    """The enabled limits of ``config`` and their thresholds."""
    pairs: dict[Limit, Decimal | None] = {
        Limit.DRAWDOWN: config.max_drawdown_pct,
        Limit.MARGIN_RATIO: config.max_margin_ratio,
        Limit.FUNDING_COST: config.max_projected_funding_cost,
        Limit.SESSION_LOSS: config.max_session_loss,
        Limit.DAILY_LOSS: config.max_daily_loss,
        Limit.POSITION_NOTIONAL: config.max_position_notional,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def drawdown_pct(equity: Decimal | None, basis: Decimal | None) -> Decimal | None:
    """Percent that account ``equity`` lies below ``basis`` (an equity, never a PnL peak)."""
    if equity is None or basis is None or basis <= _ZERO:
        return None
    return max(_ZERO, (basis - equity) / basis * _HUNDRED)


def projected_funding_cost(
    long_notional: Decimal, short_notional: Decimal, funding_rate: Decimal | None
) -> Decimal | None:
    """Net cost of the next funding payment (positive = we pay), floored at zero.

    Longs pay ``rate * notional`` when the rate is positive, shorts pay when it is
    negative. With no position the cost is zero whatever the rate; with a position
    and an unknown rate the cost is unknown.
    """
    if long_notional == _ZERO and short_notional == _ZERO:
        return _ZERO
    if funding_rate is None:
        return None
    return max(_ZERO, (long_notional - short_notional) * funding_rate)


def total_pnl(snapshot: StrategySnapshot) -> Decimal:
    """Realized plus unrealized PnL of the snapshot."""
    return snapshot.realized_pnl + snapshot.unrealized_pnl


def loss_since(basis_pnl: Decimal | None, pnl_now: Decimal) -> Decimal | None:
    """Loss (positive) of ``pnl_now`` against ``basis_pnl``; zero when in profit."""
    if basis_pnl is None:
        return None
    return max(_ZERO, basis_pnl - pnl_now)


def readings_from_snapshot(
    snapshot: StrategySnapshot,
    *,
    now_ns: int,
    equity_basis: Decimal | None,
    session_basis_pnl: Decimal | None,
    daily_basis_pnl: Decimal | None,
) -> Readings:
    """Compute the readings of one check from the strategy snapshot and the baselines."""
    pnl = total_pnl(snapshot)
    seen = [ns for ns in (snapshot.mark_ns, snapshot.last_bar_ns) if ns is not None]
    age = max(0.0, (now_ns - max(seen)) / 1e9) if seen else None
    return Readings(
        drawdown_pct=drawdown_pct(snapshot.equity, equity_basis),
        margin_ratio=snapshot.margin_ratio,
        projected_funding_cost=projected_funding_cost(
            snapshot.long.notional, snapshot.short.notional, snapshot.funding_rate
        ),
        session_loss=loss_since(session_basis_pnl, pnl),
        daily_loss=loss_since(daily_basis_pnl, pnl),
        position_notional=snapshot.long.notional + snapshot.short.notional,
        data_age_s=age,
    )


class BreachTracker:
    """Per-limit window of the last N verdicts; a limit fires on K breaches within it.

    Unknown readings (missing/stale) enter the window as gaps: they do not count
    as breaches and do not count as healthy checks.
    """

    def __init__(self, config: KillSwitchConfig) -> None:
        self._config = config
        self._limits = thresholds(config)
        self._windows: dict[Limit, deque[bool | None]] = {
            limit: deque(maxlen=config.breach_window) for limit in self._limits
        }

    @property
    def limits(self) -> Mapping[Limit, Decimal]:
        """Enabled limits and their thresholds."""
        return dict(self._limits)

    def reset(self) -> None:
        """Forget every past verdict (after an operator reset)."""
        for window in self._windows.values():
            window.clear()

    def update(self, readings: Readings) -> CheckResult:
        """Record one check and return its verdicts and the limits that fire."""
        stale = readings.data_age_s is None or readings.data_age_s > self._config.max_reading_age_s
        verdicts: list[LimitVerdict] = []
        firing: list[Limit] = []
        for limit, threshold in self._limits.items():
            value = readings.value(limit)
            status = _status(limit, value, threshold, stale=stale)
            window = self._windows[limit]
            window.append(True if status is ReadingStatus.BREACH else _gap_or_ok(status))
            count = sum(1 for v in window if v is True)
            verdicts.append(LimitVerdict(limit, value, threshold, status, count))
            if count >= self._config.breaches_required:
                firing.append(limit)
        return CheckResult(tuple(verdicts), tuple(firing))


def _gap_or_ok(status: ReadingStatus) -> bool | None:
    return False if status is ReadingStatus.OK else None


def _status(
    limit: Limit, value: Decimal | None, threshold: Decimal, *, stale: bool
) -> ReadingStatus:
    if value is None:
        return ReadingStatus.MISSING
    if stale and limit in PRICE_DERIVED:
        return ReadingStatus.STALE
    return ReadingStatus.BREACH if value >= threshold else ReadingStatus.OK


def describe(verdicts: Iterable[LimitVerdict]) -> dict[str, str]:
    """Flat ``{limit: "value/threshold status"}`` for logs, alerts and the journal."""
    return {
        v.limit.value: f"{'?' if v.value is None else f'{v.value:.6g}'}/{v.threshold} {v.status}"
        for v in verdicts
    }
