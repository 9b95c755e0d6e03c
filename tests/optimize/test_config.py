"""Optimizer config validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgegridd.errors import ConfigError
from hedgegridd.optimize.config import load_optimize_config, parse_optimize_config

from .helpers import config_doc

EXAMPLE = Path(__file__).resolve().parents[2] / "etc/hedgegrid/optimize-example.toml"


def test_shipped_example_config_is_valid() -> None:
    """The example TOML in etc/ loads and searches real strategy parameters."""
    config = load_optimize_config(EXAMPLE)
    assert "grid.step_bps" in config.space
    assert config.objective.direction == "maximize"
    assert config.constraints.min_round_trips >= 1


def test_constraint_defaults_are_sane_and_minus_999_is_refused() -> None:
    """Default constraints demand real trading; a nonsensical -999 Sharpe floor is an error."""
    doc = config_doc()
    del doc["constraints"]
    config = parse_optimize_config(doc)
    assert config.constraints.min_round_trips >= 10
    assert 0 < config.constraints.max_drawdown_pct <= 50
    assert config.constraints.min_sharpe is None
    with pytest.raises(ConfigError, match=r"constraints\.min_sharpe"):
        parse_optimize_config(config_doc(constraints__min_sharpe=-999))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"type": "float", "low": -5, "high": 10},
            r"grid\.step_bps: low = -5.0 outside allowed > 0",
        ),
        ({"type": "float", "low": 10, "high": 5}, r"low \(10.0\) must be < high"),
        ({"type": "float", "low": 0, "high": 5, "log": True}, r"log scale needs low > 0"),
        ({"type": "float", "low": 1, "high": 5, "log": True, "step": 1}, r"cannot be combined"),
        ({"type": "int", "low": 1, "high": 5}, r"type 'int' but the field is Decimal"),
        ({"type": "categorical", "choices": []}, r"non-empty 'choices'"),
        ({"type": "float", "low": 1}, r"needs both 'low' and 'high'"),
    ],
)
def test_bad_space_entry_names_the_parameter_and_rule(entry: dict, message: str) -> None:
    """Each malformed range is refused with the parameter and the broken rule."""
    doc = config_doc()
    doc["space"] = {"grid.step_bps": entry}
    with pytest.raises(ConfigError, match=message):
        parse_optimize_config(doc)


def test_unknown_parameter_lists_allowed_fields() -> None:
    """A typo in a parameter name is refused, listing what exists."""
    doc = config_doc()
    doc["space"] = {"grid.stepbps": {"type": "float", "low": 1, "high": 2}}
    with pytest.raises(ConfigError, match=r"unknown parameter 'grid.stepbps'.*step_bps"):
        parse_optimize_config(doc)


def test_parameter_both_fixed_and_searched_is_refused() -> None:
    """A parameter cannot be both fixed and searched."""
    doc = config_doc()
    doc["base"] = {"fixed": {"grid.step_bps": "10"}}
    with pytest.raises(ConfigError, match=r"grid\.step_bps is both in \[space\] and"):
        parse_optimize_config(doc)


def test_test_window_too_short_is_refused() -> None:
    """The held-out window must be long enough to judge anything."""
    with pytest.raises(ConfigError, match=r"min_test_minutes"):
        parse_optimize_config(config_doc(split__test_fraction=0.01))


def test_unknown_key_is_refused() -> None:
    """Typos in section keys are errors, not silently ignored."""
    with pytest.raises(ConfigError, match=r"study\.trails"):
        parse_optimize_config(config_doc(study__trails=5))


def test_data_needs_exactly_one_source_and_an_ordered_catalog_window() -> None:
    """Synthetic and catalog are exclusive; a catalog window must have start < end."""
    doc = config_doc()
    doc["data"]["catalog"] = {"path": "c", "start": "2024-01-02T00:00:00Z", "end": "2024-01-03"}
    with pytest.raises(ConfigError, match=r"exactly one of \[data.synthetic\] or \[data.catalog\]"):
        parse_optimize_config(doc)
    doc["data"] = {"catalog": {"path": "c", "start": "2024-01-03T00:00:00Z", "end": "2024-01-02"}}
    with pytest.raises(ConfigError, match=r"data.catalog.start .* must be before"):
        parse_optimize_config(doc)


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    """params_file and the catalog path are relative to the TOML file's folder."""
    (tmp_path / "optimize.toml").write_text(
        '[data.catalog]\npath = "cat"\nstart = 2024-01-01T00:00:00Z\nend = 2024-01-03T00:00:00Z\n'
        '[base]\nparams_file = "strategy.toml"\n'
        '[space]\n"grid.step_bps" = { type = "float", low = 5, high = 20 }\n'
    )
    config = load_optimize_config(tmp_path / "optimize.toml")
    assert config.data.catalog is not None
    assert config.data.catalog.path == (tmp_path / "cat").resolve()
    assert config.base.params_file == (tmp_path / "strategy.toml").resolve()
    assert config.data.minutes == 2 * 1440


def test_in_sample_folds_must_leave_enough_minutes_each() -> None:
    """Folds shorter than min_test_minutes are refused, naming the setting."""
    with pytest.raises(ConfigError, match=r"split.in_sample_folds = 12 leaves"):
        parse_optimize_config(config_doc(split__in_sample_folds=12, split__min_test_minutes=200))
    with pytest.raises(ConfigError, match=r"in_sample_folds"):
        parse_optimize_config(config_doc(split__in_sample_folds=0))
