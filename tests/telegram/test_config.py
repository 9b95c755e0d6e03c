"""``[telegram]`` validated at the edge; enabled without the token credential refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from hedgegridd.errors import ConfigError
from hedgegridd.supervisor.settings import load_settings
from hedgegridd.telegram.config import TelegramConfig, require_token

REPO = Path(__file__).resolve().parents[2]
TOKEN = "555:check-config-token-never-printed"


def test_defaults_are_disabled_and_https() -> None:
    """Off by default, pointing at the real Bot API."""
    config = TelegramConfig()
    assert config.enabled is False
    assert config.api_base_url == "https://api.telegram.org"


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"api_base_url": "http://api.telegram.org"}, "api_base_url"),
        ({"api_base_url": "ftp://127.0.0.1"}, "api_base_url"),
        ({"api_base_url": "https://x.org/?a=1"}, "api_base_url"),
        ({"admin_chat_ids": [1], "readonly_chat_ids": [1]}, "both admin_chat_ids"),
        ({"enabled": True}, "at least one chat"),
        ({"confirm_ttl_s": 0}, "confirm_ttl_s"),
        ({"poll_timeout_s": 90}, "poll_timeout_s"),
        ({"backoff_initial_s": 10, "backoff_max_s": 5}, "backoff_initial_s"),
        ({"admin_chat_ids": ["@channel"]}, "admin_chat_ids"),
    ],
)
def test_invalid_values_are_refused_naming_the_key(values: dict[str, object], named: str) -> None:
    """Plain http off loopback, overlapping chats, out-of-range numbers: refused."""
    with pytest.raises(ValidationError) as exc:
        TelegramConfig.model_validate(values)
    assert named in str(exc.value)


def test_loopback_http_is_allowed_for_tests() -> None:
    """A local relay or fake may use plain http on a loopback host."""
    for url in ("http://127.0.0.1:8081", "http://localhost:1/relay", "http://[::1]:80"):
        assert TelegramConfig(api_base_url=url).api_base_url == url


def test_daemon_settings_carry_the_section(tmp_path: Path) -> None:
    """``[telegram]`` in hedgegridd.toml becomes ``Settings.telegram``."""
    path = tmp_path / "hedgegridd.toml"
    path.write_text("[telegram]\nenabled = true\nadmin_chat_ids = [42]\nconfirm_ttl_s = 30\n")
    settings = load_settings(path)
    assert settings.telegram.enabled is True
    assert settings.telegram.admin_chat_ids == (42,)
    assert settings.telegram.confirm_ttl_s == 30
    path.write_text("[telegram]\nenabled = true\nadmin_chat_ids = [42]\nbogus = 1\n")
    with pytest.raises(ConfigError, match=r"telegram\.bogus"):
        load_settings(path)


def test_require_token() -> None:
    """Enabled needs the credential; disabled does not."""
    enabled = TelegramConfig(enabled=True, admin_chat_ids=(1,))
    with pytest.raises(ConfigError, match="telegram_bot_token"):
        require_token(enabled, None)
    require_token(enabled, SecretStr(TOKEN))
    require_token(TelegramConfig(), None)


def _hedgegridd(tmp_path: Path, *extra: str, token: str | None) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "hedgegridd.toml"
    config.write_text("[telegram]\nenabled = true\nadmin_chat_ids = [42]\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HEDGEGRID_", "BINANCE_", "TELEGRAM_", "CREDENTIALS_"))
    }
    env["STATE_DIRECTORY"] = str(tmp_path / "state")
    env["RUNTIME_DIRECTORY"] = str(tmp_path / "run")
    if token is not None:
        env["TELEGRAM_BOT_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "hedgegridd.supervisor.cli", "--config", str(config), *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("extra", [("--check-config",), ()])
def test_enabled_without_token_exits_78_at_check_and_start(
    tmp_path: Path, extra: tuple[str, ...]
) -> None:
    """--check-config and a real start both refuse it, naming the key and the credential."""
    done = _hedgegridd(tmp_path, *extra, token=None)
    assert done.returncode == 78, done.stderr
    assert "telegram.enabled" in done.stderr
    assert "telegram_bot_token" in done.stderr
    assert not (tmp_path / "state" / "hedgegridd.db").exists()  # refused before state


def test_check_config_passes_with_the_token_and_never_prints_it(tmp_path: Path) -> None:
    """With the credential set the config checks out; the token is not echoed."""
    done = _hedgegridd(tmp_path, "--check-config", "--log-format", "json", token=TOKEN)
    assert done.returncode == 0, done.stderr
    assert "config.ok" in done.stdout + done.stderr
    assert TOKEN not in done.stdout + done.stderr
