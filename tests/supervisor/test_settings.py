"""Tests of daemon settings and secrets loading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from hedgegridd.errors import ConfigError
from hedgegridd.supervisor.secrets import load_secrets
from hedgegridd.supervisor.settings import Settings, load_settings
from hedgegridd.venues.config import Mode

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hedgegridd.toml"
    path.write_text(text)
    return path


def test_defaults_are_paper_mode() -> None:
    """Without a config file the daemon defaults to paper mode with ops enabled."""
    settings = load_settings(None)
    assert settings.mode is Mode.PAPER
    assert settings.killswitch.enabled is True
    assert settings.metrics.host == "127.0.0.1"


def test_shipped_configs_validate() -> None:
    """The shipped default config validates and is paper mode."""
    settings = load_settings(REPO / "etc/hedgegrid/hedgegridd.toml")
    assert settings.mode is Mode.PAPER


def test_env_overrides_toml_with_nested_delimiter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HEDGEGRID_SECTION__KEY overrides one TOML key and keeps the section's other keys."""
    path = _write(tmp_path, "[warmup]\nmax_attempts = 3\ntotal_deadline_s = 20\n")
    monkeypatch.setenv("HEDGEGRID_WARMUP__TOTAL_DEADLINE_S", "7")
    settings = load_settings(path)
    assert settings.warmup.total_deadline_s == 7
    assert settings.warmup.max_attempts == 3


def test_out_of_range_value_names_key_and_value(tmp_path: Path) -> None:
    """A value outside its range is a ConfigError naming the dotted key and the bad value."""
    path = _write(tmp_path, "[lifecycle]\nstop_deadline_s = 9999\n")
    with pytest.raises(ConfigError, match=r"lifecycle\.stop_deadline_s.*9999"):
        load_settings(path)


def test_unknown_key_refused(tmp_path: Path) -> None:
    """A typo'd key is refused, not ignored."""
    path = _write(tmp_path, "[watchdog]\nmax_loop_lagg_s = 1\n")
    with pytest.raises(ConfigError, match=r"watchdog\.max_loop_lagg_s: unknown key"):
        load_settings(path)


def test_secret_in_toml_is_config_error(tmp_path: Path) -> None:
    """An API key written into the TOML is refused with the key named."""
    path = _write(tmp_path, '[venue]\napi_key = "abc"\n')
    with pytest.raises(ConfigError, match=r"venue\.api_key: secrets are not allowed"):
        load_settings(path)


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    """Broken TOML and a missing file are ConfigErrors."""
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(_write(tmp_path, "mode = \n"))
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml")


def test_systemd_directories_win(tmp_path: Path) -> None:
    """STATE_DIRECTORY / RUNTIME_DIRECTORY set by systemd override [paths]."""
    settings = load_settings(None)
    env = {"STATE_DIRECTORY": f"{tmp_path}/s:{tmp_path}/other", "RUNTIME_DIRECTORY": "/run/x"}
    assert settings.state_dir(env) == tmp_path / "s"
    assert settings.runtime_dir(env) == Path("/run/x")
    assert settings.state_dir({}) == Path("/var/lib/hedgegrid")


def test_secrets_from_credentials_directory_then_env(tmp_path: Path) -> None:
    """Credential files win over the environment; empty files mean unset."""
    (tmp_path / "binance_api_key").write_text("KEYFROMFILE\n")
    (tmp_path / "binance_api_secret").write_text("SECRETFROMFILE")
    (tmp_path / "slack_webhook_url").write_text("")
    env = {
        "CREDENTIALS_DIRECTORY": str(tmp_path),
        "BINANCE_API_KEY": "envkey",
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
    }
    secrets = load_secrets(Mode.LIVE, env)
    assert secrets.binance is not None
    assert secrets.binance.api_key.get_secret_value() == "KEYFROMFILE"
    assert secrets.slack_webhook_url is not None
    assert "KEYFROMFILE" in set(secrets.values())


def test_paper_never_holds_binance_keys(tmp_path: Path) -> None:
    """Paper mode drops any configured Binance keys and says so."""
    env = {"BINANCE_API_KEY": "k" * 10, "BINANCE_API_SECRET": "s" * 10}
    secrets = load_secrets(Mode.PAPER, env)
    assert secrets.binance is None
    assert secrets.ignored_binance_keys is True


def test_half_a_key_pair_is_config_error() -> None:
    """An API key without its secret is a ConfigError naming the missing credential."""
    with pytest.raises(ConfigError, match="binance_api_secret"):
        load_secrets(Mode.LIVE, {"BINANCE_API_KEY": "abcdef"})


def test_live_example_passes_live_guards() -> None:
    """The shipped live example validates and passes the live guards given keys."""
    from pydantic import SecretStr

    from hedgegridd.venues.guards import BinanceKeys, check_venue

    settings = load_settings(REPO / "etc/hedgegrid/hedgegridd-live.example.toml")
    assert settings.mode is Mode.LIVE
    keys = BinanceKeys(api_key=SecretStr("abcdefgh"), api_secret=SecretStr("ijklmnop"))
    check_venue(
        settings.mode,
        settings.venue,
        keys=keys,
        other_env_keys=None,
        killswitch_enabled=settings.killswitch.enabled,
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/T000/B000/XXXXsecretXXXX",  # plain http off-host
        "hooks.slack.com/services/T000/B000/XXXXsecretXXXX",  # no scheme
        "ftp://example.org/XXXXsecretXXXX",
    ],
)
def test_slack_webhook_must_be_https_and_is_never_echoed(url: str) -> None:
    """A non-https Slack webhook is a config error whose message does not show the URL."""
    with pytest.raises(ConfigError) as err:
        load_secrets(Mode.PAPER, {"SLACK_WEBHOOK_URL": url})
    assert "slack_webhook_url" in str(err.value)
    assert "XXXXsecretXXXX" not in str(err.value)


def test_slack_webhook_https_or_loopback_http_accepted() -> None:
    """https webhooks, and plain http to a loopback receiver (tests, relays), are accepted."""
    for url in ("https://hooks.slack.com/services/T0/B0/x", "http://127.0.0.1:8080/services/x"):
        secrets = load_secrets(Mode.PAPER, {"SLACK_WEBHOOK_URL": url})
        assert secrets.slack_webhook_url is not None
        assert secrets.slack_webhook_url.get_secret_value() == url


def _settings_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, info in model.model_fields.items():
        candidates = (*getattr(info.annotation, "__args__", ()), info.annotation)
        sub = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        keys += _settings_keys(sub, f"{prefix}{name}.") if sub else [prefix + name]
    return keys


def test_shipped_config_documents_every_settings_key() -> None:
    """etc/hedgegrid/hedgegridd.toml names every settings key (set or commented out)."""
    text = (REPO / "etc" / "hedgegrid" / "hedgegridd.toml").read_text()
    section, documented = "", set()
    for raw in text.splitlines():
        line = raw.lstrip("# ").strip()
        if m := re.fullmatch(r"\[([a-z_.]+)\]", line):
            section = m.group(1) + "."
        elif m := re.match(r"([a-z_]+)\s*=", line):
            documented.add(section + m.group(1) if section else m.group(1))
    missing = [k for k in _settings_keys(Settings) if k not in documented]
    assert missing == []
