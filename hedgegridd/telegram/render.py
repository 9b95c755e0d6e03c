"""Telegram replies (HTML) from the control protocol's result models.

The tables are ``control.render``'s (the same text ``hedgegridctl`` prints), set in
``<pre>`` so they stay aligned, escaped and clipped to Telegram's message limit.
"""

from __future__ import annotations

import html

from pydantic import BaseModel

from hedgegridd.control.render import pairs, render
from hedgegridd.control.results import StatusResult
from hedgegridd.errors import ControlError
from hedgegridd.telegram.commands import BOT_COMMANDS, BotCommand

TEXT_LIMIT = 4096  # sendMessage text limit
_CLIP_NOTE = "\n… (cut; hedgegridctl shows everything)"


def pre(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` escaped in a ``<pre>`` block within ``limit`` characters (whole lines)."""
    budget = limit - len("<pre></pre>") - len(_CLIP_NOTE)
    escaped = html.escape(text, quote=False)
    if len(escaped) + len("<pre></pre>") <= limit:
        return f"<pre>{escaped}</pre>"
    kept: list[str] = []
    used = 0
    for line in escaped.split("\n"):
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    return "<pre>" + "\n".join(kept) + html.escape(_CLIP_NOTE, quote=False) + "</pre>"


def pnl(result: StatusResult) -> str:
    """The ``/pnl`` view of a status result."""
    return pairs(
        [
            ("realized pnl", result.realized_pnl),
            ("unrealized pnl", result.unrealized_pnl),
            ("long upnl", result.long.unrealized_pnl),
            ("short upnl", result.short.unrealized_pnl),
            ("equity", result.equity),
            ("peak equity", result.peak_equity),
            ("funding rate", result.funding_rate),
            ("fills", result.fills),
        ]
    )


def reply(bot: BotCommand, result: BaseModel) -> str:
    """The HTML answer to a command that succeeded."""
    body = pnl(result) if bot.name == "pnl" and isinstance(result, StatusResult) else render(result)
    title = f"<b>/{html.escape(bot.name)}</b>"
    return title + "\n" + pre(body, TEXT_LIMIT - len(title) - 1)


def error(exc: ControlError) -> str:
    """The HTML answer to a refused command: the protocol's code and message."""
    return f"<b>error {html.escape(str(exc.code))}</b>: {html.escape(exc.message)}"


def help_text(admin: bool) -> str:
    """The commands this chat may run."""
    lines = ["<b>hedgegrid bot</b>", ""]
    for bot in BOT_COMMANDS.values():
        if bot.mutating and not admin:
            continue
        mark = " (asks to confirm)" if bot.mutating else ""
        lines.append(f"{html.escape(bot.usage)}: {html.escape(bot.summary)}{mark}")
    if not admin:
        lines += ["", "This chat is read-only."]
    return "\n".join(lines)


def confirm_prompt(command: str, ttl_s: float) -> str:
    """The text above the confirmation button."""
    return (
        f"Run <code>{html.escape(command)}</code>?\n"
        f"Tap Confirm within {ttl_s:g} s; the button works once."
    )


def confirm_keyboard(confirm_data: str, cancel_data: str) -> dict[str, object]:
    """An inline keyboard with Confirm and Cancel buttons."""
    return {
        "inline_keyboard": [
            [
                {"text": "Confirm", "callback_data": confirm_data},
                {"text": "Cancel", "callback_data": cancel_data},
            ]
        ]
    }
