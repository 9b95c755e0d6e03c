"""Price offsets over sim time: jumps and scripted moves applied to the replayed path.

The walked price is ``recorded path point + offset(t)``. ``PriceShaper`` holds a
permanent offset (jumps, finished moves) and the moves in progress, each a
piecewise-linear shape (fraction of its ``delta`` at sim-time corners): a crash
goes 0 -> 1 over its duration and stays, a wick goes 0 -> 1 -> 0. Because the
offset is evaluated at every intra-bar point (never precomputed), a jump or a move
shifts the whole remaining path, including the rest of the current bar: nothing
snaps back. It also holds the scheduled scenario steps until they are due.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgegridd.sim.scenarios import ScenarioStep

Shape = tuple[tuple[int, Decimal], ...]
ONE, ZERO = Decimal(1), Decimal(0)


def move_shape(kind: str, duration_ms: int) -> Shape:
    """Corners (ms after start, fraction of delta) of a scenario move."""
    if kind == "wick":
        return ((0, ZERO), (duration_ms // 2, ONE), (duration_ms, ZERO))
    return ((0, ZERO), (duration_ms, ONE))


@dataclass(frozen=True, slots=True)
class Move:
    """One scripted move in progress: ``delta`` (price) shaped over sim time."""

    kind: str
    start_ms: int
    delta: Decimal
    shape: Shape

    @property
    def end_ms(self) -> int:
        """Sim time of the last corner."""
        return self.start_ms + self.shape[-1][0]

    def fraction(self, t_ms: int) -> Decimal:
        """The shape's value at ``t_ms`` (linear between corners, last value after)."""
        rel = t_ms - self.start_ms
        if rel <= 0:
            return self.shape[0][1]
        for (t0, f0), (t1, f1) in zip(self.shape, self.shape[1:], strict=False):
            if rel <= t1:
                return f0 + (f1 - f0) * Decimal(rel - t0) / Decimal(t1 - t0)
        return self.shape[-1][1]

    def offset(self, t_ms: int) -> Decimal:
        """Price offset of this move at ``t_ms``."""
        return self.delta * self.fraction(t_ms)


class PriceShaper:
    """Permanent offset + moves in progress + scenario steps waiting for their time."""

    def __init__(self) -> None:
        self.permanent = ZERO
        self.moves: list[Move] = []
        self.pending: list[tuple[int, ScenarioStep]] = []
        self.done: list[dict[str, Any]] = []

    def offset_at(self, t_ms: int) -> Decimal:
        """Total offset at sim time ``t_ms``."""
        return self.permanent + sum((m.offset(t_ms) for m in self.moves), ZERO)

    def jump(self, delta: Decimal) -> None:
        """Shift the path by ``delta`` from now on."""
        self.permanent += delta

    def start_move(self, kind: str, start_ms: int, delta: Decimal, duration_ms: int) -> Move:
        """Begin a shaped move of ``delta`` at ``start_ms``."""
        move = Move(kind, start_ms, delta, move_shape(kind, max(1, duration_ms)))
        self.moves.append(move)
        return move

    def settle(self, t_ms: int) -> None:
        """Fold moves that have ended by ``t_ms`` into the permanent offset."""
        for move in [m for m in self.moves if m.end_ms <= t_ms]:
            self.permanent += move.offset(move.end_ms)
            self.moves.remove(move)

    def moving(self, t_ms: int) -> bool:
        """Whether a move is in progress at ``t_ms``."""
        return any(m.start_ms <= t_ms < m.end_ms for m in self.moves)

    def next_corner(self, t_ms: int) -> int | None:
        """The first sim time after ``t_ms`` where a move bends or a step is due."""
        times = [m.start_ms + c for m in self.moves for c, _ in m.shape if m.start_ms + c > t_ms]
        times += [due for due, _ in self.pending if due > t_ms]
        return min(times) if times else None

    def schedule(self, steps: list[ScenarioStep], now_ms: int) -> None:
        """Queue ``steps`` (their ``start_s`` counted from ``now_ms``)."""
        for step in steps:
            self.pending.append((now_ms + int(step.start_s * 1000), step))
        self.pending.sort(key=lambda x: x[0])

    def take_due(self, t_ms: int) -> list[ScenarioStep]:
        """Remove and return the steps due at or before ``t_ms``, in order."""
        due = [s for when, s in self.pending if when <= t_ms]
        self.pending = [(when, s) for when, s in self.pending if when > t_ms]
        return due

    def clear(self, t_ms: int) -> None:
        """Drop pending steps; moves in progress stop where they are (no snap back)."""
        self.permanent = self.offset_at(t_ms)
        self.moves.clear()
        self.pending.clear()

    def status(self, t_ms: int) -> dict[str, Any]:
        """What is pending, in progress and done (JSON-ready)."""
        return {
            "offset": str(self.offset_at(t_ms)),
            "pending": [s.describe() | {"due_ms": when} for when, s in self.pending],
            "active": [
                {"kind": m.kind, "start_ms": m.start_ms, "end_ms": m.end_ms, "delta": str(m.delta)}
                for m in self.moves
            ],
            "done": list(self.done[-100:]),
        }
