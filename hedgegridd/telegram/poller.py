"""``TelegramBot``: the Telegram control bot, a supervised task of the daemon.

It long-polls the Bot API (``getUpdates`` with offset and timeout; no webhook,
nothing listens) and runs each command through ``control.dispatch.dispatch`` on
the daemon's event loop, as the control socket does: the same validation, error
codes and journal entries, with the actor ``telegram:<chat id>``.

At start it learns its own username (``getMe``, retried with the same backoff as
``getUpdates``; no update is read before): in a group, ``/status@OurBot`` (any case)
is ours, ``/status@OtherBot`` is another bot's and is ignored without a reply
(``telegram.other_bot_command``, counted); a bare ``/status`` is ours.

Access is per chat: ``admin_chat_ids`` may run everything, ``readonly_chat_ids``
the read-only commands; any other chat gets no answer at all (logged as
``telegram.unknown_chat`` and counted). Every mutating command (resume included:
it puts entries back on the book, as consequential as a pause) first asks for a
tap on an inline button that expires and works once.

Telegram can be dead or slow without slowing trading: this task only awaits its
own HTTP calls (each with a timeout), waits out a 429's ``retry_after`` and backs
off network errors up to a cap; the strategy and the kill switch never await it.
It has no watchdog heartbeat on purpose: an unreachable Telegram must not make
systemd restart a trading daemon. The bot token is only ever in the request URL,
which is never logged (``api.BotApi`` maps errors without it).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus
from pydantic import BaseModel, SecretStr

from hedgegridd.control.backend import ControlBackend
from hedgegridd.control.dispatch import dispatch
from hedgegridd.control.protocol import Access, ErrorCode, ParsedRequest
from hedgegridd.control.server import JournalWriter
from hedgegridd.errors import ControlError
from hedgegridd.telegram import render
from hedgegridd.telegram.api import BotApi, TelegramError, TelegramRateLimited
from hedgegridd.telegram.commands import (
    BOT_COMMANDS,
    HELP_NAMES,
    BotCommand,
    command_addressee,
    command_name,
    parse_command,
)
from hedgegridd.telegram.config import TelegramConfig
from hedgegridd.telegram.confirm import (
    CANCEL_PREFIX,
    CONFIRM_PREFIX,
    Confirmations,
    Pending,
    RateLimiter,
    Refusal,
)
from hedgegridd.telegram.metrics import TelegramCollector, TelegramStats
from hedgegridd.telegram.outbox import Outbox

log = structlog.get_logger(__name__)

ALLOWED_UPDATES = ("message", "callback_query")
MAX_CONCURRENT = 8  # updates handled at once (a flatten may wait for verification)

_REFUSAL_TEXT = {
    Refusal.EXPIRED: "This confirmation expired; send the command again.",
    Refusal.USED: "Already used or cancelled: this button works once.",
    Refusal.UNKNOWN: "Unknown or expired confirmation (the daemon may have restarted).",
    Refusal.WRONG_CHAT: "This confirmation belongs to another chat.",
    Refusal.WRONG_USER: "Only the user who sent the command can confirm it.",
}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class TelegramBot:
    """Polls Telegram and answers the configured chats until cancelled."""

    def __init__(
        self,
        config: TelegramConfig,
        token: SecretStr,
        backend: ControlBackend,
        journal: JournalWriter,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._token = token
        self._backend = backend
        self._journal = journal
        self._admin = frozenset(config.admin_chat_ids)
        self._readonly = frozenset(config.readonly_chat_ids)
        self._confirms = Confirmations(config.confirm_ttl_s, clock)
        self._limiter = RateLimiter(config.rate_limit_count, config.rate_limit_window_s, clock)
        self._limit_noticed: set[int] = set()  # chats told about the limit since their last run
        self._slots = anyio.Semaphore(MAX_CONCURRENT)
        self._out: Outbox | None = None
        self._username: str | None = None  # ours, lower-cased (getMe), before any update
        self.stats = TelegramStats()

    def collector(self) -> TelegramCollector:
        """The Prometheus collector of this bot's counters."""
        return TelegramCollector(self.stats)

    def access(self, chat_id: int) -> Access:
        """What ``chat_id`` may do."""
        if chat_id in self._admin:
            return Access.ADMIN
        if chat_id in self._readonly:
            return Access.READ
        return Access.NONE

    # -- the task ------------------------------------------------------------------------
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Report started at once (Telegram's reachability gates nothing), then poll."""
        async with aiohttp.ClientSession() as session:
            api = BotApi(
                session,
                base_url=self._config.api_base_url,
                token=self._token,
                request_timeout_s=self._config.request_timeout_s,
            )
            self._out = Outbox(api, self.stats)
            log.info(
                "telegram.started",
                admin_chats=len(self._admin),
                readonly_chats=len(self._readonly),
                poll_timeout_s=self._config.poll_timeout_s,
            )
            task_status.started()
            offset: list[int] = []
            try:
                async with anyio.create_task_group() as tg:
                    await self._poll(tg, offset)
            finally:
                with anyio.CancelScope(shield=True), anyio.move_on_after(2.0):
                    await self._confirm_offset(offset)
                log.info("telegram.stopped")

    async def _poll(self, tg: TaskGroup, offset: list[int]) -> None:
        out = self._outbox()
        api = out.api
        backoff = self._config.backoff_initial_s
        while True:
            try:
                if self._username is None:  # whom "/cmd@name" addresses: learnt once
                    self._username = (await api.get_me()).lower()
                    log.info("telegram.identified", username=self._username)
                updates = await api.get_updates(
                    offset[0] if offset else None,
                    timeout_s=self._config.poll_timeout_s,
                    allowed=ALLOWED_UPDATES,
                )
            except TelegramError as exc:
                self.stats.poll_ok = False
                out.failed(exc)
                if not isinstance(exc, TelegramRateLimited):  # the api waits retry_after
                    log.warning("telegram.poll_backoff", wait_s=backoff)
                    await anyio.sleep(backoff)
                    backoff = min(backoff * 2, self._config.backoff_max_s)
                continue
            except Exception:  # a bot bug must not stop a trading daemon: log, back off
                self.stats.poll_ok = False
                log.exception("telegram.poll_failed", wait_s=backoff)
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, self._config.backoff_max_s)
                continue
            self.stats.poll_ok = True
            backoff = self._config.backoff_initial_s
            for update in updates:
                next_offset = update["update_id"] + 1
                offset[:] = [max(offset[0], next_offset) if offset else next_offset]
                await self._slots.acquire()
                tg.start_soon(self._handle_slot, update)

    async def _confirm_offset(self, offset: list[int]) -> None:
        """Tell Telegram which updates were handled, so a restart does not see them again."""
        if offset and self._out is not None:
            try:
                await self._out.api.get_updates(offset[0], timeout_s=0, allowed=ALLOWED_UPDATES)
            except TelegramError as exc:
                self._out.failed(exc)

    def _outbox(self) -> Outbox:
        if self._out is None:
            raise RuntimeError("the bot is not running")
        return self._out

    # -- updates -------------------------------------------------------------------------
    async def _handle_slot(self, update: dict[str, Any]) -> None:
        try:
            await self.handle_update(update)
        except Exception:  # one update must never stop the bot
            log.exception("telegram.update_failed", update_id=update.get("update_id"))
        finally:
            self._slots.release()

    async def handle_update(self, update: dict[str, Any]) -> None:
        """Answer one update (a message or a button tap)."""
        message = update.get("message")
        callback = update.get("callback_query")
        if isinstance(message, dict):
            await self._on_message(message)
        elif isinstance(callback, dict):
            await self._on_callback(callback)

    def _unknown_chat(self, chat_id: int | None, kind: str) -> None:
        self.stats.unknown_chat[kind] += 1
        log.warning("telegram.unknown_chat", chat_id=chat_id, kind=kind)

    async def _on_message(self, message: dict[str, Any]) -> None:
        chat_id = _int((message.get("chat") or {}).get("id"))
        user_id = _int((message.get("from") or {}).get("id"))
        access = Access.NONE if chat_id is None else self.access(chat_id)
        if chat_id is None or access is Access.NONE:
            self._unknown_chat(chat_id, "message")
            return
        text = message.get("text")
        name = command_name(text) if isinstance(text, str) else None
        if name is None or not isinstance(text, str):
            return  # not a command (group chatter): nothing to answer
        addressee = command_addressee(text)
        if addressee is not None and addressee != self._username:
            self.stats.other_bot_commands += 1  # another bot's command: not ours to answer
            log.info("telegram.other_bot_command", chat_id=chat_id, command=name, bot=addressee)
            return
        if not self._limiter.allow(chat_id):
            await self._rate_limited(chat_id, name)
            return
        self._limit_noticed.discard(chat_id)
        if name in HELP_NAMES:
            await self._outbox().send(chat_id, render.help_text(access is Access.ADMIN))
            return
        try:
            command = parse_command(text)
            if command.bot.mutating and access is not Access.ADMIN:
                log.warning("telegram.denied", chat_id=chat_id, command=name)
                raise ControlError(
                    ErrorCode.PERMISSION_DENIED,
                    f"'/{name}' needs an admin chat; this chat is read-only",
                )
        except ControlError as exc:
            self.stats.commands[(name, str(exc.code))] += 1
            log.info("telegram.command_refused", chat_id=chat_id, command=name, code=exc.code)
            await self._outbox().send(chat_id, render.error(exc))
            return
        if command.bot.mutating:
            await self._ask(chat_id, user_id, command.bot, command.request, command.text)
            return
        await self._execute(chat_id, user_id, command.bot, command.request)

    async def _rate_limited(self, chat_id: int, name: str) -> None:
        self.stats.rate_limited += 1
        log.warning("telegram.chat_rate_limited", chat_id=chat_id, command=name)
        if chat_id not in self._limit_noticed:  # say it once, then stay quiet until it passes
            self._limit_noticed.add(chat_id)
            wait = self._limiter.wait_s(chat_id)
            await self._outbox().send(chat_id, f"Too many commands; try again in {wait:.0f} s.")

    async def _ask(
        self,
        chat_id: int,
        user_id: int | None,
        bot: BotCommand,
        request: ParsedRequest,
        text: str,
    ) -> None:
        pending = self._confirms.add(chat_id, user_id, request, text)
        keyboard = render.confirm_keyboard(
            CONFIRM_PREFIX + pending.nonce, CANCEL_PREFIX + pending.nonce
        )
        log.info("telegram.confirm_asked", chat_id=chat_id, command=bot.name)
        await self._outbox().send(
            chat_id,
            render.confirm_prompt(text, self._config.confirm_ttl_s),
            reply_markup=keyboard,
        )

    async def _on_callback(self, callback: dict[str, Any]) -> None:
        message = callback.get("message") or {}
        chat_id = _int((message.get("chat") or {}).get("id"))
        user_id = _int((callback.get("from") or {}).get("id"))
        if chat_id is None or self.access(chat_id) is not Access.ADMIN:
            # Buttons are only ever sent to admin chats: anything else gets no answer.
            self._unknown_chat(chat_id if chat_id is not None else user_id, "callback_query")
            return
        query_id = str(callback.get("id", ""))
        data = callback.get("data")
        data = data if isinstance(data, str) else ""
        message_id = _int(message.get("message_id"))
        cancel = data.startswith(CANCEL_PREFIX)
        nonce = data.removeprefix(CANCEL_PREFIX if cancel else CONFIRM_PREFIX)
        taken = self._confirms.take(nonce, chat_id, user_id)
        if isinstance(taken, Refusal):
            log.info("telegram.confirm_refused", chat_id=chat_id, reason=str(taken))
            await self._outbox().answer(query_id, _REFUSAL_TEXT[taken])
            if taken is Refusal.EXPIRED and message_id is not None:
                await self._outbox().edit(chat_id, message_id, "Expired: not run.")
            return
        verdict = "Cancelled" if cancel else "Confirmed"
        log.info(
            "telegram.confirmed", chat_id=chat_id, command=taken.request.spec.name, cancelled=cancel
        )
        await self._outbox().answer(query_id, f"{verdict}: {taken.command}")
        if message_id is not None:
            await self._outbox().edit(chat_id, message_id, f"{verdict}: <code>{_esc(taken)}</code>")
        if not cancel:
            bot = _bot_of(taken)
            await self._execute(chat_id, user_id, bot, taken.request)

    # -- running a command ---------------------------------------------------------------
    async def _execute(
        self, chat_id: int, user_id: int | None, bot: BotCommand, request: ParsedRequest
    ) -> None:
        name = request.spec.name
        outcome = "ok"
        try:
            with anyio.fail_after(self._config.command_timeout_s):
                result: BaseModel = await dispatch(
                    self._backend, request, actor=f"telegram:{chat_id}"
                )
            if not isinstance(result, request.spec.result_model):
                raise TypeError(f"backend returned {type(result).__name__} for {name}")
            text = render.reply(bot, result)
        except ControlError as exc:
            outcome = str(exc.code)
            text = render.error(exc)
        except TimeoutError:
            log.error("telegram.command_timeout", command=name, chat_id=chat_id)
            outcome = str(ErrorCode.TIMEOUT)
            text = render.error(
                ControlError(ErrorCode.TIMEOUT, f"'{name}' did not complete in time")
            )
        except Exception:  # mapped to a generic reply; details go to the log
            log.exception("telegram.command_failed", command=name, chat_id=chat_id)
            outcome = str(ErrorCode.INTERNAL)
            text = render.error(
                ControlError(ErrorCode.INTERNAL, f"the daemon failed to run '{name}'; see its log")
            )
        self.stats.commands[(bot.name, outcome)] += 1
        log.info("telegram.command", command=name, chat_id=chat_id, outcome=outcome)
        if request.spec.mutating:
            await self._record(request, chat_id, user_id, outcome)
        await self._outbox().send(chat_id, text)

    async def _record(
        self, request: ParsedRequest, chat_id: int, user_id: int | None, outcome: str
    ) -> None:
        details: dict[str, Any] = {
            "command": request.spec.name,
            "args": request.args.model_dump(mode="json"),
            "chat_id": chat_id,
            "user_id": user_id,
            "outcome": outcome,
        }
        try:
            await self._journal(
                "control.command",
                actor=f"telegram:{chat_id}",
                details=details,
                at_ns=time.time_ns(),
            )
        except Exception:  # the command already ran; reply, but log loudly
            log.exception("telegram.journal_failed", command=request.spec.name)


def _esc(pending: Pending) -> str:
    return html.escape(pending.command, quote=False)


def _bot_of(pending: Pending) -> BotCommand:
    return BOT_COMMANDS[pending.command.split()[0].removeprefix("/")]
