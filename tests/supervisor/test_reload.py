"""Tests of SIGHUP/ctl reload: what is applied at runtime and what needs a restart."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from hedgegridd.errors import ConfigError
from hedgegridd.supervisor.runtime import Reloader
from hedgegridd.supervisor.settings import load_settings
from hedgegridd.supervisor.state import AsyncStateStore
from hedgegridd.supervisor.systemd import Notifier
from hedgegridd.venues.config import LIVE_ACKNOWLEDGEMENT
from hedgegridd.venues.guards import BinanceKeys, check_mode_guards

from .notify_listener import NotifyListener


class FakeHandle:
    """Records set_throttle calls (the only handle call reload makes)."""

    def __init__(self) -> None:
        self.throttles: list[Decimal] = []

    def set_throttle(self, value: Decimal) -> None:
        self.throttles.append(value)


class FakeComponent:
    def __init__(self) -> None:
        self.configs: list[Any] = []

    def reconfigure(self, config: Any) -> None:
        self.configs.append(config)


@pytest.mark.asyncio
async def test_reload_applies_runtime_keys_and_reports_the_rest(tmp_path: Path) -> None:
    """Throttle and kill-switch thresholds apply live; other keys are reported as restart-only."""
    config = tmp_path / "d.toml"
    config.write_text('[killswitch]\nmax_drawdown_pct = "10"\n')
    listener = NotifyListener(tmp_path / "n.sock")
    store = await AsyncStateStore.open(tmp_path / "s.db")
    handle, killswitch = FakeHandle(), FakeComponent()
    reloader = Reloader(
        config_path=config,
        settings=load_settings(config),
        notifier=Notifier({"NOTIFY_SOCKET": str(listener.path)}),
        store=store,
        handle=lambda: handle,  # type: ignore[arg-type,return-value]
        components={"killswitch": killswitch, "alerts": None},
        guards=lambda _settings: None,
    )
    config.write_text(
        '[strategy]\nthrottle = "0.3"\n'
        '[killswitch]\nmax_drawdown_pct = "7"\nmax_margin_ratio = "0.5"\n'
        "[warmup]\nhistory_bars = 10\n"
    )
    applied, restart = await reloader.reload("signal:SIGHUP")
    assert set(applied) == {
        "strategy.throttle",
        "killswitch.max_drawdown_pct",
        "killswitch.max_margin_ratio",
    }
    assert restart == ("warmup.history_bars",)
    assert handle.throttles == [Decimal("0.3")]
    assert len(killswitch.configs) == 1
    assert killswitch.configs[0].max_drawdown_pct == Decimal("7")
    assert await store.get_decimal("throttle") == Decimal("0.3")
    lines = listener.lines()
    assert lines[0] == "RELOADING=1"
    assert lines[1].startswith("MONOTONIC_USEC=")
    assert lines[-1] == "READY=1"
    entry = (await store.recent_journal(1))[0]
    assert entry.kind == "reload"
    assert entry.actor == "signal:SIGHUP"
    assert "warmup.history_bars" in entry.details["restart_required"]
    # A second reload of the same file changes nothing more.
    applied, restart = await reloader.reload("ctl")
    assert applied == ()
    assert restart == ("warmup.history_bars",)
    await store.aclose()
    listener.close()


@pytest.mark.asyncio
async def test_bad_config_on_reload_changes_nothing(tmp_path: Path) -> None:
    """A reload of an invalid file raises ConfigError, applies nothing and returns to READY."""
    config = tmp_path / "d.toml"
    config.write_text("")
    listener = NotifyListener(tmp_path / "n.sock")
    store = await AsyncStateStore.open(tmp_path / "s.db")
    handle = FakeHandle()
    reloader = Reloader(
        config_path=config,
        settings=load_settings(config),
        notifier=Notifier({"NOTIFY_SOCKET": str(listener.path)}),
        store=store,
        handle=lambda: handle,  # type: ignore[arg-type,return-value]
        components={},
        guards=lambda _settings: None,
    )
    config.write_text('[strategy]\nthrottle = "3"\n')
    with pytest.raises(ConfigError, match=r"strategy\.throttle"):
        await reloader.reload("ctl")
    assert handle.throttles == []
    assert listener.lines()[-1] == "READY=1"
    await store.aclose()
    listener.close()


LIVE = f"""mode = "live"
[venue]
live_acknowledgement = "{LIVE_ACKNOWLEDGEMENT}"
[killswitch]
enabled = true
max_drawdown_pct = "10"
"""
KEYS = BinanceKeys(api_key=SecretStr("live-key-1"), api_secret=SecretStr("live-secret-1"))


def _live_guards(settings: Any) -> None:
    check_mode_guards(
        settings.mode, settings.venue, settings.killswitch, keys=KEYS, other_env_keys=None
    )


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (LIVE.replace("enabled = true", "enabled = false"), r"killswitch\.enabled"),
        (LIVE.replace('max_drawdown_pct = "10"', 'max_drawdown_pct = "-1"'), r"max_drawdown_pct"),
        (LIVE + "fail_closed_after_checks = 0\n", r"killswitch\.fail_closed_after_checks"),
        (
            LIVE.replace("[venue]", '[venue]\nbase_url_http = "https://testnet.binancefuture.com"'),
            r"venue\.base_url_http",
        ),
        (LIVE.replace('mode = "live"', 'mode = "paper"'), r"^mode: cannot change"),
    ],
    ids=["killswitch-off", "bad-limit", "fail-open", "testnet-url", "mode-change"],
)
@pytest.mark.asyncio
async def test_reload_refuses_what_start_would_refuse_for_the_mode(
    tmp_path: Path, edit: str, key: str
) -> None:
    """In live mode reload refuses, naming the key, anything start refuses; nothing applies."""
    config = tmp_path / "d.toml"
    config.write_text(LIVE)
    settings = load_settings(config)
    _live_guards(settings)  # the running file passes the start guards
    listener = NotifyListener(tmp_path / "n.sock")
    store = await AsyncStateStore.open(tmp_path / "s.db")
    killswitch = FakeComponent()
    reloader = Reloader(
        config_path=config,
        settings=settings,
        notifier=Notifier({"NOTIFY_SOCKET": str(listener.path)}),
        store=store,
        handle=lambda: None,
        components={"killswitch": killswitch},
        guards=_live_guards,
    )
    config.write_text(edit + '[strategy]\nthrottle = "0.5"\n')
    with pytest.raises(ConfigError, match=key):
        await reloader.reload("ctl")
    assert killswitch.configs == []  # nothing applied, not even the valid throttle
    assert reloader.settings == settings
    assert listener.lines()[-1] == "READY=1"
    await store.aclose()
    listener.close()
