"""Ops configs: defaults, validation messages, loopback-only metrics bind."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest
from pydantic import ValidationError

from hedgegridd.ops.config import AlertsConfig, KillSwitchConfig, MetricsConfig, Severity


def test_killswitch_defaults_use_two_of_three() -> None:
    """The default breach rule is 2 breaching checks out of the last 3."""
    cfg = KillSwitchConfig()
    assert (cfg.breaches_required, cfg.breach_window) == (2, 3)
    assert cfg.drawdown_basis == "peak_equity"


def test_killswitch_rejects_required_above_window() -> None:
    """breaches_required larger than the window is refused with both field names."""
    with pytest.raises(ValidationError) as err:
        KillSwitchConfig(breaches_required=4, breach_window=3)
    assert "breaches_required" in str(err.value)
    assert "breach_window" in str(err.value)


def test_killswitch_starting_balance_basis_needs_a_balance() -> None:
    """The starting-balance drawdown basis cannot be chosen without the balance."""
    with pytest.raises(ValidationError, match="starting_balance"):
        KillSwitchConfig(drawdown_basis="starting_balance")
    cfg = KillSwitchConfig(drawdown_basis="starting_balance", starting_balance=Decimal(10000))
    assert cfg.starting_balance == Decimal(10000)


def test_killswitch_margin_ratio_range_is_named() -> None:
    """A margin ratio limit above 1 is refused naming the field."""
    with pytest.raises(ValidationError, match="max_margin_ratio"):
        KillSwitchConfig(max_margin_ratio=Decimal("1.5"))


def test_configs_are_frozen_and_forbid_unknown_keys() -> None:
    """Configs cannot be mutated and unknown keys (typos) are errors."""
    cfg = KillSwitchConfig()
    with pytest.raises(ValidationError):
        cfg.check_interval_s = 5.0  # type: ignore[misc]
    with pytest.raises(ValidationError, match="check_intervl_s"):
        KillSwitchConfig.model_validate({"check_intervl_s": 1})


def test_alerts_config_from_toml_parses_severity_names() -> None:
    """Alert routes load from TOML with severities by name and carry no secrets."""
    doc = tomllib.loads(
        """
        min_severity = "info"
        [slack]
        min_severity = "critical"
        [telegram]
        chat_id = "-100123"
        min_severity = "warning"
        """
    )
    cfg = AlertsConfig.model_validate(doc)
    assert cfg.slack is not None
    assert cfg.slack.min_severity is Severity.CRITICAL
    assert cfg.telegram is not None
    assert cfg.telegram.min_severity is Severity.WARNING
    assert not any("webhook" in name or "token" in name for name in AlertsConfig.model_fields)


def test_alerts_config_rejects_a_webhook_url_key() -> None:
    """A webhook URL in the TOML (a secret) is refused as an unknown key."""
    with pytest.raises(ValidationError):
        AlertsConfig.model_validate({"slack": {"webhook_url": "https://hooks.slack.com/x"}})


def test_metrics_binds_loopback_by_default() -> None:
    """The metrics endpoint defaults to 127.0.0.1."""
    assert MetricsConfig().host == "127.0.0.1"


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::"])
def test_metrics_refuses_non_loopback_unless_allowed(host: str) -> None:
    """A non-loopback bind is refused unless allow_non_loopback is set."""
    with pytest.raises(ValidationError, match="allow_non_loopback"):
        MetricsConfig(host=host)
    assert MetricsConfig(host=host, allow_non_loopback=True).host == host


def test_metrics_host_must_be_an_ip_literal() -> None:
    """A hostname is refused (it could resolve to a public address)."""
    with pytest.raises(ValidationError, match="host"):
        MetricsConfig(host="example.com")


def test_live_mode_requires_an_enabled_kill_switch_with_limits() -> None:
    """A disabled kill switch, or one without any limit, is a ConfigError in live mode."""
    from hedgegridd.errors import ConfigError

    KillSwitchConfig().require_for_mode("live")
    KillSwitchConfig(enabled=False).require_for_mode("paper")
    with pytest.raises(ConfigError, match=r"killswitch\.enabled"):
        KillSwitchConfig(enabled=False).require_for_mode("live")
    no_limits = KillSwitchConfig(max_drawdown_pct=None, max_margin_ratio=None)
    with pytest.raises(ConfigError, match="at least one limit"):
        no_limits.require_for_mode("testnet")


def test_confirm_interval_cannot_exceed_the_cadence() -> None:
    """confirm_interval_s longer than check_interval_s is refused."""
    with pytest.raises(ValidationError, match="confirm_interval_s"):
        KillSwitchConfig(check_interval_s=1, confirm_interval_s=2)
