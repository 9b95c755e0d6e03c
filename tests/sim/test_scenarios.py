"""Scenario steps: validation, the TOML file loader, and the offset shapes they produce."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from hedgegridd.errors import ConfigError
from hedgegridd.sim.cli import run_sim
from hedgegridd.sim.scenarios import load_scenario_file, parse_step, parse_steps
from hedgegridd.sim.shaper import PriceShaper

D = Decimal
REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    """A scenario file with ``text``."""
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def test_good_file_resolves_at_and_after_offsets(tmp_path: Path) -> None:
    """at_s counts from the start, after_s from the previous step; defaults are filled in."""
    path = write(
        tmp_path,
        """
description = "x"
[[steps]]
kind = "crash"
at_s = 10
pct = -10
seconds = 30
[[steps]]
kind = "wick"
after_s = 5
pct = "-5"
[[steps]]
kind = "funding"
rate = 0.003
[[steps]]
kind = "premium"
at_s = 1
bps = 50
""",
    )
    steps = load_scenario_file(path)
    assert [(s.kind, s.start_s) for s in steps] == [
        ("crash", D(10)),
        ("wick", D(15)),
        ("funding", D(15)),
        ("premium", D(1)),
    ]
    assert steps[0].params == {"pct": D(-10), "seconds": D(30)}
    assert steps[1].params["seconds"] == D(20)  # wick default
    assert steps[0].duration_ms == 30_000


def test_shipped_example_scenarios_load() -> None:
    """The example files under docs/scenarios are valid."""
    for name in ("crash.toml", "stress.toml"):
        assert load_scenario_file(REPO / "docs" / "scenarios" / name)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[steps]]\nkind = "meteor"\n', "steps[0]: 'kind' must be one of"),
        ('[[steps]]\nkind = "crash"\npct = 10\nseconds = 5\n', "steps[0]: 'pct' must be negative"),
        ('[[steps]]\nkind = "crash"\npct = -10\n', "steps[0]: 'crash' needs 'seconds'"),
        ('[[steps]]\nkind = "spike"\npct = -3\n', "'pct' must be positive"),
        ('[[steps]]\nkind = "wick"\npct = -5\nseconds = 90\n', "'seconds' must be in (0, 60]"),
        ('[[steps]]\nkind = "bleed"\npct = -5\n', "'bleed' needs 'minutes'"),
        ('[[steps]]\nkind = "funding"\nrate = 0.5\n', "'rate' must be in [-0.03, 0.03]"),
        ('[[steps]]\nkind = "premium"\n', "'premium' needs 'bps' and/or 'abs'"),
        ('[[steps]]\nkind = "gap"\npct = -5\nto = 100\n', "exactly one of 'pct' or 'to'"),
        ('[[steps]]\nkind = "gap"\npct = -5\nspeed = 3\n', "unknown key 'speed'"),
        ('[[steps]]\nkind = "gap"\npct = "lots"\n', "'pct' must be a number"),
        ('[[steps]]\nkind = "gap"\npct = -5\nat_s = -1\n', "'at_s' must be >= 0"),
        ('[[steps]]\nkind = "gap"\npct = -5\nat_s = 1\nafter_s = 2\n', "'at_s' or 'after_s'"),
        ("steps = []\n", "steps: must be a non-empty list"),
        ("[other]\n", "unknown top-level key 'other'"),
        ('description = "no steps"\n', "missing 'steps'"),
        ("[[steps]\n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_step_and_key(tmp_path: Path, body: str, expected: str) -> None:
    """Every invalid file is refused once, with the file, step and key in the message."""
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_scenario_file(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_and_bad_json_step() -> None:
    """An unreadable file and a non-object step are ConfigErrors."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario_file(Path("/nonexistent/scenario.toml"))
    with pytest.raises(ConfigError, match="must be a table/object"):
        parse_step(["crash"])
    with pytest.raises(ConfigError, match=r"steps\[1\]"):
        parse_steps([{"kind": "gap", "pct": -1}, {"kind": "gap"}])


def test_sim_cli_refuses_a_bad_scenario_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hedgegrid sim --scenario BAD` exits 2 naming the key, without serving."""
    from hedgegridd.tools_cli import build_parser

    path = write(tmp_path, '[[steps]]\nkind = "crash"\npct = -10\n')
    args = build_parser().parse_args(["sim", "--scenario", str(path)])
    assert args.handler is run_sim
    assert args.handler(args) == 2
    assert "'crash' needs 'seconds'" in capsys.readouterr().err


def test_crash_moves_progressively_then_stays() -> None:
    """A crash's offset grows linearly over its duration and is kept afterwards."""
    shaper = PriceShaper()
    shaper.start_move("crash", 1_000, D(-6000), 30_000)
    assert shaper.offset_at(1_000) == 0
    assert shaper.offset_at(16_000) == D(-3000)
    assert shaper.offset_at(31_000) == D(-6000)
    assert shaper.moving(20_000)
    assert not shaper.moving(31_000)
    assert shaper.next_corner(1_000) == 31_000
    shaper.settle(40_000)
    assert shaper.moves == []
    assert shaper.permanent == D(-6000)


def test_wick_goes_and_comes_back_and_clear_keeps_the_level() -> None:
    """A wick returns to zero; clearing mid-move keeps the current offset (no snap back)."""
    shaper = PriceShaper()
    shaper.start_move("wick", 0, D(-3000), 20_000)
    assert shaper.offset_at(10_000) == D(-3000)
    assert shaper.offset_at(15_000) == D(-1500)
    assert shaper.offset_at(20_000) == 0
    shaper.clear(5_000)
    assert shaper.offset_at(60_000) == D(-1500)
    shaper.jump(D(100))
    assert shaper.offset_at(60_000) == D(-1400)


def test_scheduled_steps_come_due_in_order() -> None:
    """Steps queue relative to the schedule time and are taken once when due."""
    shaper = PriceShaper()
    shaper.schedule(
        parse_steps(
            [{"kind": "gap", "pct": -1, "at_s": 5}, {"kind": "funding", "rate": 0.001, "at_s": 0}]
        ),
        1_000,
    )
    assert shaper.next_corner(1_000) == 6_000
    assert [s.kind for s in shaper.take_due(1_000)] == ["funding"]
    assert shaper.take_due(5_999) == []
    assert [s.kind for s in shaper.take_due(6_000)] == ["gap"]
    assert shaper.pending == []
