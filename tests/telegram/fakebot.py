"""A local Telegram Bot API on aiohttp speaking the real wire format.

``POST /bot<token>/<method>`` with a JSON body; answers ``{"ok": true, "result": ...}``
or ``{"ok": false, "error_code": N, "description": ..., "parameters": {...}}``.
Implemented: getMe (the bot's User; ``username`` settable), getUpdates (``offset``
confirms every update below it; ``timeout`` long polls until an update arrives),
sendMessage (with ``reply_markup``), answerCallbackQuery, editMessageText. A wrong
token gets 401; scripted faults (e.g. 429 with ``retry_after``) answer the next calls
of a method. Every request is recorded with its arrival time (monotonic) for the
tests to assert on.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

TOKEN = "123456:TEST-fake-bot-token-abcdefghijklmnop"
USERNAME = "HgTestBot"  # as @BotFather spells it; Telegram matches it in any case


@dataclass
class Call:
    """One request the fake received."""

    method: str
    body: dict[str, Any]
    at: float  # time.monotonic() at arrival
    status: int = 200


@dataclass
class Fault:
    """A scripted error answer for the next call of ``method``."""

    method: str
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class FakeBotApi:
    """The fake Bot API server; use ``async with FakeBotApi() as bot``."""

    token: str = TOKEN
    username: str = USERNAME
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # sent Message objects
    answers: list[dict[str, Any]] = field(default_factory=list)  # answerCallbackQuery bodies
    edits: list[dict[str, Any]] = field(default_factory=list)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _new: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _closing: bool = False
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        self._new.set()
        assert self._runner is not None
        await self._runner.cleanup()

    # -- what a user does --------------------------------------------------------------
    def push_message(self, chat_id: int, text: str, user_id: int | None = None) -> int:
        """A user writes ``text`` in ``chat_id``; returns the update id."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {"id": user_id or abs(chat_id), "is_bot": False, "first_name": "op"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return self._push({"message": message})

    def push_callback(
        self, chat_id: int, data: str, message_id: int, user_id: int | None = None
    ) -> int:
        """A user taps an inline button whose ``callback_data`` is ``data``."""
        callback = {
            "id": f"cq{next(self._update_ids)}",
            "from": {"id": user_id or abs(chat_id), "is_bot": False, "first_name": "op"},
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "text": "prompt",
            },
        }
        return self._push({"callback_query": callback})

    def _push(self, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **payload})
        self._new.set()
        return update_id

    def fail_next(
        self, method: str, status: int, description: str, retry_after: int | None = None
    ) -> None:
        """Answer the next call of ``method`` with an error."""
        self.faults.append(Fault(method, status, description, retry_after))

    # -- assertions helpers ------------------------------------------------------------
    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["chat"]["id"] == chat_id]

    def pending_updates(self) -> int:
        return len(self._updates)

    # -- the server ----------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            body = {}
        call = Call(method, body, time.monotonic())
        self.calls.append(call)
        if request.match_info["token"] != self.token:
            call.status = 401
            return _error(401, "Unauthorized")
        fault = next((f for f in self.faults if f.method == method), None)
        if fault is not None:
            self.faults.remove(fault)
            call.status = fault.status
            params = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
            return _error(fault.status, fault.description, params)
        handler: Callable[[dict[str, Any]], Any] | None = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "answerCallbackQuery": self._answer,
            "editMessageText": self._edit,
        }.get(method)
        if method == "getUpdates":
            return _ok(await self._get_updates(body))
        if handler is None:
            call.status = 404
            return _error(404, "Not Found")
        try:
            return _ok(handler(body))
        except (KeyError, TypeError, ValueError) as exc:
            call.status = 400
            return _error(400, f"Bad Request: {exc}")

    async def _get_updates(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        offset = body.get("offset")
        if isinstance(offset, int):  # confirms every update below offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = float(body.get("timeout", 0))
        deadline = time.monotonic() + timeout
        while not self._updates and not self._closing and time.monotonic() < deadline:
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        allowed = body.get("allowed_updates")
        return [u for u in self._updates if not allowed or any(k in u for k in allowed)][:100]

    def _get_me(self, _body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": int(self.token.split(":")[0]),
            "is_bot": True,
            "first_name": "hedgegrid",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _send_message(self, body: dict[str, Any]) -> dict[str, Any]:
        text = body["text"]
        if not isinstance(text, str) or not text or len(text) > 4096:
            raise ValueError("message text is empty or too long")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(body["chat_id"]), "type": "private"},
            "text": text,
        }
        if "reply_markup" in body:
            message["reply_markup"] = body["reply_markup"]
        message["parse_mode"] = body.get("parse_mode")  # kept for assertions
        self.sent.append(message)
        return message

    def _answer(self, body: dict[str, Any]) -> bool:
        str(body["callback_query_id"])
        self.answers.append(body)
        return True

    def _edit(self, body: dict[str, Any]) -> dict[str, Any]:
        self.edits.append(body)
        return {
            "message_id": int(body["message_id"]),
            "date": int(time.time()),
            "chat": {"id": int(body["chat_id"]), "type": "private"},
            "text": body["text"],
        }


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    doc: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        doc["parameters"] = parameters
    return web.json_response(doc, status=status)
