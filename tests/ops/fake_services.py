"""Local aiohttp stand-ins for Slack incoming webhooks and the Telegram Bot API.

They check the exact request shape each real service expects and answer with
that service's real reply format; responses can be scripted (status, headers, body).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Scripted:
    """One scripted reply."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class _Base:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.script: deque[Scripted] = deque()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _app(self) -> web.Application:
        raise NotImplementedError

    async def __aenter__(self) -> _Base:
        self._runner = web.AppRunner(self._app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def _next(self, default: Scripted) -> web.Response:
        reply = self.script.popleft() if self.script else default
        return web.Response(status=reply.status, text=reply.body, headers=reply.headers)


class FakeSlack(_Base):
    """Slack incoming webhook at /services/T000/B000/<secret>."""

    path = "/services/T000/B000/XXXXsecretXXXX"

    @property
    def webhook_url(self) -> str:
        return self.base_url + self.path

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(self.path, self._hook)
        return app

    async def _hook(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            self.problems.append(f"content-type {request.content_type}")
            return web.Response(status=400, text="invalid_payload")
        doc = json.loads(await request.text())
        if not isinstance(doc.get("text"), str) or not doc["text"]:
            self.problems.append("text missing")
            return web.Response(status=400, text="no_text")
        blocks = doc.get("blocks", [])
        if not isinstance(blocks, list) or any(b.get("type") != "section" for b in blocks):
            self.problems.append("bad blocks")
            return web.Response(status=400, text="invalid_blocks")
        self.requests.append(doc)
        return self._next(Scripted(200, "ok"))


class FakeTelegram(_Base):
    """Telegram Bot API: POST /bot<token>/sendMessage."""

    token = "123456:ABC-secret-token-DEF"

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/sendMessage", self._send)
        return app

    async def _send(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        if request.content_type != "application/json":
            self.problems.append(f"content-type {request.content_type}")
        doc = json.loads(await request.text())
        for key, kind in (("chat_id", (str, int)), ("text", str)):
            if not isinstance(doc.get(key), kind):
                self.problems.append(f"{key} missing")
                return web.json_response(
                    {"ok": False, "error_code": 400, "description": f"Bad Request: {key}"},
                    status=400,
                )
        if doc.get("parse_mode") not in (None, "HTML", "MarkdownV2"):
            self.problems.append("parse_mode")
        self.requests.append(doc)
        ok = json.dumps(
            {"ok": True, "result": {"message_id": len(self.requests), "text": doc["text"]}}
        )
        return self._next(Scripted(200, ok, {"Content-Type": "application/json"}))


def telegram_429(retry_after: int) -> Scripted:
    """Telegram's real flood-control reply."""
    body = {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }
    return Scripted(429, json.dumps(body), {"Content-Type": "application/json"})
