"""Config files are read at the edge and every problem is a ConfigError naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hedgegridd.configfile import describe_validation_error, read_toml
from hedgegridd.errors import ConfigError


def test_reads_a_toml_document(tmp_path: Path) -> None:
    """A valid file parses to its mapping."""
    f = tmp_path / "a.toml"
    f.write_text('[grid]\nlevels = 5\nname = "x"\n')
    assert read_toml(f, "grid config") == {"grid": {"levels": 5, "name": "x"}}


def test_missing_file_is_a_config_error_unless_allowed(tmp_path: Path) -> None:
    """A missing file names itself, or reads as empty with missing_ok."""
    with pytest.raises(ConfigError, match=r"grid config not found: .*nope\.toml"):
        read_toml(tmp_path / "nope.toml", "grid config")
    assert read_toml(tmp_path / "nope.toml", "grid config", missing_ok=True) == {}


def test_bad_toml_and_unreadable_paths_are_config_errors(tmp_path: Path) -> None:
    """Broken TOML and a path that cannot be read (a directory) are ConfigErrors."""
    bad = tmp_path / "bad.toml"
    bad.write_text("levels = = 3\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        read_toml(bad, "grid config")
    with pytest.raises(ConfigError, match="cannot be read"):
        read_toml(tmp_path, "grid config")


def test_validation_errors_name_the_field_path() -> None:
    """Each field error is rendered as prefix.path: message, without pydantic's boilerplate."""

    class Grid(BaseModel):
        model_config = ConfigDict(extra="forbid")
        levels: int = Field(ge=1, le=200)

    with pytest.raises(ValidationError) as info:
        Grid.model_validate({"levels": 0, "extra": 1})
    text = describe_validation_error(info.value, "grid")
    assert "grid.levels: Input should be greater than or equal to 1" in text
    assert "grid.extra: Extra inputs are not permitted" in text
    assert "errors.pydantic.dev" not in text
