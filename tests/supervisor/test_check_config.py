"""``--check-config`` and start refuse, before any warmup, what a later start step would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

BROKEN_PARAMS = '[grid]\nstep_bps = "-5"\nlevels_per_side = 10\nbase_qty = "0.003"\n'


def _hedgegridd(tmp_path: Path, toml: str, *extra: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "hedgegridd.toml"
    config.write_text(toml)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEDGEGRID_", "BINANCE_"))}
    env["STATE_DIRECTORY"] = str(tmp_path / "state")
    env["RUNTIME_DIRECTORY"] = str(tmp_path / "run")
    return subprocess.run(
        [sys.executable, "-m", "hedgegridd.supervisor.cli", "--config", str(config), *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[strategy]\nparams_file = '{params}'\n", "strategy.grid.step_bps"),
        ("[strategy]\nparams_file = '{missing}'\n", "strategy.params_file"),
        ("[control]\nadmin_group = 'no-such-group-hg'\n", "control.admin_group"),
        ("[control]\nreadonly_group = 'no-such-group-hg'\n", "control.readonly_group"),
    ],
)
def test_check_config_exits_78_naming_the_key(tmp_path: Path, toml: str, named: str) -> None:
    """A broken or missing parameter file, an unknown group: exit 78 naming the key."""
    params = tmp_path / "params.toml"
    params.write_text(BROKEN_PARAMS)
    text = toml.format(params=params, missing=tmp_path / "absent.toml")
    checked = _hedgegridd(tmp_path, text, "--check-config")
    assert checked.returncode == 78, checked.stderr
    lines = checked.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("hedgegridd: configuration error: ")
    assert named in lines[0]
    assert "config.ok" not in checked.stdout + checked.stderr


def test_start_refuses_a_broken_parameter_file_before_warmup(tmp_path: Path) -> None:
    """A real start exits 78 on the parameter file before state, warmup or the node."""
    params = tmp_path / "params.toml"
    params.write_text(BROKEN_PARAMS)
    started = _hedgegridd(tmp_path, f"[strategy]\nparams_file = '{params}'\n")
    assert started.returncode == 78
    assert "strategy.grid.step_bps" in started.stderr
    assert "warmup" not in started.stderr + started.stdout
    assert not (tmp_path / "state").exists()


def test_check_config_accepts_the_shipped_example_parameter_file(tmp_path: Path) -> None:
    """The example parameter file and known groups pass (exit 0, config.ok)."""
    example = REPO / "etc" / "hedgegrid" / "strategy-example.toml"
    checked = _hedgegridd(
        tmp_path,
        f"[strategy]\nparams_file = '{example}'\n[control]\nadmin_group = '0'\n",
        "--check-config",
        "--log-format",
        "json",
    )
    assert checked.returncode == 0, checked.stderr
    assert '"config.ok"' in checked.stderr + checked.stdout
