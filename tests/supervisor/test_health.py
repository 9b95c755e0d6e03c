"""Health: degraded conditions are reported but never withhold watchdog pings."""

from __future__ import annotations

from hedgegridd.supervisor.health import Health
from hedgegridd.supervisor.settings import WatchdogSettings


def test_degraded_conditions_are_reported_and_pings_continue() -> None:
    """A venue condition shows in the report; ``ok`` (the ping gate) stays true."""
    health = Health(WatchdogSettings(), clock=lambda: 100.0)
    assert health.set_condition("hedge_mode_lost", True, "dual false") is True
    assert health.set_condition("hedge_mode_lost", True, "dual false") is False
    report = health.evaluate()
    assert report.ok is True
    assert report.degraded == ("hedge_mode_lost",)
    assert health.degraded is True
    assert health.conditions() == {"hedge_mode_lost": "dual false"}
    assert health.set_condition("hedge_mode_lost", False) is True
    assert health.set_condition("hedge_mode_lost", False) is False
    assert health.evaluate().degraded == ()
    assert health.degraded is False


def test_a_real_fault_still_withholds_pings_while_degraded() -> None:
    """Conditions do not mask a failed bound: a disconnected engine still fails the report."""
    health = Health(WatchdogSettings(), clock=lambda: 100.0)
    health.set_condition("venue_unreachable", True)
    health.set_engines_probe(lambda: False)
    report = health.evaluate()
    assert report.ok is False
    assert report.reasons == ("engines_disconnected",)
    assert report.degraded == ("venue_unreachable",)
