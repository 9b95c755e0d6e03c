"""``[telegram]``: the Telegram control bot (long polling; the token is a credential).

Frozen pydantic model validated once at the edge (part of the daemon ``Settings``).
The bot token is NOT here: it is the ``telegram_bot_token`` credential (systemd
``LoadCredential`` or the environment), shared with the Telegram alert route.
"""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hedgegridd.errors import ConfigError

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

# Telegram chat ids are signed 64-bit integers (groups and channels are negative).
ChatId = int


class TelegramConfig(BaseModel):
    """Who may steer the daemon from Telegram, and how hard the bot polls and answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=False, description="run the Telegram control bot")
    admin_chat_ids: tuple[ChatId, ...] = Field(
        default=(), description="chats that may run every command (mutating ones confirmed)"
    )
    readonly_chat_ids: tuple[ChatId, ...] = Field(
        default=(), description="chats that may run the read-only commands"
    )
    api_base_url: str = Field(
        default="https://api.telegram.org",
        description="Bot API base URL: https, or http only on a loopback host (tests)",
    )
    poll_timeout_s: int = Field(
        default=25, ge=1, le=50, description="getUpdates long-poll timeout, seconds [1, 50]"
    )
    request_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="HTTP timeout of one Bot API call (getUpdates: added to the poll timeout)",
    )
    confirm_ttl_s: float = Field(
        default=60.0, ge=1, le=3600, description="a confirmation button expires after, seconds"
    )
    command_timeout_s: float = Field(
        default=120.0, gt=0, le=600, description="one command may run this long (flatten waits)"
    )
    rate_limit_count: int = Field(
        default=10, ge=1, le=1000, description="commands per chat per rate_limit_window_s"
    )
    rate_limit_window_s: float = Field(default=60.0, gt=0, le=86400)
    backoff_initial_s: float = Field(
        default=1.0, gt=0, le=60, description="first wait after a failed call, seconds"
    )
    backoff_max_s: float = Field(
        default=60.0, gt=0, le=3600, description="cap of the doubling wait, seconds"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        parts = urlsplit(self.api_base_url)
        secure = parts.scheme == "https" and bool(parts.hostname)
        loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
        if not (secure or loopback) or parts.query or parts.fragment:
            raise ValueError(
                "api_base_url must be an https:// URL (http:// only to a loopback host)"
            )
        both = sorted(set(self.admin_chat_ids) & set(self.readonly_chat_ids))
        if both:
            raise ValueError(f"chat {both[0]} is in both admin_chat_ids and readonly_chat_ids")
        if self.enabled and not (self.admin_chat_ids or self.readonly_chat_ids):
            raise ValueError("enabled needs at least one chat in admin_chat_ids/readonly_chat_ids")
        if self.backoff_initial_s > self.backoff_max_s:
            raise ValueError("backoff_initial_s must be <= backoff_max_s")
        return self


def require_token(config: TelegramConfig, token: object | None) -> None:
    """Raise ``ConfigError`` when the bot is enabled but the credential is missing."""
    if config.enabled and token is None:
        raise ConfigError(
            "telegram.enabled is true but the telegram_bot_token credential is not set "
            "($CREDENTIALS_DIRECTORY/telegram_bot_token or TELEGRAM_BOT_TOKEN)"
        )
