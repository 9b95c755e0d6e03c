"""``RequestLog``: the bounded log of requests the simulator received (for tests)."""

from __future__ import annotations

from collections import deque
from typing import Protocol

REQUEST_LOG_SIZE = 100_000
ORDER_ENDPOINTS = frozenset(
    {
        "/fapi/v1/order",
        "/fapi/v1/batchOrders",
        "/fapi/v1/allOpenOrders",
        "/fapi/v1/countdownCancelAll",
        "/fapi/v1/algoOrder",
        "/fapi/v1/algoOpenOrders",
    }
)


class LoggedRequest(Protocol):
    """One received request (the REST layer's ``SeenRequest``)."""

    @property
    def method(self) -> str:
        """HTTP method."""
        ...

    @property
    def path(self) -> str:
        """Request path."""
        ...

    @property
    def params(self) -> dict[str, str]:
        """Query and body parameters."""
        ...

    @property
    def at(self) -> float:
        """Wall time received."""
        ...


class RequestLog(deque[LoggedRequest]):
    """The last ``REQUEST_LOG_SIZE`` requests, oldest first."""

    def __init__(self) -> None:
        super().__init__(maxlen=REQUEST_LOG_SIZE)

    def orders(self) -> list[LoggedRequest]:
        """Requests that reached any endpoint placing, changing or cancelling orders."""
        return [r for r in self if r.path in ORDER_ENDPOINTS]

    def seen(self, path_prefix: str = "", method: str | None = None) -> list[LoggedRequest]:
        """Requests received under ``path_prefix`` (optionally of one HTTP method)."""
        return [
            r
            for r in self
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        ]
