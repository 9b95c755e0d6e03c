"""``ListenKeys``: the account's user-data-stream listen keys and their validity.

As Binance: a key lives ``ttl_s`` (60 minutes) unless kept alive; asking for a key
while one is active returns that key again (extended). Validity is wall time
(``time.monotonic``), not simulated time. The streams of a key are the
``StreamHub``'s; this only knows which keys exist and until when.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

LISTEN_KEY_TTL_S = 60 * 60  # Binance: a key lives 60 minutes unless kept alive


class ListenKeys:
    """Listen keys and the monotonic time each stays valid until."""

    def __init__(self, ttl_s: float = LISTEN_KEY_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._until: dict[str, float] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._until

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._until))

    def __len__(self) -> int:
        return len(self._until)

    def create(self) -> str:
        """The account's listen key, valid for the TTL (keepalive extends it).

        Like Binance, an active key is returned again (and extended); a new key is
        made only when none is active.
        """
        now = time.monotonic()
        for key, until in self._until.items():
            if until > now:
                self._until[key] = now + self.ttl_s
                return key
        key = secrets.token_hex(32)
        self._until[key] = time.monotonic() + self.ttl_s
        return key

    def keepalive(self, key: str | None) -> bool:
        """Extend a key's validity; False when the key is unknown or expired."""
        if key is None:
            # Binance keeps alive the account's only key when none is given.
            if not self._until:
                return False
            key = next(iter(self._until))
        if key not in self._until:
            return False
        self._until[key] = time.monotonic() + self.ttl_s
        return True

    def stale(self) -> list[str]:
        """Keys not kept alive within their TTL."""
        now = time.monotonic()
        return [k for k, until in self._until.items() if until <= now]

    def discard(self, key: str) -> None:
        """Forget ``key`` (no error when unknown)."""
        self._until.pop(key, None)

    def clear(self) -> None:
        """Forget every key (venue restart)."""
        self._until.clear()
