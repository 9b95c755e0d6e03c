"""Telegram command text -> the control protocol's ``ParsedRequest``.

``/throttle 0.5`` becomes the same request frame ``hedgegridctl throttle 0.5`` sends,
validated by ``control.protocol.parse_request``: the same argument checks and the
same error codes (``bad_argument``, ``unknown_command``) as the control socket.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from hedgegridd.control.protocol import COMMANDS, ErrorCode, ParsedRequest, parse_request
from hedgegridd.errors import ControlError

MAX_TEXT = 256  # longer command texts are refused unread


@dataclass(frozen=True, slots=True)
class BotCommand:
    """One bot command: its ``/name``, the protocol command it runs, its arguments."""

    name: str
    wire: str
    usage: str
    summary: str
    arg: str | None = None  # the one optional/required argument's protocol field
    arg_required: bool = False

    @property
    def mutating(self) -> bool:
        return COMMANDS[self.wire].mutating


BOT_COMMANDS: dict[str, BotCommand] = {
    c.name: c
    for c in (
        BotCommand("status", "status", "/status", "state, prices, PnL, risk, both sides"),
        BotCommand("positions", "positions", "/positions", "LONG and SHORT positions"),
        BotCommand("orders", "orders", "/orders", "open orders of the strategy"),
        BotCommand("pnl", "status", "/pnl", "realized and unrealized PnL, equity, funding"),
        BotCommand("ladders", "ladders", "/ladders", "desired grid rungs of the last bar"),
        BotCommand("killswitch", "killswitch.status", "/killswitch", "kill switch latch"),
        BotCommand("pause", "pause", "/pause", "no new exposure: withdraw entries"),
        BotCommand("resume", "resume", "/resume", "clear the operator pause"),
        BotCommand(
            "throttle", "throttle", "/throttle X", "scale entries by X in 0..1", "value", True
        ),
        BotCommand(
            "flatten", "flatten", "/flatten [long|short|both]", "close a side (both)", "side"
        ),
        BotCommand(
            "killswitch_reset", "killswitch.reset", "/killswitch_reset", "clear a latched switch"
        ),
    )
}

HELP_NAMES = ("help", "start")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?$")
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command text: the bot command and its validated request."""

    bot: BotCommand
    request: ParsedRequest
    text: str  # normalised, e.g. "/throttle 0.5"


def _match(text: str) -> re.Match[str] | None:
    words = text.split()
    return _COMMAND.match(words[0]) if words else None


def command_name(text: str) -> str | None:
    """The ``/name`` of a command text (``@botname`` dropped), else None (not a command)."""
    match = _match(text)
    return match.group(1).lower() if match else None


def command_addressee(text: str) -> str | None:
    """The bot a command names (``/status@SomeBot`` -> ``somebot``, lower-cased), else None.

    In groups Telegram appends ``@username`` to commands picked from a bot's menu;
    usernames are case-insensitive, so the comparison is too.
    """
    match = _match(text)
    return match.group(2).lower() if match and match.group(2) else None


def parse_command(text: str) -> Command:
    """Validate a command text; ``ControlError`` with the protocol's codes otherwise."""
    if len(text) > MAX_TEXT:
        raise ControlError(ErrorCode.BAD_REQUEST, f"command longer than {MAX_TEXT} characters")
    name = command_name(text)
    bot = BOT_COMMANDS.get(name or "")
    if bot is None:
        raise ControlError(
            ErrorCode.UNKNOWN_COMMAND, f"unknown command {text.split()[0][:40]!r}; see /help"
        )
    words = text.split()[1:]
    args: dict[str, Any] = {}
    if bot.arg is not None and words:
        args[bot.arg] = words[0].lower() if bot.arg == "side" else words[0]
    limit = 1 if bot.arg is not None else 0
    if len(words) > limit or (bot.arg_required and not words):
        raise ControlError(ErrorCode.BAD_ARGUMENT, f"usage: {bot.usage}")
    frame = {"type": "request", "id": next(_ids), "command": bot.wire, "args": args}
    request = parse_request(frame)
    return Command(bot=bot, request=request, text=" ".join(["/" + bot.name, *args.values()]))
