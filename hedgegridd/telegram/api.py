"""A minimal Telegram Bot API client over aiohttp (only the methods the bot uses).

Every call is ``POST <base>/bot<token>/<method>`` with a JSON body and a timeout.
The URL carries the token, so it is never logged and never put in an error:
aiohttp's exceptions (whose text names the URL) are mapped at this boundary into
``TelegramError`` carrying the exception *type* only, raised ``from None``.

A 429 answer's ``parameters.retry_after`` is honoured for every later call: the
client sleeps until then before it sends anything (``wait_turn``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import anyio
from pydantic import SecretStr

from hedgegridd.errors import HedgegridError

MAX_RETRY_AFTER_S = 3600.0  # a larger retry_after is capped (still honoured for an hour)


class TelegramError(HedgegridError):
    """A Bot API call failed. Never carries the URL or the token."""

    def __init__(
        self,
        method: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"telegram {method} failed: {reason}")
        self.method = method
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class TelegramUnauthorized(TelegramError):
    """401/404: the bot token is wrong or revoked."""


class TelegramRateLimited(TelegramError):
    """429: wait ``retry_after`` seconds before the next call."""


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class BotApi:
    """Bot API calls on one aiohttp session; remembers Telegram's ``retry_after``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        token: SecretStr,
        request_timeout_s: float,
        clock: Clock = anyio.current_time,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout_s = request_timeout_s
        self._clock = clock
        self._sleep = sleep
        self._not_before = 0.0  # clock time before which no call is sent (429)

    def _redact(self, text: str) -> str:
        return text.replace(self._token.get_secret_value(), "<redacted>")

    async def wait_turn(self) -> None:
        """Sleep until a previous 429's ``retry_after`` has passed."""
        delay = self._not_before - self._clock()
        if delay > 0:
            await self._sleep(delay)

    async def call(self, method: str, payload: dict[str, Any], *, timeout_s: float = 0) -> Any:
        """``result`` of one call; ``TelegramError`` (subclass by kind) otherwise."""
        await self.wait_turn()
        url = f"{self._base}/bot{self._token.get_secret_value()}/{method}"
        timeout = aiohttp.ClientTimeout(total=timeout_s or self._timeout_s)
        failure: str | None = None
        status, body = 0, b""
        try:
            async with self._session.post(url, json=payload, timeout=timeout) as resp:
                status = resp.status
                body = await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # str(exc) of aiohttp errors may contain the URL (the token): the type only,
            # raised outside this block so the exception is not even its __context__.
            failure = type(exc).__name__
        if failure is not None:
            raise TelegramError(method, failure)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise TelegramError(method, f"HTTP {status}, not a Bot API answer", status=status)
        if status == 200 and doc.get("ok") is True:
            return doc.get("result")
        description = self._redact(str(doc.get("description", "")))[:200]
        reason = f"HTTP {status}" + (f": {description}" if description else "")
        if status == 429:
            retry_after = _retry_after(doc)
            self._not_before = max(self._not_before, self._clock() + retry_after)
            raise TelegramRateLimited(method, reason, status=status, retry_after=retry_after)
        if status in (401, 404):
            raise TelegramUnauthorized(method, reason, status=status)
        raise TelegramError(method, reason, status=status)

    async def get_me(self) -> str:
        """Our bot's ``username`` (``getMe``), to tell ``/cmd@ourbot`` from ``/cmd@otherbot``."""
        result = await self.call("getMe", {})
        username = result.get("username") if isinstance(result, dict) else None
        if not isinstance(username, str) or not username:
            raise TelegramError("getMe", "result has no username")
        return username

    async def get_updates(
        self, offset: int | None, *, timeout_s: int, allowed: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Long-poll for updates with ``update_id >= offset`` (confirms those below)."""
        payload: dict[str, Any] = {"timeout": timeout_s, "allowed_updates": list(allowed)}
        if offset is not None:
            payload["offset"] = offset
        result = await self.call("getUpdates", payload, timeout_s=timeout_s + self._timeout_s)
        if not isinstance(result, list):
            raise TelegramError("getUpdates", "result is not a list")
        return [u for u in result if isinstance(u, dict) and isinstance(u.get("update_id"), int)]

    async def send_message(
        self, chat_id: int, text: str, *, reply_markup: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send HTML ``text`` to ``chat_id``; the sent Message."""
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        if reply_markup is not None:
            payload["reply_markup"] = reply_markup
        result = await self.call("sendMessage", payload)
        return result if isinstance(result, dict) else {}

    async def answer_callback_query(self, callback_query_id: str, text: str) -> None:
        """Stop the button's spinner, showing ``text`` to the user who tapped."""
        await self.call(
            "answerCallbackQuery", {"callback_query_id": callback_query_id, "text": text[:200]}
        )

    async def edit_message_text(self, chat_id: int, message_id: int, text: str) -> None:
        """Replace a message's text (and drop its inline keyboard)."""
        await self.call(
            "editMessageText",
            {"chat_id": chat_id, "message_id": message_id, "text": text, "parse_mode": "HTML"},
        )


def _retry_after(doc: dict[str, Any]) -> float:
    params = doc.get("parameters")
    value = params.get("retry_after") if isinstance(params, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return min(float(value), MAX_RETRY_AFTER_S)
    return 1.0  # a 429 without retry_after: wait a little anyway
