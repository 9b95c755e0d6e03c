"""Pending confirmations of mutating commands: one-shot, per chat, expiring.

A mutating command from an admin chat is not run at once: the bot answers with an
inline button whose ``callback_data`` names a random nonce. Tapping it takes the
pending request out of this store exactly once; a second tap (double tap, a replayed
callback) finds it used, and a tap after the deadline finds it expired. Only the user
who sent the command can confirm it: in a group chat another member's tap is refused
and leaves the button working for the requester. The store lives in memory: after a
restart every old button is refused as unknown. Everything here runs on the event loop
(no locks needed).
"""

from __future__ import annotations

import enum
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from hedgegridd.control.protocol import ParsedRequest

CONFIRM_PREFIX = "ok:"
CANCEL_PREFIX = "no:"
MAX_USED = 1024  # remembered used/cancelled nonces (to say "already done")
MAX_PENDING_PER_CHAT = 16


@dataclass(frozen=True, slots=True)
class Pending:
    """A validated request waiting for its button."""

    nonce: str
    chat_id: int
    user_id: int | None  # who sent the command: the only one who may confirm it
    request: ParsedRequest
    command: str  # as the user typed it, e.g. "/throttle 0.5"
    expires_at: float


class Refusal(enum.StrEnum):
    """Why a tap did not run anything."""

    EXPIRED = "expired"
    USED = "used"
    UNKNOWN = "unknown"
    WRONG_CHAT = "wrong_chat"
    WRONG_USER = "wrong_user"


class Confirmations:
    """The pending confirmations of every chat."""

    def __init__(self, ttl_s: float, clock: Callable[[], float]) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._pending: dict[str, Pending] = {}
        self._used: OrderedDict[str, None] = OrderedDict()

    def add(
        self, chat_id: int, user_id: int | None, request: ParsedRequest, command: str
    ) -> Pending:
        """Register a request; returns it with its nonce and deadline."""
        self._prune()
        mine = [p for p in self._pending.values() if p.chat_id == chat_id]
        for old in mine[: max(0, len(mine) - MAX_PENDING_PER_CHAT + 1)]:
            self._retire(old.nonce)
        pending = Pending(
            nonce=secrets.token_urlsafe(12),
            chat_id=chat_id,
            user_id=user_id,
            request=request,
            command=command,
            expires_at=self._clock() + self._ttl_s,
        )
        self._pending[pending.nonce] = pending
        return pending

    def take(self, nonce: str, chat_id: int, user_id: int | None) -> Pending | Refusal:
        """The pending request for a tap (removed: it runs once), or why not."""
        pending = self._pending.get(nonce)
        if pending is None:
            return Refusal.USED if nonce in self._used else Refusal.UNKNOWN
        if pending.chat_id != chat_id:
            return Refusal.WRONG_CHAT
        if pending.user_id is None or pending.user_id != user_id:
            return Refusal.WRONG_USER  # not retired: the requester may still confirm
        self._retire(nonce)
        if self._clock() >= pending.expires_at:
            return Refusal.EXPIRED
        return pending

    def __len__(self) -> int:
        return len(self._pending)

    def _retire(self, nonce: str) -> None:
        self._pending.pop(nonce, None)
        self._used[nonce] = None
        while len(self._used) > MAX_USED:
            self._used.popitem(last=False)

    def _prune(self) -> None:
        now = self._clock()
        for nonce in [n for n, p in self._pending.items() if now >= p.expires_at]:
            self._retire(nonce)


class RateLimiter:
    """A token bucket per chat: ``count`` commands per ``window_s``, refilled smoothly."""

    def __init__(self, count: int, window_s: float, clock: Callable[[], float]) -> None:
        self._capacity = float(count)
        self._rate = count / window_s
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (level, at)

    def allow(self, chat_id: int) -> bool:
        """Take one unit for ``chat_id``; False when its bucket is empty."""
        now = self._clock()
        level, at = self._buckets.get(chat_id, (self._capacity, now))
        level = min(self._capacity, level + (now - at) * self._rate)
        if level < 1.0:
            self._buckets[chat_id] = (level, now)
            return False
        self._buckets[chat_id] = (level - 1.0, now)
        return True

    def wait_s(self, chat_id: int) -> float:
        """Seconds until ``chat_id`` may run a command again."""
        level, _at = self._buckets.get(chat_id, (self._capacity, 0.0))
        return max(0.0, (1.0 - level) / self._rate)
