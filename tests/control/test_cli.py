"""hedgegridctl end to end against a live server: output, --json, exit codes, completion."""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
from decimal import Decimal

import anyio
import pytest

from hedgegridd.control import cli, roundtrip
from hedgegridd.control.backend import HandleBackend
from hedgegridd.control.protocol import PROTOCOL_VERSION
from hedgegridd.control.results import StatusResult
from tests.control.helpers import ServerThread, config_for


@pytest.fixture(autouse=True)
def _server_logs_captured(log_events):
    """Keep the in-process server's log lines out of the ctl's captured stdout."""
    return log_events


@pytest.fixture
def live(sock_dir, daemon):
    """A running server; yields the socket path as a string."""
    with ServerThread(config_for(sock_dir), daemon):
        yield str(sock_dir / "control.sock")


def ctl(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_human_table(live, capsys) -> None:
    """status prints aligned key/value lines and a LONG/SHORT table."""
    code, out, _ = ctl(capsys, "--socket", live, "status")
    assert code == 0
    assert "state           RUNNING" in out
    assert "kill switch     armed" in out
    assert "last bar        2023-11-14 22:12:20 UTC" in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("side"))
    assert "avg_price" in header
    assert any(line.startswith("LONG   0.003") for line in lines)
    assert any(line.startswith("SHORT  0.002") for line in lines)


def test_json_output_is_the_result_object(live, capsys) -> None:
    """--json prints the result as JSON with decimals as strings."""
    code, out, _ = ctl(capsys, "--socket", live, "--json", "status")
    assert code == 0
    doc = json.loads(out)
    assert doc["fills"] == 42
    assert doc["long"]["quantity"] == "0.003"
    code, out, _ = ctl(capsys, "--socket", live, "--json", "orders")
    assert code == 0
    assert len(json.loads(out)["orders"]) == 10


def test_every_read_command_renders(live, capsys) -> None:
    """positions, orders, ladders, killswitch status and version print tables."""
    code, out, _ = ctl(capsys, "--socket", live, "orders")
    assert code == 0
    assert out.splitlines()[0].startswith("client_order_id")
    assert "O-9" in out
    code, out, _ = ctl(capsys, "--socket", live, "ladders")
    assert code == 0
    assert "59780" in out
    code, out, _ = ctl(capsys, "--socket", live, "positions")
    assert code == 0
    assert "SHORT" in out
    code, out, _ = ctl(capsys, "--socket", live, "killswitch", "status")
    assert code == 0
    assert "armed" in out
    code, out, _ = ctl(capsys, "--socket", live, "version")
    assert code == 0
    assert "hedgegridctl" in out
    assert "nautilus_trader  1.231" in out


def test_mutating_commands_through_the_ctl(live, daemon, capsys) -> None:
    """pause/resume --all/throttle/flatten short/reload act on the daemon and exit 0."""
    assert ctl(capsys, "--socket", live, "pause", "--reason", "deploy")[0] == 0
    assert daemon.strategy.pause_reasons == ["deploy"]
    assert daemon.strategy.kept_orders == []  # default: entries withdrawn
    assert ctl(capsys, "--socket", live, "pause", "--reason", "night", "--keep-orders")[0] == 0
    assert daemon.strategy.pause_reasons == ["deploy", "night"]
    assert daemon.strategy.kept_orders == ["night"]
    assert ctl(capsys, "--socket", live, "resume", "--all")[0] == 0
    assert daemon.strategy.pause_reasons == []
    code, out, _ = ctl(capsys, "--socket", live, "throttle", "0.4")
    assert code == 0
    assert "0.4" in out
    assert daemon.strategy.throttle == Decimal("0.4")
    code, out, _ = ctl(capsys, "--socket", live, "flatten", "short")
    assert code == 0
    assert "closing qty" in out
    assert daemon.strategy.short_qty == "0"
    assert ctl(capsys, "--socket", live, "reload")[0] == 0
    actors = {e["actor"] for e in daemon.journal.entries}
    assert actors == {f"uid={os.getuid()} pid={os.getpid()}"}
    assert len(daemon.journal.entries) == 6
    pauses = [
        e["details"]["args"] for e in daemon.journal.entries if e["details"]["command"] == "pause"
    ]
    assert [p["keep_orders"] for p in pauses] == [False, True]


def test_exit_code_bad_request_is_2(live, daemon, capsys) -> None:
    """A request the daemon rejects as malformed exits 2 with the field named on stderr."""
    code, _, err = ctl(capsys, "--socket", live, "pause", "--reason", "bad reason!")
    assert code == 2
    assert "pause argument reason: must be 1-64 characters" in err
    assert "[bad_argument]" in err
    assert daemon.strategy.pause_reasons == []


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("1.5", "1.5 is out of range: the throttle is a fraction between 0 and 1"),
        ("-0.1", "-0.1 is out of range"),
        ("half", "'half' is not a number; give a fraction between 0 and 1"),
        ("NaN", "'NaN' is not a number"),
    ],
)
def test_throttle_out_of_range_is_a_plain_usage_error(live, daemon, capsys, value, says) -> None:
    """throttle 1.5 exits 2 naming the range in plain words (no pydantic text), nothing sent."""
    with pytest.raises(SystemExit) as done:
        cli.main(["--socket", live, "throttle", value])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Value error" not in err
    assert daemon.strategy.throttle == Decimal(1)
    assert not [e for e in daemon.journal.entries if e["details"]["command"] == "throttle"]


def test_exit_code_refused_by_state_is_5(live, daemon, capsys) -> None:
    """resume while the kill switch is latched exits 5; --json carries the code."""
    daemon.latch()
    code, out, _ = ctl(capsys, "--socket", live, "--json", "resume")
    assert code == 5
    assert json.loads(out)["error"]["code"] == "refused_by_state"


def test_exit_code_not_running_is_3(sock_dir, capsys) -> None:
    """No daemon on the socket exits 3 and says so in plain words."""
    code, _, err = ctl(capsys, "--socket", str(sock_dir / "nothing.sock"), "status")
    assert code == 3
    assert "is hedgegridd running?" in err


def test_exit_code_timeout_is_7(sock_dir, daemon, capsys) -> None:
    """A daemon that does not answer within --timeout exits 7."""

    class SlowBackend(HandleBackend):
        async def status(self) -> StatusResult:
            await anyio.sleep(3600)
            raise AssertionError("unreachable")

    fast = daemon.backend()
    slow = SlowBackend(
        handle=lambda: daemon.strategy,
        killswitch_status=fast.killswitch_status,
        killswitch_reset=lambda actor: fast.killswitch_reset(actor=actor),
        reload=lambda actor: fast.reload(actor=actor),
        mode="paper",
        daemon_version="0.1.0",
    )
    with ServerThread(config_for(sock_dir), daemon, backend=slow):
        code, _, err = ctl(
            capsys, "--socket", str(sock_dir / "control.sock"), "--timeout", "0.5", "status"
        )
    assert code == 7
    assert "within 0.5 s" in err


def test_exit_code_version_mismatch_is_6(live, capsys, monkeypatch) -> None:
    """A ctl speaking another protocol version exits 6 with an explanation."""
    other = functools.partial(roundtrip.call, protocol=PROTOCOL_VERSION + 1)
    monkeypatch.setattr(roundtrip, "call", other)
    code, _, err = ctl(capsys, "--socket", live, "status")
    assert code == 6
    assert f"speaks control protocol {PROTOCOL_VERSION}" in err
    assert "use the hedgegridctl installed with the daemon" in err


def test_pause_help_documents_keep_orders(capsys) -> None:
    """``pause --help`` explains that entries are cancelled unless --keep-orders."""
    with pytest.raises(SystemExit):
        cli.main(["pause", "--help"])
    out = capsys.readouterr().out
    assert "--keep-orders" in out
    assert "cancel" in out


def test_help_documents_exit_codes(capsys) -> None:
    """--help lists every stable exit code."""
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for line in (
        "0  ok",
        "3  daemon not running",
        "4  permission denied",
        "5  refused by the daemon's state",
        "6  version mismatch",
        "7  timed out",
    ):
        assert line in out


def test_usage_error_exits_2(capsys) -> None:
    """An unknown subcommand or bad flatten side is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as done:
        cli.main(["flatten", "sideways"])
    assert done.value.code == 2
    capsys.readouterr()


def test_bash_completion_completes_commands_and_words(capsys, tmp_path) -> None:
    """The generated bash completion is valid and completes commands and sub-words."""
    code, script, _ = ctl(capsys, "completion", "bash")
    assert code == 0
    path = tmp_path / "hedgegridctl.bash"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0

    def complete(*words: str) -> list[str]:
        probe = (
            f"source {path}; COMP_WORDS=(hedgegridctl {' '.join(words)}); "
            f'COMP_CWORD={len(words)}; _hedgegridctl; echo "${{COMPREPLY[@]}}"'
        )
        res = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
        return res.stdout.split()

    assert complete("kill") == ["killswitch"]
    assert sorted(complete("killswitch", "")) == ["reset", "status"]
    assert sorted(complete("flatten", "")) == ["both", "long", "short"]
    assert "throttle" in complete("")
    assert "--json" in complete("--j")
    zsh = ctl(capsys, "completion", "zsh")[1]
    assert "bashcompinit" in zsh


def test_socket_default_from_environment(monkeypatch) -> None:
    """--socket defaults to $HEDGEGRID_SOCKET, else $RUNTIME_DIRECTORY, else /run/hedgegrid."""
    monkeypatch.setenv("HEDGEGRID_SOCKET", "/tmp/x/ctl.sock")
    monkeypatch.setenv("RUNTIME_DIRECTORY", "/run/other")
    assert cli.build_parser().parse_args(["status"]).socket == "/tmp/x/ctl.sock"
    monkeypatch.delenv("HEDGEGRID_SOCKET")
    assert cli.build_parser().parse_args(["status"]).socket == "/run/other/control.sock"
    monkeypatch.delenv("RUNTIME_DIRECTORY")
    assert cli.build_parser().parse_args(["status"]).socket == "/run/hedgegrid/control.sock"


class _UnverifiedFlattenBackend(HandleBackend):
    """A backend whose flatten sent closing orders but never saw the book flat."""

    async def flatten(self, side, *, actor):  # type: ignore[no-untyped-def]
        result = await super().flatten(side, actor=actor)
        return result.model_copy(update={"verified": False, "attempts": 3})


def test_unverified_flatten_exits_8_and_says_so(sock_dir, daemon, capsys) -> None:
    """A flatten that was not verified flat exits 8 and prints NOT VERIFIED FLAT."""
    base = daemon.backend()
    backend = _UnverifiedFlattenBackend(
        handle=lambda: daemon.strategy,
        killswitch_status=daemon.killswitch.status,
        killswitch_reset=daemon._reset,
        reload=daemon._reload,
        mode="paper",
        daemon_version="0.1.0",
    )
    assert isinstance(base, HandleBackend)
    with ServerThread(config_for(sock_dir), daemon, backend=backend):
        sock = str(sock_dir / "control.sock")
        code, out, _ = ctl(capsys, "--socket", sock, "flatten", "long")
        assert code == 8
        assert "NOT VERIFIED FLAT (attempts: 3)" in out
        code, out, _ = ctl(capsys, "--socket", sock, "--json", "flatten", "long")
        assert code == 8
        assert json.loads(out)["verified"] is False


def test_flatten_waits_longer_than_other_commands() -> None:
    """flatten waits up to 60 s for verification by default; --timeout still overrides it."""
    parser = cli.build_parser()
    assert cli._timeout(parser.parse_args(["flatten"])) == cli.FLATTEN_TIMEOUT_S == 60.0
    assert cli._timeout(parser.parse_args(["status"])) == cli.DEFAULT_TIMEOUT_S
    assert cli._timeout(parser.parse_args(["--timeout", "5", "flatten"])) == 5.0


def _modules_after(*argv: str) -> set[str]:
    probe = (
        "import sys\n"
        "from hedgegridd.control import cli\n"
        "try:\n"
        f"    cli.main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(done.stderr.split())


@pytest.mark.parametrize("argv", [("--version",), ("--help",), ("throttle", "--help")])
def test_version_and_help_load_no_pydantic_anyio_or_nautilus(argv) -> None:
    """--version and --help import the stdlib only (they cost ~1 s of CPU with pydantic)."""
    loaded = _modules_after(*argv)
    assert "hedgegridd.control.cli" in loaded
    heavy = {m.split(".")[0] for m in loaded} & {
        "pydantic",
        "anyio",
        "structlog",
        "nautilus_trader",
    }
    assert heavy == set()


def _ctl_into_closed_pipe(*argv: str) -> subprocess.CompletedProcess[str]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (e.g. `head`) is gone before the ctl writes
    try:
        return subprocess.run(
            [sys.executable, "-m", "hedgegridd.control.cli", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    finally:
        os.close(write_end)


def test_closed_stdout_ends_quietly_with_141(live) -> None:
    """`hedgegridctl orders | head` style: a closed pipe gives no traceback, exit 141."""
    for argv in (
        ("--socket", live, "orders"),
        ("--socket", live, "status"),
        ("completion", "bash"),
    ):
        done = _ctl_into_closed_pipe(*argv)
        assert done.returncode == 141, done.stderr
        assert done.stderr == ""


def test_broken_pipe_in_process_returns_141(live, monkeypatch) -> None:
    """main() turns a BrokenPipeError while printing into exit code 141, not a traceback."""

    class _Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", _Closed())
    assert cli.main(["--socket", live, "orders"]) == 141


def test_throttle_reply_names_rungs_left_and_warns_of_an_empty_side(live, daemon, capsys) -> None:
    """throttle 0.5 is applied; the reply gives rungs per side and warns LONG places nothing."""
    code, out, _ = ctl(capsys, "--socket", live, "throttle", "0.5")
    assert code == 0
    assert daemon.strategy.throttle == Decimal("0.5")
    assert "entry rungs  LONG 0, SHORT 5" in out
    assert "WARNING: at throttle 0.5 LONG places no entries" in out
    assert "LONG needs throttle >= 0.6" in out
    assert "SHORT needs" not in out
    code, out, _ = ctl(capsys, "--socket", live, "--json", "throttle", "0.8")
    assert code == 0
    doc = json.loads(out)
    assert doc["entry_rungs"] == {"LONG": 5, "SHORT": 5}
    assert doc["empty_sides"] == {}
    code, out, _ = ctl(capsys, "--socket", live, "throttle", "0.8")
    assert "WARNING" not in out
