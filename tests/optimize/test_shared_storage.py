"""Interrupt and resume a study; two `hedgegrid optimize` processes share one storage."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState
from structlog.testing import LogCapture

from hedgegridd.optimize.config import parse_optimize_config
from hedgegridd.optimize.storage import open_storage
from hedgegridd.optimize.study import run_optimization
from hedgegridd.optimize.worker import FAIL_REASON, WORKER, fail_stale_trials

from .helpers import config_doc, optimize_cli, write_toml

STALLS = "tests.optimize.evaluators:stalls_after_first"
PEERS = "tests.optimize.evaluators:waits_for_a_peer"


def _wait_for(predicate: Any, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached before the deadline")


@pytest.mark.slow
def test_interrupted_study_resumes_to_its_trial_budget(tmp_path: Path) -> None:
    """SIGTERM mid-study fails the running trial with a reason; --resume completes the budget."""
    doc = config_doc(study__trials=3, backtest__evaluator=STALLS)
    doc["study"]["storage"] = f"sqlite:///{tmp_path / 'study.db'}"
    config_file = tmp_path / "optimize.toml"
    config_file.write_text(write_toml(doc))
    storage = doc["study"]["storage"]

    def completed() -> int:
        try:
            study = optuna.load_study(study_name="tiny", storage=open_storage(storage))
        except KeyError:
            return 0
        return len(study.get_trials(states=(TrialState.COMPLETE,)))

    proc = optimize_cli(config_file, tmp_path / "out", env={"HG_TEST_STALL": "1"})
    _wait_for(lambda: completed() >= 1)  # trial 0 done; trial 1 hangs until we stop the run
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143, output
    assert "Continue the study with --resume" in output
    study = optuna.load_study(study_name="tiny", storage=open_storage(storage))
    before = {t.number: t.params for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert len(before) == 1
    interrupted = [t for t in study.trials if t.state != TrialState.COMPLETE]
    assert all(t.state == TrialState.FAIL for t in interrupted)
    assert all(t.user_attrs[FAIL_REASON].startswith("interrupted") for t in interrupted)

    config = parse_optimize_config(doc)
    with pytest.raises(Exception, match="pass --resume"):
        run_optimization(config, tmp_path / "out", progress=False)
    result = run_optimization(config, tmp_path / "out", resume=True, progress=False)
    trials = result.study.trials
    assert len(trials) == 3
    assert {t.number: t.params for t in trials if t.number in before} == before
    assert result.best_number is not None


def test_stale_running_trial_of_a_dead_worker_is_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_events: LogCapture
) -> None:
    """A RUNNING trial older than any possible run is marked FAIL with 'interrupted'."""
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    study = optuna.create_study(study_name="s", storage=storage)
    orphan = study.ask()
    live = study.ask()
    monkeypatch.setattr("hedgegridd.optimize.worker.STALE_SLACK_S", 0.0)
    time.sleep(0.05)
    assert fail_stale_trials(study, storage, timeout_s=0.0) == 2
    assert fail_stale_trials(study, storage, timeout_s=0.0) == 0
    states = {t.number: t.state for t in study.trials}
    assert states == {orphan.number: TrialState.FAIL, live.number: TrialState.FAIL}
    assert study.trials[0].user_attrs[FAIL_REASON].startswith("interrupted")
    stale = [e for e in log_events.entries if e["event"] == "optimize.stale_trial_failed"]
    assert [e["trial"] for e in stale] == [orphan.number, live.number]
    assert all(e["log_level"] == "warning" for e in stale)
    fresh = study.ask()
    assert fail_stale_trials(study, storage, timeout_s=3600.0) == 0
    assert study.trials[fresh.number].state == TrialState.RUNNING


@pytest.mark.slow
def test_two_processes_share_one_journal_storage(tmp_path: Path) -> None:
    """Two `hedgegrid optimize --resume` processes fill one study on a shared journal file."""
    doc = config_doc(study__trials=4, backtest__evaluator=PEERS)
    doc["study"]["storage"] = f"journal:{tmp_path / 'shared' / 'study.log'}"
    config_file = tmp_path / "optimize.toml"
    config_file.write_text(write_toml(doc))
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {"HG_TEST_BARRIER": str(barrier)}
    procs = [optimize_cli(config_file, tmp_path / f"out{i}", "--resume", env=env) for i in range(2)]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    study = optuna.load_study(study_name="tiny", storage=open_storage(doc["study"]["storage"]))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == len(study.trials) == 4  # the budget lock: exactly the budget
    assert len({t.number for t in study.trials}) == len(study.trials)
    pids = {t.user_attrs[WORKER].split(":")[1] for t in study.trials}
    assert len(pids) == 2
    for i in range(2):
        assert (tmp_path / f"out{i}" / "report.html").exists()
