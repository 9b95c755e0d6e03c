"""Small async helpers shared by the ops tests."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import anyio.lowlevel


class SleepRecorder:
    """Stands in for anyio.sleep: records requested waits, yields once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await anyio.lowlevel.checkpoint()


async def until(cond: Callable[[], bool], deadline_s: float = 20.0) -> None:
    """Poll ``cond`` until true (generous deadline for a loaded machine)."""
    with anyio.fail_after(deadline_s):
        while not cond():  # noqa: ASYNC110 - polling a plain predicate in tests
            await anyio.sleep(0.01)
