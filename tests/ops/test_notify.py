"""Notifications: fills, digests and the daily summary on the real alert channels."""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass, field
from decimal import Decimal

import anyio
import pytest
from pydantic import SecretStr

from hedgegridd.errors import ConfigError
from hedgegridd.ops.alert_channels import AlertSecrets
from hedgegridd.ops.alerts import AlertManager
from hedgegridd.ops.config import AlertsConfig, Severity, SlackRoute, TelegramRoute
from hedgegridd.ops.notify import Keys, Notifier, next_daily_s
from hedgegridd.ops.notify_config import NotifyConfig
from hedgegridd.ops.notify_model import FillNote, TripBook
from hedgegridd.strategy.handle import SideSnapshot, StrategySnapshot, TradingState
from hedgegridd.supervisor.settings import load_settings
from tests.ops.fake_services import FakeSlack, FakeTelegram
from tests.ops.helpers import until

D = Decimal
T0 = dt.datetime(2026, 12, 3, 18, 0, tzinfo=dt.UTC).timestamp()


def fill(n: int, side: str = "LONG", order_side: str = "BUY", **kw: object) -> FillNote:
    """A fill of order ``HG-<n>`` at 60000 for 0.002 with a 0.024 fee."""
    base: dict[str, object] = {
        "ts_ns": int(T0 * 1e9) + n,
        "instrument": "BTCUSDT-PERP.BINANCE",
        "client_order_id": f"HG-EL{n}-1-{n}",
        "trade_id": f"T{n}",
        "side": side,
        "order_side": order_side,
        "kind": "entry",
        "price": D("60000"),
        "quantity": D("0.002"),
        "commission": D("0.024"),
    }
    base.update(kw)
    return FillNote(**base)  # type: ignore[arg-type]


@dataclass
class Figures:
    """The strategy figures the notifier samples (a mutable stand-in for the snapshot)."""

    realized: D = field(default_factory=lambda: D("100"))
    unrealized: D = field(default_factory=lambda: D("0"))
    equity: D | None = field(default_factory=lambda: D("10000"))
    rate: D | None = field(default_factory=lambda: D("0.0001"))
    next_funding_ns: int | None = None
    long_notional: D = field(default_factory=lambda: D("0"))

    def snapshot(self) -> StrategySnapshot:
        def side(name: str, notional: D) -> SideSnapshot:
            return SideSnapshot(name, D(0), None, D(0), notional, 0, D(0), D(0))

        return StrategySnapshot(
            instrument_id="BTCUSDT-PERP.BINANCE",
            state=TradingState.RUNNING,
            pause_reasons=(),
            regime="SIDEWAYS",
            center_price=None,
            last_price=None,
            throttle=D(1),
            long=side("LONG", self.long_notional),
            short=side("SHORT", D(0)),
            realized_pnl=self.realized,
            unrealized_pnl=self.unrealized,
            equity=self.equity,
            peak_equity=None,
            margin_ratio=None,
            funding_rate=self.rate,
            next_funding_ns=self.next_funding_ns,
            last_bar_ns=None,
            fills=0,
            circuit_breaker_trips=0,
        )


class Clock:
    """An injectable wall clock (epoch seconds) the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """An AlertSink that records what it is given."""

    def __init__(self) -> None:
        self.alerts: list[tuple[str, Severity, str, str, dict[str, str]]] = []

    def notify(self, key, severity, title, text="", fields=None) -> None:  # type: ignore[no-untyped-def]
        self.alerts.append((key, severity, title, text, dict(fields or {})))


def both_routes(slack: FakeSlack, tg: FakeTelegram, **kw: object) -> AlertManager:
    """A real AlertManager delivering info and above to the local Slack and Telegram."""
    cfg = AlertsConfig(
        instance="hg-notify",
        slack=SlackRoute(min_severity=Severity.INFO),
        telegram=TelegramRoute(
            chat_id="-1001", api_base_url=tg.base_url, min_severity=Severity.INFO
        ),
        **kw,  # type: ignore[arg-type]
    )
    secrets = AlertSecrets(
        slack_webhook_url=SecretStr(slack.webhook_url), telegram_bot_token=SecretStr(tg.token)
    )
    return AlertManager(cfg, secrets)


@pytest.mark.asyncio
async def test_a_fill_reaches_slack_and_telegram_in_their_wire_format() -> None:
    """One fill in 'each' mode is one Slack webhook post and one Telegram sendMessage."""
    async with FakeSlack() as slack, FakeTelegram() as tg:
        mgr = both_routes(slack, tg)
        clock = Clock()
        notifier = Notifier(NotifyConfig(enabled=True, fills="each"), mgr, clock=clock)
        async with anyio.create_task_group() as group:
            await group.start(mgr.run)
            await group.start(notifier.run)
            notifier.push(fill(1))
            await until(lambda: mgr.sent["slack"] == 1 and mgr.sent["telegram"] == 1)
            group.cancel_scope.cancel()
    assert notifier.fills_seen == 1
    assert slack.problems == []
    assert tg.problems == []
    (slack_req,) = slack.requests
    assert "fill: BUY 0.002 LONG @ 60000 (entry) fee 0.024" in slack_req["text"]
    assert "hg-notify" in slack_req["text"]
    assert "order: HG-EL1-1-1" in slack_req["text"]
    (tg_req,) = tg.requests
    assert tg_req["chat_id"] == "-1001"
    assert tg_req["parse_mode"] == "HTML"
    assert "BUY 0.002 LONG @ 60000" in tg_req["text"]


@pytest.mark.asyncio
async def test_routes_drop_notifications_below_their_min_severity() -> None:
    """A Telegram route at warning gets no info notification; Slack at info does."""
    async with FakeSlack() as slack, FakeTelegram() as tg:
        cfg = AlertsConfig(
            slack=SlackRoute(min_severity=Severity.INFO),
            telegram=TelegramRoute(chat_id="7", api_base_url=tg.base_url),
        )
        secrets = AlertSecrets(
            slack_webhook_url=SecretStr(slack.webhook_url), telegram_bot_token=SecretStr(tg.token)
        )
        mgr = AlertManager(cfg, secrets)
        notifier = Notifier(NotifyConfig(enabled=True, fills="each"), mgr, clock=Clock())
        async with anyio.create_task_group() as group:
            await group.start(mgr.run)
            notifier.push(fill(1))
            notifier.tick(T0 + 1)
            await until(lambda: mgr.sent["slack"] == 1)
            group.cancel_scope.cancel()
    assert len(slack.requests) == 1
    assert tg.requests == []


def test_digest_batches_fills_into_one_message_per_interval() -> None:
    """Five fills within a 15-minute digest go out as one message when the interval ends."""
    sink = Recorder()
    clock = Clock()
    notifier = Notifier(
        NotifyConfig(enabled=True, fills="digest", digest_interval_min=15), sink, clock=clock
    )
    notifier.start(T0)
    for n in range(5):
        notifier.push(fill(n))
        notifier.tick(T0 + 60 * (n + 1))
    assert notifier.fills_seen == 5
    assert sink.alerts == []
    notifier.push(fill(5, side="LONG", order_side="SELL", kind="tp", price=D("60300")))
    notifier.tick(T0 + 15 * 60)
    assert notifier.fills_seen == 6
    (alert,) = sink.alerts
    key, severity, title, text, fields = alert
    assert key == Keys.DIGEST
    assert severity is Severity.INFO
    assert title == "digest: 6 fills in the last 15 min"
    assert text.count("BUY 0.002 LONG @ 60000") == 5
    assert "SELL 0.002 LONG @ 60300 (tp)" in text
    assert fields["fills"] == "6"
    assert fields["round_trips"] == "1"
    # 0.002 * 300 gross - 0.024 exit fee - 0.024 pro-rata entry fees
    assert fields["round_trip_pnl"] == "+0.5520"
    notifier.tick(T0 + 16 * 60)
    notifier.tick(T0 + 31 * 60)
    assert len(sink.alerts) == 1  # nothing new: no empty digest


def test_daily_summary_fires_at_the_configured_utc_time_with_its_figures() -> None:
    """At 18:30 UTC the summary carries PnL, fees, funding, round trips and max drawdown."""
    sink = Recorder()
    figures = Figures(long_notional=D("1000"), next_funding_ns=1)
    clock = Clock()
    notifier = Notifier(
        NotifyConfig(enabled=True, fills="off", round_trips=False, daily_summary_utc="18:30"),
        sink,
        snapshot=figures.snapshot,
        clock=clock,
    )
    notifier.start(T0)  # 18:00
    notifier.push(fill(1))
    notifier.push(fill(2, order_side="SELL", kind="tp", price=D("60600")))
    figures.equity = D("10500")
    notifier.tick(T0 + 60)
    figures.equity = D("9975")  # 5 % under the 10500 peak
    figures.next_funding_ns = 2  # a settlement: long 1000 notional at 0.0001 pays 0.1
    notifier.tick(T0 + 120)
    figures.equity = D("10200")
    figures.realized = D("101.15")
    notifier.tick(T0 + 29 * 60)
    assert sink.alerts == []
    notifier.tick(T0 + 30 * 60)
    (alert,) = sink.alerts
    key, _severity, title, _text, fields = alert
    assert key == Keys.DAILY
    assert title == "daily summary 2026-12-03"
    assert fields["period"] == "2026-12-03 18:00 UTC .. 2026-12-03 18:30 UTC"
    assert fields["fills"] == "2"
    assert fields["round_trips"] == "1"
    assert fields["round_trip_pnl"] == "+1.1520"
    assert fields["fees"] == "-0.0480"
    assert fields["funding_est"] == "-0.1000"
    assert fields["max_drawdown_pct"] == "5.00"
    assert fields["realized_pnl"] == "+1.1500"
    assert fields["equity"] == "+10200.0000"
    notifier.tick(T0 + 31 * 60)
    assert len(sink.alerts) == 1  # once a day
    notifier.tick(T0 + 30 * 60 + 86_400)
    assert len(sink.alerts) == 2
    assert sink.alerts[1][2] == "daily summary 2026-12-04"
    assert sink.alerts[1][4]["fills"] == "0"


def test_a_replayed_fill_is_notified_once() -> None:
    """The same (order, trade) delivered twice (a venue replay) is one notification."""
    sink = Recorder()
    notifier = Notifier(NotifyConfig(enabled=True, fills="each"), sink, clock=Clock())
    notifier.start(T0)
    notifier.push(fill(1))
    notifier.tick(T0 + 1)
    notifier.push(fill(1))
    notifier.tick(T0 + 2)
    assert notifier.fills_seen == 1
    assert [a[0] for a in sink.alerts] == [Keys.FILL]


@pytest.mark.asyncio
async def test_alert_rate_limit_and_dedup_apply_to_notifications() -> None:
    """Notifications go through the alert manager's per-key rate limit and deduplication."""
    async with FakeSlack() as slack, FakeTelegram() as tg:
        mgr = both_routes(slack, tg, rate_limit_count=2)
        notifier = Notifier(NotifyConfig(enabled=True, fills="each"), mgr, clock=Clock())
        notifier.start(T0)
        for n in range(3):
            notifier.push(fill(n))
            notifier.tick(T0 + n + 1)
        assert notifier.sent[Keys.FILL] == 3
        assert mgr.queued == 2
        assert mgr.suppressed["rate_limit"] == 1
        mgr.notify(Keys.DAILY, Severity.INFO, "daily summary 2026-12-03")
        mgr.notify(Keys.DAILY, Severity.INFO, "daily summary 2026-12-03")
        assert mgr.suppressed["dedup"] == 1


def test_round_trip_book_matches_the_backtest_convention() -> None:
    """Two entries then a partial close: PnL against the average, pro-rata entry fees."""
    book = TripBook()
    assert book.apply(fill(1, price=D("100"), quantity=D("1"), commission=D("0.1"))) is None
    assert book.apply(fill(2, price=D("110"), quantity=D("1"), commission=D("0.1"))) is None
    trip = book.apply(
        fill(3, order_side="SELL", price=D("120"), quantity=D("1"), commission=D("0.2"))
    )
    assert trip is not None
    assert trip.entry_price == D("105")
    assert trip.pnl == D("15") - D("0.2") - D("0.1")
    short = book.apply(fill(4, side="SHORT", order_side="BUY", price=D("90")))
    assert short is not None
    assert short.quantity == 0  # nothing held on SHORT: no PnL


def test_next_daily_is_strictly_after_now() -> None:
    """The daily time of today if still ahead, else tomorrow's."""
    assert next_daily_s(T0, 18 * 60 + 30) == T0 + 30 * 60
    assert next_daily_s(T0, 18 * 60) == T0 + 86_400
    assert next_daily_s(T0, 60) == T0 + 86_400 - 17 * 3600


def test_notify_config_is_validated_at_the_edge(tmp_path) -> None:
    """[notify] in the daemon config: HH:MM and the fills mode are checked."""
    path = tmp_path / "hedgegridd.toml"
    path.write_text('[notify]\nenabled = true\nfills = "each"\ndaily_summary_utc = "07:15"\n')
    settings = load_settings(path)
    assert settings.notify.fills == "each"
    assert settings.notify.daily_minute == 7 * 60 + 15
    path.write_text('[notify]\ndaily_summary_utc = "25:00"\n')
    with pytest.raises(ConfigError, match=r"notify\.daily_summary_utc"):
        load_settings(path)
    path.write_text('[notify]\nfills = "sometimes"\n')
    with pytest.raises(ConfigError, match=r"notify\.fills"):
        load_settings(path)
    assert NotifyConfig(severity="warning").severity is Severity.WARNING  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_dead_channel_holds_only_the_alert_queue() -> None:
    """Slack accepting connections but never answering: ticks still book and queue every fill."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as dead:
        dead.bind(("127.0.0.1", 0))
        dead.listen(16)  # never accepted, never answered
        port = dead.getsockname()[1]
        cfg = AlertsConfig(slack=SlackRoute(min_severity=Severity.INFO), request_timeout_s=120)
        mgr = AlertManager(
            cfg, AlertSecrets(slack_webhook_url=SecretStr(f"http://127.0.0.1:{port}/hook"))
        )
        notifier = Notifier(NotifyConfig(enabled=True, fills="each"), mgr, clock=Clock())
        async with anyio.create_task_group() as group:
            await group.start(mgr.run)
            notifier.start(T0)
            notifier.push(fill(0))
            notifier.tick(T0 + 1)
            await until(lambda: mgr.queued == 0)  # the sender took it and is stuck on Slack
            for n in range(1, 4):
                notifier.push(fill(n))
                notifier.tick(T0 + n + 1)
            assert notifier.fills_seen == 4
            assert notifier.sent[Keys.FILL] == 4
            assert mgr.queued == 3
            assert mgr.sent["slack"] == 0
            group.cancel_scope.cancel()


def test_supervisor_builds_the_notifier_and_warns_when_no_route_carries_it(log_events) -> None:
    """[notify] enabled with routes at warning: built, and notify.no_route names the fix."""
    from hedgegridd.supervisor.components import _build_notifier
    from hedgegridd.supervisor.health import Health
    from hedgegridd.supervisor.settings import Settings

    settings = Settings.model_validate(
        {
            "notify": {"enabled": True},
            "alerts": {"telegram": {"chat_id": "1", "min_severity": "warning"}},
        }
    )
    alerts = AlertManager(settings.alerts)
    figures = Figures()
    notifier = _build_notifier(settings, alerts, figures, Health(settings.watchdog))  # type: ignore[arg-type]
    assert isinstance(notifier, Notifier)
    events = {e["event"]: e for e in log_events.entries}
    assert events["notify.no_route"]["severity"] == "INFO"
    assert events["notify.configured"]["routes"] == []
    log_events.entries.clear()
    info = Settings.model_validate(
        {
            "notify": {"enabled": True},
            "alerts": {"telegram": {"chat_id": "1", "min_severity": "info"}},
        }
    )
    assert _build_notifier(info, alerts, figures, Health(info.watchdog)) is not None  # type: ignore[arg-type]
    events = {e["event"]: e for e in log_events.entries}
    assert "notify.no_route" not in events
    assert events["notify.configured"]["routes"] == ["telegram"]
    off = Settings.model_validate({"notify": {"enabled": False}})
    assert _build_notifier(off, alerts, figures, Health(off.watchdog)) is None  # type: ignore[arg-type]


def test_flush_sends_pending_fills_in_each_mode() -> None:
    """At shutdown, fills pushed since the last tick still go out."""
    sink = Recorder()
    notifier = Notifier(NotifyConfig(enabled=True, fills="each"), sink, clock=Clock())
    notifier.start(T0)
    notifier.push(fill(1))
    notifier.flush()
    assert [a[0] for a in sink.alerts] == [Keys.FILL]
