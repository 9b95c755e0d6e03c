"""Risk gate: pause, drawdown from a restored peak, circuit breaker cycle, size, staleness."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgegridd.core import BreakerEvent, DenyReason, RiskGate, RiskSpec

D = Decimal
S = 1_000_000_000
SPEC = RiskSpec(
    max_drawdown_pct=D(10),
    max_rejections=3,
    rejection_window_ns=60 * S,
    cooldown_ns=300 * S,
    max_position_qty=D("0.1"),
    stale_after_ns=120 * S,
)


def _fresh(peak: Decimal | None = None) -> RiskGate:
    gate = RiskGate(SPEC, peak_equity=peak)
    gate.on_bar(0)
    return gate


def test_fresh_gate_allows_entries() -> None:
    """With fresh data and nothing wrong, entries are allowed."""
    assert _fresh().check_entries(S).allowed


def test_pause_reasons_accumulate_and_resume() -> None:
    """Pauses deny entries until every reason is resumed ("*" clears all)."""
    gate = _fresh()
    gate.pause("operator")
    gate.pause("degraded")
    assert gate.check_entries(S).reasons == (DenyReason.PAUSED,)
    gate.resume("operator")
    assert gate.pause_reasons == ("degraded",)
    gate.resume("*")
    assert gate.check_entries(S).allowed


def test_drawdown_uses_restored_peak_and_unrealized_equity() -> None:
    """Drawdown is measured from the peak passed in (from storage), not from the first equity."""
    gate = _fresh(peak=D(10_000))
    status = gate.update_equity(D(8_900))  # equity incl. unrealized PnL
    assert status.peak == D(10_000)
    assert status.drawdown_pct == D(11)
    assert status.breached
    assert status.newly_breached
    assert not status.peak_changed
    assert DenyReason.DRAWDOWN in gate.check_entries(S).reasons
    again = gate.update_equity(D(9_950))
    assert not again.newly_breached
    assert DenyReason.DRAWDOWN in gate.check_entries(S).reasons  # latched
    assert gate.clear_drawdown(D(9_950)) == D(9_950)
    assert gate.check_entries(S).allowed


def test_peak_rises_and_reports_change() -> None:
    """A new high moves the peak and tells the caller to persist it."""
    gate = _fresh(peak=D(100))
    status = gate.update_equity(D(120))
    assert status.peak_changed
    assert gate.peak_equity == D(120)


def test_zero_or_negative_peak_never_divides_by_zero() -> None:
    """A zero peak yields a zero drawdown rather than a ZeroDivisionError."""
    gate = _fresh(peak=D(0))
    assert gate.update_equity(D(0)).drawdown_pct == 0


def test_circuit_breaker_trip_cooldown_reset_cycle() -> None:
    """N distinct rejections in the window trip it; entries denied for cooldown; then RESET."""
    gate = _fresh()
    assert gate.record_rejection("LONG:1", 1 * S) is BreakerEvent.NONE
    assert gate.record_rejection("LONG:2", 2 * S) is BreakerEvent.NONE
    assert gate.record_rejection("LONG:3", 3 * S) is BreakerEvent.TRIPPED
    assert gate.trips == 1
    assert DenyReason.CIRCUIT_BREAKER in gate.check_entries(4 * S).reasons
    assert gate.poll(100 * S) is BreakerEvent.NONE
    assert gate.poll(303 * S) is BreakerEvent.RESET
    gate.on_bar(303 * S)
    assert gate.check_entries(303 * S).allowed
    assert gate.rejections_in_window(303 * S) == 0


def test_retries_of_same_order_count_once() -> None:
    """Rejections of one logical order (retries) count once within the window."""
    gate = _fresh()
    for i in range(10):
        assert gate.record_rejection("LONG:1", i * S) is BreakerEvent.NONE
    assert gate.rejections_in_window(10 * S) == 1


def test_rejections_outside_window_expire() -> None:
    """Rejections older than rejection_window_ns no longer count."""
    gate = _fresh()
    gate.record_rejection("a", 0)
    gate.record_rejection("b", 1 * S)
    now = 60 * S + S // 2
    assert gate.record_rejection("c", now) is BreakerEvent.NONE  # "a" expired, "b" still in
    assert gate.rejections_in_window(now) == 2


def test_position_size_counts_existing_pending_and_new() -> None:
    """existing + pending + new above max_position_qty is denied."""
    gate = _fresh()
    ok = gate.check_entry_order(
        existing_qty=D("0.05"), pending_qty=D("0.03"), new_qty=D("0.02"), now_ns=S
    )
    assert ok.allowed
    bad = gate.check_entry_order(
        existing_qty=D("0.05"), pending_qty=D("0.03"), new_qty=D("0.021"), now_ns=S
    )
    assert bad.reasons == (DenyReason.POSITION_LIMIT,)


def test_stale_and_missing_data_deny() -> None:
    """No bar yet, or a last bar older than stale_after_ns, denies entries."""
    gate = RiskGate(SPEC)
    assert gate.check_entries(S).reasons == (DenyReason.NO_DATA,)
    gate.on_bar(10 * S)
    gate.on_bar(5 * S)  # never moves backwards
    assert gate.check_entries(130 * S).allowed
    assert gate.check_entries(131 * S).reasons == (DenyReason.STALE_DATA,)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=400), st.sampled_from("abcdef")),
        max_size=40,
    )
)
def test_breaker_cycle_property(events: list[tuple[int, str]]) -> None:
    """Trips happen only at max_rejections distinct keys in-window; RESET only after cooldown."""
    gate = _fresh()
    now = 0
    tripped_at: int | None = None
    for dt, key in events:
        now += dt * S // 10
        if gate.poll(now) is BreakerEvent.RESET:
            assert tripped_at is not None
            assert now - tripped_at >= SPEC.cooldown_ns
            tripped_at = None
        before = gate.rejections_in_window(now)
        event = gate.record_rejection(key, now)
        if event is BreakerEvent.TRIPPED:
            assert tripped_at is None
            assert before == SPEC.max_rejections - 1
            tripped_at = now
        assert gate.breaker_tripped == (tripped_at is not None)
