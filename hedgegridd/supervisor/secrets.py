"""Secrets of the daemon: read from systemd credentials or the environment, never TOML.

Lookup per secret: the file ``$CREDENTIALS_DIRECTORY/<name>`` (systemd LoadCredential),
then the environment variable ``<NAME>`` upper-cased. An empty file or variable means
"not set". Values are ``SecretStr`` and are registered with the log redaction processor.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from hedgegridd.errors import ConfigError
from hedgegridd.venues.config import Mode
from hedgegridd.venues.guards import BinanceKeys

SIM_KEYS = BinanceKeys(api_key=SecretStr("sim-api-key"), api_secret=SecretStr("sim-api-secret"))

SECRET_NAMES = (
    "binance_api_key",
    "binance_api_secret",
    "binance_testnet_api_key",
    "binance_testnet_api_secret",
    "slack_webhook_url",
    "telegram_bot_token",
)


@dataclass(frozen=True, slots=True)
class Secrets:
    """Every secret the daemon may use; ``None`` when not configured."""

    binance: BinanceKeys | None  # the pair the configured mode trades with
    binance_other_env: BinanceKeys | None  # the pair of the other environment (cross-check)
    slack_webhook_url: SecretStr | None
    telegram_bot_token: SecretStr | None
    ignored_binance_keys: bool = False  # paper mode found keys and dropped them unread

    def values(self) -> Iterator[str]:
        """Every configured secret value (for the redaction processor)."""
        for pair in (self.binance, self.binance_other_env):
            if pair is not None:
                yield pair.api_key.get_secret_value()
                yield pair.api_secret.get_secret_value()
        for item in (self.slack_webhook_url, self.telegram_bot_token):
            if item is not None:
                yield item.get_secret_value()


def _read(name: str, environ: Mapping[str, str]) -> SecretStr | None:
    cred_dir = environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        path = Path(cred_dir) / name
        if path.exists():
            try:
                text = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"credential {name} cannot be read: {exc.strerror}") from exc
            if text:
                return SecretStr(text)
    value = environ.get(name.upper(), "").strip()
    return SecretStr(value) if value else None


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _slack_webhook(environ: Mapping[str, str]) -> SecretStr | None:
    """The Slack webhook URL, refused unless https (plain http only to a loopback
    receiver). The value is a secret, so errors never show it."""
    url = _read("slack_webhook_url", environ)
    if url is None:
        return None
    parts = urlsplit(url.get_secret_value())
    if (parts.scheme == "https" and parts.hostname) or (
        parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
    ):
        return url
    raise ConfigError("credential slack_webhook_url must be an https:// URL (value not shown)")


def _pair(key_name: str, secret_name: str, environ: Mapping[str, str]) -> BinanceKeys | None:
    key, secret = _read(key_name, environ), _read(secret_name, environ)
    if key is None and secret is None:
        return None
    if key is None or secret is None:
        missing = key_name if key is None else secret_name
        raise ConfigError(f"credential {missing} is missing while its pair is set")
    return BinanceKeys(api_key=key, api_secret=secret)


def load_secrets(mode: Mode, environ: Mapping[str, str] | None = None) -> Secrets:
    """Read the secrets ``mode`` needs. Paper reads no Binance keys at all."""
    env = os.environ if environ is None else environ
    live = _pair("binance_api_key", "binance_api_secret", env)
    testnet = _pair("binance_testnet_api_key", "binance_testnet_api_secret", env)
    binance: BinanceKeys | None
    other: BinanceKeys | None
    if mode is Mode.LIVE:
        binance, other = live, testnet
    elif mode is Mode.TESTNET:
        binance, other = (testnet, live) if testnet is not None else (live, None)
    elif mode is Mode.SIM:
        # The local simulator accepts its own well-known key pair by default.
        binance, other = testnet or live or SIM_KEYS, None
    else:  # PAPER holds no trading keys whatever is configured: drop them
        binance, other = None, None
    return Secrets(
        binance=binance,
        binance_other_env=other,
        slack_webhook_url=_slack_webhook(env),
        telegram_bot_token=_read("telegram_bot_token", env),
        ignored_binance_keys=mode is Mode.PAPER and (live is not None or testnet is not None),
    )
