"""Config builders shared by the optimizer tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from hedgegridd.optimize.config import OptimizeConfig, parse_optimize_config

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = "tests.optimize.evaluators:reference_grid"
REAL = "hedgegridd.optimize.evaluate:run_backtest"
SCREEN = "hedgegridd.optimize.screen_evaluator:run_backtest"


def config_doc(**overrides: Any) -> dict[str, Any]:
    """A tiny study on 2 days of synthetic bars; the stub evaluator searches and re-runs."""
    doc: dict[str, Any] = {
        "study": {
            "name": "tiny",
            "seed": 11,
            "trials": 4,
            "workers": 1,
            "trial_timeout_s": 120,
            "startup_trials": 2,
        },
        "data": {"synthetic": {"seed": 3, "minutes": 2880}},
        "split": {"test_fraction": 0.25},
        "backtest": {"evaluator": REFERENCE},
        "rerun": {"top_k": 2, "evaluator": REFERENCE},
        "space": {
            "grid.step_bps": {"type": "float", "low": 5, "high": 30, "step": 0.5},
            "exits.tp_bps": {"type": "float", "low": 5, "high": 40, "log": True},
            "grid.levels_per_side": {"type": "int", "low": 3, "high": 6},
        },
        "objective": {"metric": "sharpe"},
        "constraints": {"min_round_trips": 3, "max_drawdown_pct": 50},
    }
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        doc.setdefault(section, {})[key] = value
    return doc


def tiny_config(**overrides: Any) -> OptimizeConfig:
    """``config_doc`` validated."""
    return parse_optimize_config(config_doc(**overrides))


def write_toml(doc: dict[str, Any]) -> str:
    """Minimal TOML writer for the test configs (tables of scalars and inline tables)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, dict):
            return "{ " + ", ".join(f'"{k}" = {value(x)}' for k, x in v.items()) + " }"
        return repr(v)

    lines: list[str] = []
    for section, table in doc.items():
        scalars = {k: v for k, v in table.items() if not (section == "data" and k == "synthetic")}
        lines.append(f"[{section}]")
        lines += [f'"{k}" = {value(v)}' for k, v in scalars.items()]
        if section == "data":
            lines.append("[data.synthetic]")
            lines += [f"{k} = {value(v)}" for k, v in table["synthetic"].items()]
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)
    return text


def optimize_cli(
    config: Path, out: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`hedgegrid optimize CONFIG --out OUT --no-progress ...` as a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hedgegridd.tools_cli",
            "optimize",
            str(config),
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
