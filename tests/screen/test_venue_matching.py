"""The kernel's venue matches resting orders over a bar path as Nautilus' backtest venue does
(each case also runs the real Nautilus venue on the same bars)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tests.screen.venue_probe import Probe, kernel_fills, nautilus_fills

Fills = list[tuple[int, int, int]]

FLAT = (502_000, 502_000, 502_000, 502_000)  # 50200.0: the bars while the probes arrive


def _both(
    orders: Sequence[Probe],
    bars: Sequence[tuple[int, int, int, int]],
    cancels: Mapping[int, Sequence[int]] | None = None,
    timers: Sequence[int] = (),
    links: Sequence[tuple[int, int]] = (),
) -> tuple[Fills, Fills]:
    """(kernel fills, Nautilus fills) of the probes over the bars."""
    want = nautilus_fills(orders, bars, cancels, timers, links)
    assert want, "the probe must fill in Nautilus"
    return kernel_fills(orders, bars, cancels, timers, links), want


def test_limit_left_behind_fills_at_a_later_point_in_either_direction() -> None:
    """bid = ask = each point of the path: a BUY limit blocked by a deeper fill at the low
    fills at the close although the close is a move up, and on a later bar's high."""
    orders = [Probe("BUY", "LIMIT", 501_000), Probe("BUY", "LIMIT", 500_800)]
    orders.append(Probe("BUY", "LIMIT", 500_600))
    bars = [FLAT, FLAT, (502_000, 502_100, 500_500, 500_700)]
    bars += [(500_700, 500_710, 500_690, 500_680), (500_680, 500_800, 500_500, 500_550)]
    got, want = _both(orders, bars)
    assert want == [(2, 0, 501_000), (2, 1, 500_800), (4, 2, 500_600)]
    assert got == want


def test_matching_order_is_nautilus_sort_key_cut_to_64_bits() -> None:
    """Nautilus sorts on the raw price (int128) cut to int64: around 54400 the BUY limits
    match 54362.4 first, then 54495.6; 54442.3 waits for the close."""
    orders = [Probe("BUY", "LIMIT", 544_956), Probe("BUY", "LIMIT", 544_423)]
    orders.append(Probe("BUY", "LIMIT", 543_624))
    start = (546_844,) * 4
    bars = [start, start, (546_844, 547_110, 543_490, 543_837)]
    got, want = _both(orders, bars)
    assert want == [(2, 2, 543_624), (2, 0, 544_956), (2, 1, 544_423)]
    assert got == want


def test_commands_due_make_the_venue_match_every_order_at_the_close() -> None:
    """A cancel arriving after a bar makes Nautilus iterate all orders at the close: a limit
    blocked by a deeper fill at the low (= close) fills in that bar; with no command it
    waits for the next bar."""
    orders = [Probe("BUY", "LIMIT", 501_000), Probe("BUY", "LIMIT", 500_800)]
    orders.append(Probe("BUY", "LIMIT", 400_000))
    bars = [FLAT, FLAT, FLAT, (502_000, 502_100, 500_700, 500_700)]
    bars.append((500_700, 500_750, 500_650, 500_700))
    got, want = _both(orders, bars, {2: [2]})
    assert want == [(3, 0, 501_000), (3, 1, 500_800)]
    assert got == want
    got, want = _both(orders, bars)
    assert want == [(3, 0, 501_000), (4, 1, 500_800)]
    assert got == want


def test_buy_stop_before_sell_limit_at_one_point_and_stop_at_the_open_gap() -> None:
    """At one point every BUY order (a short's stop) matches before any SELL (an entry);
    a stop gapped through at the open fills at the open price."""
    orders = [Probe("SELL", "LIMIT", 502_500), Probe("BUY", "STOP", 503_000)]
    got, want = _both(orders, [FLAT, FLAT, (502_000, 503_100, 501_900, 502_050)])
    assert want == [(2, 1, 503_000), (2, 0, 502_500)]
    assert got == want
    got, want = _both(orders, [FLAT, FLAT, (503_200, 503_300, 502_900, 503_000)])
    assert want == [(2, 1, 503_200), (2, 0, 502_500)]
    assert got == want


def test_a_timer_between_bars_lets_the_venue_take_commands_before_the_next_bar() -> None:
    """Commands sent at a bar's close reach the venue at the next settlement: a timer 5 s
    later (the strategy's retry) settles them there, so a cancelled order no longer fills
    in the next bar; without a timer it still does."""
    orders = [Probe("BUY", "LIMIT", 501_000), Probe("BUY", "LIMIT", 500_000)]
    bars = [FLAT, FLAT, FLAT, (502_000, 502_100, 500_500, 500_600)]
    bars.append((500_600, 500_700, 499_900, 500_000))
    got, want = _both(orders, bars, {2: [0]}, timers=[2])
    assert want == [(4, 1, 500_000)]
    assert got == want
    got, want = _both(orders, bars, {2: [0]})
    assert want == [(3, 0, 501_000), (4, 1, 500_000)]
    assert got == want


def test_a_cancel_for_a_filled_order_still_makes_the_venue_match_at_the_close() -> None:
    """The venue refuses a cancel whose order filled meanwhile, but the command still
    makes it match every order at the close: the limit held back there fills in that bar
    (without the cancel, in the next)."""
    orders = [Probe("BUY", "LIMIT", 501_000), Probe("BUY", "LIMIT", 500_800)]
    bars = [FLAT, FLAT, FLAT, (502_000, 502_100, 500_700, 500_700)]
    bars.append((500_700, 500_750, 500_650, 500_700))
    got, want = _both(orders, bars, {2: [0]})
    assert want == [(3, 0, 501_000), (3, 1, 500_800)]
    assert got == want
    got, want = _both(orders, bars)
    assert want == [(3, 0, 501_000), (4, 1, 500_800)]
    assert got == want


def test_cancelling_one_order_of_an_ouo_pair_cancels_its_twin() -> None:
    """The venue cancels an OUO twin with the order a cancel names (contingencies): a
    long's stop linked to a cancelled target no longer fills; unlinked, it does."""
    orders = [Probe("SELL", "LIMIT", 503_000), Probe("SELL", "STOP", 498_000)]
    orders.append(Probe("BUY", "LIMIT", 497_000))  # a witness that always fills
    bars = [FLAT, FLAT, FLAT, FLAT, (502_000, 502_100, 496_900, 497_500)]
    got, want = _both(orders, bars, {2: [0]}, links=[(0, 1)])
    assert want == [(4, 2, 497_000)]
    assert got == want
    got, want = _both(orders, bars, {2: [0]})
    assert want == [(4, 2, 497_000), (4, 1, 498_000)]
    assert got == want


def test_a_target_filling_on_arrival_leaves_its_twin_stop_resting_unlinked() -> None:
    """A TP that is marketable when it reaches the venue fills before its OUO twin stop is
    open, so Nautilus does not cancel the twin: the stop rests and fills later. A stop sent
    first is open when the TP fills, and is cancelled with it."""
    bars = [FLAT, FLAT, FLAT, (502_000, 502_100, 497_900, 497_950)]
    orders = [Probe("SELL", "LIMIT", 501_000), Probe("SELL", "STOP", 498_000)]
    got, want = _both(orders, bars, links=[(0, 1)])
    assert want == [(1, 0, 502_000), (3, 1, 498_000)]
    assert got == want
    got, want = _both(orders[::-1], bars, links=[(0, 1)])
    assert want == [(1, 1, 502_000)]
    assert got == want


def test_after_two_fills_through_one_point_a_command_meets_the_first_fills_price() -> None:
    """Two SELL limits filled through a bar's last point (a gap up to a flat bar) leave
    Nautilus' bid at their price (its targets restore the market saved before the last
    fill): a SELL limit arriving then, above that bid, is not marketable; it rests and
    fills at its own price when the venue matches again at the close (taken on arrival,
    it would fill at the close)."""
    low = (500_000,) * 4
    orders = [Probe("SELL", "LIMIT", 501_000), Probe("SELL", "LIMIT", 501_000)]
    orders.append(Probe("SELL", "LIMIT", 501_500, at=2))
    got, want = _both(orders, [low, low, low, (502_000,) * 4])
    assert want == [(3, 0, 501_000), (3, 1, 501_000), (3, 2, 501_500)]
    assert got == want


def test_the_next_bars_open_is_matched_when_targets_left_the_last_price_elsewhere() -> None:
    """Two fills through the close when the venue matches again after a command leave
    Nautilus' last price at the first one's price, so the next bar's open, equal to the
    close, still counts as a point: the limit held back there fills at that open (with
    the open skipped, this bar would not reach it)."""
    low = (500_000,) * 4
    orders = [Probe("SELL", "LIMIT", 500_900), Probe("SELL", "LIMIT", 501_000)]
    orders += [Probe("SELL", "LIMIT", 501_000), Probe("SELL", "LIMIT", 501_100)]
    orders.append(Probe("BUY", "LIMIT", 400_000))  # its cancel makes the venue match again
    bars = [low, low, low, (502_000,) * 4, (502_000, 502_000, 499_000, 499_000)]
    got, want = _both(orders, bars, {2: [4]})
    assert want == [(3, 0, 500_900), (3, 1, 501_000), (3, 2, 501_000), (4, 3, 501_100)]
    assert got == want
