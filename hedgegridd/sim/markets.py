"""Helpers for the simulator's symbol set: resolving specs, explicit bars, default aliases.

``DefaultAttr`` is the descriptor behind ``SimExchange.engine``, ``.ticker``, ``.spec``
and the other single-symbol attributes: each reads (and for ``funding_rates``
writes) the default (first) symbol's ``SymbolMarket`` attribute of the same name,
so single-symbol callers keep working on a several-symbol simulator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, overload

from hedgegridd.data.instruments import InstrumentSpec, instrument_for
from hedgegridd.errors import ConfigError, DataError
from hedgegridd.sim.config import SimConfig
from hedgegridd.sim.market import SimBar
from hedgegridd.sim.symbol_market import SymbolMarket


class HasDefaultMarket(Protocol):
    """An object with a default symbol market (``SimExchange``)."""

    @property
    def default_market(self) -> SymbolMarket:
        """The first symbol's market."""
        ...


class DefaultAttr[T]:
    """An attribute of the default symbol's market (backwards-compatible alias)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> DefaultAttr[T]: ...

    @overload
    def __get__(self, obj: HasDefaultMarket, owner: type | None = None) -> T: ...

    def __get__(self, obj: HasDefaultMarket | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(obj.default_market, self.name)

    def __set__(self, obj: HasDefaultMarket, value: T) -> None:
        setattr(obj.default_market, self.name, value)


def resolve_specs(config: SimConfig) -> list[InstrumentSpec]:
    """The built-in instrument of every configured symbol (``ConfigError`` naming one)."""
    specs = []
    for symbol in config.symbols:
        try:
            specs.append(instrument_for(symbol))
        except DataError as exc:
            raise ConfigError(f"sim: symbol {symbol!r}: {exc}") from exc
    return specs


def unique_specs(specs: list[InstrumentSpec]) -> list[InstrumentSpec]:
    """``specs`` unchanged (``ConfigError`` naming a symbol listed twice)."""
    names = [s.symbol for s in specs]
    twice = [name for i, name in enumerate(names) if name in names[:i]]
    if twice:
        raise ConfigError(f"sim: symbol {twice[0]!r} is listed twice")
    return specs


def explicit_bars(
    symbols: Sequence[str], bars: Sequence[SimBar] | Mapping[str, Sequence[SimBar]] | None
) -> dict[str, Sequence[SimBar]]:
    """Explicit bars by symbol: a list is the first symbol's, a mapping names symbols."""
    if bars is None:
        return {}
    if isinstance(bars, Mapping):
        unknown = [s for s in bars if s not in symbols]
        if unknown:
            raise ConfigError(f"sim: bars for unknown symbol {unknown[0]!r}")
        return dict(bars)
    return {symbols[0]: bars}
