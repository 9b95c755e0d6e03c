"""hedgegridctl --all / --instance against real control servers in a runtime directory."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from hedgegridd.control import cli
from hedgegridd.control.config import ControlConfig
from hedgegridd.control.fleet import discover
from tests.control.fakes import FakeDaemon
from tests.control.helpers import ServerThread


@pytest.fixture(autouse=True)
def _server_logs_captured(log_events):
    """Keep the in-process servers' log lines out of the ctl's captured stdout."""
    return log_events


def dead_socket(path: Path) -> None:
    """A socket file nobody listens on (a crashed daemon): connecting is refused."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()


@pytest.fixture
def fleet(sock_dir: Path) -> Iterator[tuple[Path, dict[str, FakeDaemon]]]:
    """Runtime dir with live instances alpha (paused) and beta, and a dead gamma."""
    daemons = {"alpha": FakeDaemon(), "beta": FakeDaemon()}
    daemons["alpha"].strategy.pause_reasons.append("deploy")
    with ExitStack() as stack:
        for name, daemon in daemons.items():
            (sock_dir / name).mkdir()
            config = ControlConfig(socket_path=sock_dir / name / "control.sock")
            stack.enter_context(ServerThread(config, daemon))
        dead_socket(sock_dir / "gamma" / "control.sock")
        (sock_dir / "not-an-instance").mkdir()  # a directory without a socket
        yield sock_dir, daemons


def ctl(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def row(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(name + " "))


def test_all_status_prints_one_row_per_instance_and_the_unreachable_one(fleet, capsys) -> None:
    """Two live instances and a dead socket: three rows, the dead one with its error, exit 3."""
    runtime, daemons = fleet
    code, out, err = ctl(capsys, "--runtime-dir", str(runtime), "--all", "status")
    assert [c[0] for c in daemons["alpha"].strategy.calls] == ["snapshot"]
    assert [c[0] for c in daemons["beta"].strategy.calls] == ["snapshot"]
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["instance", "mode", "state"]
    assert len(lines) == 2 + 3  # header, rule, three instances
    assert "PAUSED" in row(out, "alpha")
    assert "deploy" in row(out, "alpha")
    assert "RUNNING" in row(out, "beta")
    assert "12.5" in row(out, "beta")
    assert "no daemon is listening" in row(out, "gamma")
    assert "[not_running]" in row(out, "gamma")
    assert "not-an-instance" not in out
    assert err == ""
    assert code == 3


def test_all_json_lists_results_and_errors(fleet, capsys) -> None:
    """--json --all: one entry per instance, a result or an error object."""
    runtime, _ = fleet
    code, out, _ = ctl(capsys, "--runtime-dir", str(runtime), "--json", "--all", "positions")
    doc = json.loads(out)
    assert doc["command"] == "positions"
    by_name = {i["instance"]: i for i in doc["instances"]}
    assert sorted(by_name) == ["alpha", "beta", "gamma"]
    assert by_name["alpha"]["result"]["long"]["quantity"] == "0.003"
    assert by_name["gamma"]["error"]["code"] == "not_running"
    assert code == 3


def test_all_read_commands_render_one_row_each(fleet, capsys) -> None:
    """orders, ladders, killswitch status and version over --all: summary rows per instance."""
    runtime, daemons = fleet
    daemons["beta"].latch("drawdown")
    base = ("--runtime-dir", str(runtime), "--all")
    _, out, _ = ctl(capsys, *base, "orders")
    assert row(out, "alpha").split()[1:6] == ["10", "10", "0", "0", "0"]
    _, out, _ = ctl(capsys, *base, "ladders")
    assert row(out, "beta").split()[1:3] == ["5", "59900"]
    _, out, _ = ctl(capsys, *base, "killswitch", "status")
    assert "LATCHED" in row(out, "beta")
    assert "armed" in row(out, "alpha")
    _, out, _ = ctl(capsys, *base, "version")
    assert "1.231" in row(out, "alpha")


def test_all_succeeds_when_every_instance_answers(fleet, capsys) -> None:
    """Without the dead socket every row has a result and the exit code is 0."""
    runtime, _ = fleet
    (runtime / "gamma" / "control.sock").unlink()
    code, out, _ = ctl(capsys, "--runtime-dir", str(runtime), "--all", "status")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["alpha", "beta"]


def test_instance_picks_one_daemon_for_any_command(fleet, capsys) -> None:
    """--instance NAME talks to RUNTIME_DIR/NAME/control.sock, write commands included."""
    runtime, daemons = fleet
    code, out, _ = ctl(capsys, "--runtime-dir", str(runtime), "--instance", "beta", "status")
    assert code == 0
    assert "state           RUNNING" in out
    code, _, _ = ctl(capsys, "--runtime-dir", str(runtime), "--instance", "beta", "pause")
    assert code == 0
    assert daemons["beta"].strategy.pause_reasons == ["operator"]
    assert daemons["alpha"].strategy.pause_reasons == ["deploy"]
    code, _, err = ctl(capsys, "--runtime-dir", str(runtime), "--instance", "gamma", "status")
    assert code == 3
    assert "no daemon is listening" in err


def test_all_with_a_write_command_is_refused_with_exit_64(fleet, capsys) -> None:
    """pause/flatten/killswitch reset with --all reach no daemon and exit 64."""
    runtime, daemons = fleet
    for argv in (("pause",), ("flatten", "both"), ("killswitch", "reset"), ("reload",)):
        code, out, err = ctl(capsys, "--runtime-dir", str(runtime), "--all", *argv)
        assert code == 64
        assert out == ""
        assert "--all runs read-only commands only" in err
        assert "--instance NAME" in err
    assert daemons["alpha"].strategy.calls == []
    assert daemons["beta"].strategy.calls == []
    assert daemons["beta"].journal.entries == []


def test_bad_instance_name_and_conflicting_selectors_are_usage_errors(sock_dir, capsys) -> None:
    """--instance ../x and --all with --socket are argparse usage errors (exit 2)."""
    for argv in (
        ["--instance", "../etc", "status"],
        ["--all", "--socket", "/tmp/x.sock", "status"],
        ["--all", "--instance", "a", "status"],
    ):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
    capsys.readouterr()


def test_all_without_any_socket_is_not_running(sock_dir, capsys) -> None:
    """An empty runtime directory: exit 3 and a plain message."""
    code, _, err = ctl(capsys, "--runtime-dir", str(sock_dir), "--all", "status")
    assert code == 3
    assert "no hedgegridd control socket under" in err


def test_discover_names_the_plain_unit_hedgegridd(sock_dir) -> None:
    """RUNTIME_DIR/control.sock (hedgegridd.service) is the instance 'hedgegridd'."""
    dead_socket(sock_dir / "control.sock")
    dead_socket(sock_dir / "eth" / "control.sock")
    assert [(i.name, i.socket) for i in discover(sock_dir)] == [
        ("eth", sock_dir / "eth" / "control.sock"),
        ("hedgegridd", sock_dir / "control.sock"),
    ]


def test_completion_offers_the_instances_found(fleet, tmp_path, capsys) -> None:
    """bash completion of --instance lists the instance directories holding a socket."""
    runtime, _ = fleet
    script = tmp_path / "complete.bash"
    code, out, _ = ctl(capsys, "completion", "bash")
    assert code == 0
    script.write_text(out)
    words = ("--runtime-dir", str(runtime), "--instance", "")
    probe = (
        f"source {script}; COMP_WORDS=(hedgegridctl {' '.join(words)}); "
        f'COMP_CWORD={len(words)}; _hedgegridctl; echo "${{COMPREPLY[@]}}"'
    )
    res = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert sorted(res.stdout.split()) == ["alpha", "beta", "gamma"]
    probe = (
        f"source {script}; COMP_WORDS=(hedgegridctl --a); COMP_CWORD=1; _hedgegridctl; "
        'echo "${COMPREPLY[@]}"'
    )
    res = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert res.stdout.split() == ["--all"]
