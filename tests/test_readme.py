"""README, Makefile and the code agree: commands, exit codes, ctl subcommands."""

from __future__ import annotations

import re
from pathlib import Path

from hedgegridd.control import protocol
from hedgegridd.supervisor.exit_codes import ExitCode as DaemonExit

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_two_commands_are_the_makefile_targets_and_ci_runs_make_test() -> None:
    """README's two commands are Makefile targets, CI runs `make test`, run runs the demo."""
    assert "make run" in README
    assert "make test" in README
    makefile = (REPO / "Makefile").read_text()
    run_recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "hedgegrid demo" in run_recipe
    ci = [ln for ln in (REPO / ".ci" / "run").read_text().splitlines() if ln.strip()]
    assert ci[-1].strip() == "exec make test"


def test_daemon_exit_code_table_matches_the_code() -> None:
    """Every daemon exit code is in the troubleshooting table and the table invents none."""
    table = README.split("### Troubleshooting by exit code", 1)[1]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == {int(c) for c in DaemonExit}


def test_ctl_exit_codes_and_commands_are_documented() -> None:
    """Every hedgegridctl exit code and every command name appears in the README."""
    section = README.split("### Steering with hedgegridctl", 1)[1].split("\n### ", 1)[0]
    for code in protocol.ExitCode:
        assert re.search(rf"\b{int(code)} [a-z]", section), code
    for name in {c.replace(".", " ") for c in protocol.COMMANDS}:
        assert name in section, name
