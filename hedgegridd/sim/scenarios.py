"""Scripted market scenarios: step specs, their validation, and the TOML scenario file.

A scenario is a list of steps, each with a kind, its parameters and when it starts
(sim seconds): ``at_s`` counts from when the scenario was loaded, ``after_s`` from
the previous step's start (default ``after_s = 0``). Kinds:

========== ============================================ =================================
kind       parameters                                   what the market does
========== ============================================ =================================
gap        ``pct`` (!= 0) or ``to`` (price)             jumps at once (stops fill at the
                                                        market after the gap)
crash      ``pct`` (< 0), ``seconds`` (> 0)             falls linearly, then stays
spike      ``pct`` (> 0), ``seconds`` (default 5)       rises linearly, then stays
wick       ``pct`` (!= 0), ``seconds`` (<= 60, def. 20) goes there and back (half/half)
bleed      ``pct`` (!= 0), ``minutes`` (> 0)            drifts slowly, then stays
funding    ``rate`` (-0.03 .. 0.03)                     next funding rate / markPrice r
premium    ``bps`` and/or ``abs``                       mark = last * (1+bps/1e4) + abs
========== ============================================ =================================

Percentages are of the last price when the step starts. A step may name the
``symbol`` it acts on (default: the simulator's first symbol, or the symbol the
scenario is loaded for); ``at_s``/``after_s`` keep one timeline for the whole file,
whichever symbols its steps move. Validation happens once
(``parse_step``/``load_scenario_file``) and raises ``ConfigError`` naming the step
and the key; ``route_steps`` (or ``load_scenario_file(path, symbols)``) refuses a
step naming a symbol the simulator does not serve.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from hedgegridd.errors import ConfigError

PRICE_KINDS = ("gap", "crash", "spike", "wick", "bleed")
KINDS = (*PRICE_KINDS, "funding", "premium")
_PARAMS: dict[str, frozenset[str]] = {
    "gap": frozenset({"pct", "to"}),
    "crash": frozenset({"pct", "seconds"}),
    "spike": frozenset({"pct", "seconds"}),
    "wick": frozenset({"pct", "seconds"}),
    "bleed": frozenset({"pct", "minutes"}),
    "funding": frozenset({"rate"}),
    "premium": frozenset({"bps", "abs"}),
}
_TIMING = frozenset({"kind", "at_s", "after_s", "symbol"})
MAX_STEPS = 1000


@dataclass(frozen=True, slots=True)
class ScenarioStep:
    """One validated step: ``kind``, its parameters (Decimal), its start offset and symbol.

    ``start_s`` is relative to the scenario's load time (``after_s`` resolved);
    ``symbol`` None: the symbol the scenario is scheduled for (default the first).
    """

    kind: str
    start_s: Decimal
    params: dict[str, Decimal] = field(default_factory=dict)
    symbol: str | None = None

    @property
    def duration_ms(self) -> int:
        """How long the price move lasts in sim milliseconds (0: instant or not a move)."""
        p = self.params
        if self.kind in ("crash", "spike", "wick"):
            return int(p["seconds"] * 1000)
        if self.kind == "bleed":
            return int(p["minutes"] * 60_000)
        return 0

    def describe(self) -> dict[str, Any]:
        """JSON-ready form (strings for decimals; ``symbol`` only when the step names one)."""
        out: dict[str, Any] = {"kind": self.kind, "start_s": str(self.start_s)}
        if self.symbol is not None:
            out["symbol"] = self.symbol
        return out | {k: str(v) for k, v in sorted(self.params.items())}


def _decimal(where: str, key: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{where}: '{key}' must be a number, got {value!r}")
    try:
        out = Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigError(f"{where}: '{key}' must be a number, got {value!r}") from exc
    if not out.is_finite():
        raise ConfigError(f"{where}: '{key}' must be a finite number, got {value!r}")
    return out


def _symbol(where: str, value: Any) -> str:
    symbol = value.strip().upper() if isinstance(value, str) else ""
    if not symbol.isalnum():
        raise ConfigError(f"{where}: 'symbol' must be a symbol name like ETHUSDT, got {value!r}")
    return symbol


def _require(where: str, key: str, ok: bool, rule: str, value: Decimal) -> None:
    if not ok:
        raise ConfigError(f"{where}: '{key}' must be {rule}, got {value}")


def _pct(where: str, p: dict[str, Decimal], kind: str) -> None:
    if "pct" not in p:
        raise ConfigError(f"{where}: '{kind}' needs 'pct'")
    pct = p["pct"]
    _require(where, "pct", -100 < pct <= 1000 and pct != 0, "a non-zero percentage > -100", pct)
    if kind == "crash":
        _require(where, "pct", pct < 0, "negative (a fall)", pct)
    if kind == "spike":
        _require(where, "pct", pct > 0, "positive (a rise)", pct)


def _check(where: str, kind: str, p: dict[str, Decimal]) -> None:
    if kind == "gap":
        if ("pct" in p) == ("to" in p):
            raise ConfigError(f"{where}: 'gap' needs exactly one of 'pct' or 'to'")
        if "to" in p:
            _require(where, "to", p["to"] > 0, "a positive price", p["to"])
        else:
            _pct(where, p, kind)
    elif kind in ("crash", "spike", "wick"):
        _pct(where, p, kind)
        if "seconds" not in p:
            if kind == "crash":
                raise ConfigError(f"{where}: 'crash' needs 'seconds'")
            p["seconds"] = Decimal(5 if kind == "spike" else 20)
        limit = 60 if kind == "wick" else 86_400
        _require(where, "seconds", 0 < p["seconds"] <= limit, f"in (0, {limit}]", p["seconds"])
    elif kind == "bleed":
        _pct(where, p, kind)
        if "minutes" not in p:
            raise ConfigError(f"{where}: 'bleed' needs 'minutes'")
        _require(where, "minutes", 0 < p["minutes"] <= 100_000, "in (0, 100000]", p["minutes"])
    elif kind == "funding":
        if "rate" not in p:
            raise ConfigError(f"{where}: 'funding' needs 'rate'")
        _require(where, "rate", abs(p["rate"]) <= Decimal("0.03"), "in [-0.03, 0.03]", p["rate"])
    elif kind == "premium":
        if not p:
            raise ConfigError(f"{where}: 'premium' needs 'bps' and/or 'abs'")
        if "bps" in p:
            _require(where, "bps", abs(p["bps"]) <= 5000, "in [-5000, 5000]", p["bps"])


def parse_step(raw: Any, where: str = "step", previous_s: Decimal = Decimal(0)) -> ScenarioStep:
    """Validate one step (a dict) into a ``ScenarioStep``; ``ConfigError`` names the key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table/object with 'kind', got {type(raw).__name__}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    allowed = _PARAMS[kind] | _TIMING
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{unknown[0]}' for '{kind}' "
            f"(allowed: {', '.join(sorted(allowed))})"
        )
    if "at_s" in raw and "after_s" in raw:
        raise ConfigError(f"{where}: give 'at_s' or 'after_s', not both")
    if "at_s" in raw:
        start = _decimal(where, "at_s", raw["at_s"])
        _require(where, "at_s", start >= 0, ">= 0", start)
    else:
        after = _decimal(where, "after_s", raw.get("after_s", 0))
        _require(where, "after_s", after >= 0, ">= 0", after)
        start = previous_s + after
    params = {k: _decimal(where, k, v) for k, v in raw.items() if k not in _TIMING}
    _check(where, kind, params)
    symbol = _symbol(where, raw["symbol"]) if "symbol" in raw else None
    return ScenarioStep(kind, start, params, symbol)


def parse_steps(raw: Any, where: str = "steps") -> list[ScenarioStep]:
    """Validate a list of steps (``after_s`` chains from the previous step's start)."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: must be a non-empty list of steps")
    if len(raw) > MAX_STEPS:
        raise ConfigError(f"{where}: at most {MAX_STEPS} steps, got {len(raw)}")
    steps: list[ScenarioStep] = []
    previous = Decimal(0)
    for n, item in enumerate(raw):
        step = parse_step(item, f"{where}[{n}]", previous)
        steps.append(step)
        previous = step.start_s
    return steps


def route_steps(
    steps: Sequence[ScenarioStep],
    symbols: Sequence[str],
    default: str | None = None,
    where: str = "steps",
) -> dict[str, list[ScenarioStep]]:
    """Group steps by the symbol they act on (none named: ``default``, else the first of
    ``symbols``), in order; ``ConfigError`` naming the step for a symbol not in ``symbols``."""
    fallback = default if default is not None else symbols[0]
    routed: dict[str, list[ScenarioStep]] = {}
    for n, step in enumerate(steps):
        symbol = step.symbol if step.symbol is not None else fallback
        if symbol not in symbols:
            raise ConfigError(
                f"{where}[{n}]: 'symbol' {symbol!r} is not served by the simulator "
                f"(symbols: {', '.join(symbols)})"
            )
        routed.setdefault(symbol, []).append(step)
    return routed


def load_scenario_file(path: Path, symbols: Sequence[str] | None = None) -> list[ScenarioStep]:
    """Read and validate a TOML scenario file (``[[steps]]`` tables).

    With ``symbols`` (the simulator's), a step naming any other symbol is refused here.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"scenario {path}: cannot read ({exc.strerror})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"scenario {path}: not valid TOML ({exc})") from exc
    unknown = sorted(set(data) - {"steps", "description"})
    if unknown:
        raise ConfigError(f"scenario {path}: unknown top-level key '{unknown[0]}'")
    if "steps" not in data:
        raise ConfigError(f"scenario {path}: missing 'steps' (a list of [[steps]] tables)")
    try:
        steps = parse_steps(data["steps"])
        if symbols is not None:
            route_steps(steps, symbols)
    except ConfigError as exc:
        raise ConfigError(f"scenario {path}: {exc}") from exc
    return steps
