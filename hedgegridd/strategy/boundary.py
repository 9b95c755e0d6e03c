"""``guarded``: the handler boundary between the Nautilus node and the strategy.

An exception in a handler is handed to the strategy's ``_enter_degraded`` (logged
with its reason, entries paused, alert sent) and never propagates into the node,
whose own ``degrade()`` would stop event dispatch and leave exits unmanaged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol


class Degradable(Protocol):
    """What the boundary needs from the strategy."""

    def _enter_degraded(self, where: str, exc: BaseException) -> None: ...


def guarded[F: Callable[..., Any]](fn: F) -> F:
    """Handler boundary: log + degrade on any exception, never re-raise into the node."""

    @functools.wraps(fn)
    def wrapper(self: Degradable, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the handler boundary: logged and degraded
            self._enter_degraded(fn.__name__, exc)
            return None

    return wrapper  # type: ignore[return-value]
