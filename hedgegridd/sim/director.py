"""``MarketDirector``: applies jumps and scripted scenario steps to one symbol's market.

It owns the ``PriceShaper`` (offsets over sim time and the pending steps) and turns
each due step into its effect: a gap jumps the price at once (everything between
fills or triggers; stops fill at the market after the gap), a crash/spike/wick/
bleed starts a shaped move the clock walks point by point, ``funding`` overrides
the funding rate, ``premium`` sets the mark premium.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from hedgegridd.errors import ConfigError
from hedgegridd.sim.market import round_to_tick
from hedgegridd.sim.scenarios import PRICE_KINDS, ScenarioStep, parse_step
from hedgegridd.sim.shaper import PriceShaper

if TYPE_CHECKING:
    from hedgegridd.sim.engine import MatchingEngine
    from hedgegridd.sim.ticker import MarketTicker
    from hedgegridd.sim.venue import Venue

log = structlog.get_logger(__name__)


class MarketDirector:
    """Jumps, scenario scheduling and step effects for one symbol."""

    def __init__(
        self,
        engine: Callable[[], MatchingEngine],
        venue: Callable[[], Venue],
        ticker: Callable[[], MarketTicker],
        tick: Decimal,
        symbol: str | None = None,
    ) -> None:
        self.shaper = PriceShaper()
        self._engine = engine
        self._venue = venue
        self._ticker = ticker
        self._tick = tick
        self.symbol = symbol

    # ---------------------------------------------------------------- jumps
    async def jump(self, *, to: Decimal | None = None, pct: Decimal | None = None) -> Decimal:
        """Gap the price now (to a price or by a percentage); the whole path follows."""
        venue = self._venue()
        async with venue.lock:
            current = self._engine().price
            if to is None:
                if pct is None:
                    raise ConfigError("jump_price: give 'to' or 'pct'")
                to = current * (1 + pct / 100)
            target = round_to_tick(to, self._tick)
            self.shaper.jump(target - current)
            await venue.move_locked(target, gap=True, symbol=self.symbol)
            await self._ticker().print_locked(Decimal(0))
        log.info("sim.price_jump", symbol=self.symbol, before=str(current), after=str(target))
        return target

    # ------------------------------------------------------------ scenarios
    def add(self, kind: str, *, at_s: float | Decimal = 0, **params: Any) -> ScenarioStep:
        """Schedule one step ``at_s`` sim seconds from now (``ConfigError`` if invalid)."""
        step = parse_step({"kind": kind, "at_s": str(at_s), **params}, f"scenario {kind}")
        self.schedule([step])
        return step

    def schedule(self, steps: list[ScenarioStep]) -> None:
        """Queue validated steps, their start counted from now (sim time).

        ``ConfigError`` if a step names another symbol (route those with ``route_steps``).
        """
        for n, step in enumerate(steps):
            if step.symbol is not None and step.symbol != self.symbol:
                raise ConfigError(
                    f"steps[{n}]: names symbol {step.symbol!r}, scheduled on {self.symbol!r}"
                )
        ticker = self._ticker()
        self.shaper.schedule(steps, ticker.sim_now_ms())
        ticker.wake()
        log.info(
            "sim.scenario_scheduled",
            symbol=self.symbol,
            steps=len(steps),
            kinds=[s.kind for s in steps],
        )

    def clear(self) -> None:
        """Drop pending steps; moves in progress stop where they are."""
        self.shaper.clear(self._ticker().sim_ms)
        log.info("sim.scenario_cleared")

    def status(self) -> dict[str, Any]:
        """Pending, active and done steps (JSON-ready)."""
        ticker = self._ticker()
        return self.shaper.status(ticker.sim_ms) | {
            "funding_rate": f"{ticker.funding_rate:.8f}",
            "premium_bps": str(self._engine().ledger.premium_bps),
            "premium_abs": str(self._engine().ledger.premium_abs),
        }

    @property
    def idle(self) -> bool:
        """No step pending and no move in progress."""
        return not self.shaper.pending and not self.shaper.moves

    async def fire_due(self, t_ms: int) -> None:
        """Apply every step due at sim time ``t_ms`` (called by the clock before a point)."""
        for step in self.shaper.take_due(t_ms):
            await self.apply(step, t_ms)

    async def apply(self, step: ScenarioStep, t_ms: int) -> None:
        """The effect of one step, starting at sim time ``t_ms``."""
        p = step.params
        if step.kind == "gap":
            await self.jump(to=p.get("to"), pct=p.get("pct"))
        elif step.kind in PRICE_KINDS:
            delta = self._engine().price * p["pct"] / 100
            self.shaper.start_move(step.kind, t_ms, delta, step.duration_ms)
        elif step.kind == "funding":
            self._ticker().funding_override = p["rate"]
        elif step.kind == "premium":
            await self._venue().set_premium(
                p.get("bps", Decimal(0)), p.get("abs", Decimal(0)), symbol=self.symbol
            )
        self.shaper.done.append(step.describe() | {"started_ms": t_ms})
        log.info(
            "sim.scenario_step",
            symbol=self.symbol,
            kind=step.kind,
            **{k: str(v) for k, v in p.items()},
        )
