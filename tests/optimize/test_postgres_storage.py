"""Scale-out on a real PostgreSQL server: two optimizer processes share one study's budget."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hedgegridd.optimize.storage import BudgetLock, open_storage
from hedgegridd.optimize.worker import WORKER

from .helpers import config_doc, optimize_cli, write_toml
from .pgcluster import PASSWORD, Cluster, server_bindir, throwaway_cluster

PEERS = "tests.optimize.evaluators:waits_for_a_peer"
BUDGET = 8


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A throwaway cluster for this module (initdb, pg_ctl start ... stop)."""
    bindir = server_bindir()
    if bindir is None:
        pytest.skip("postgresql not installed")
    with throwaway_cluster(bindir) as running:
        yield running


@pytest.mark.slow
def test_two_workers_complete_one_study_budget_on_postgresql(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `hedgegrid optimize --resume` processes run exactly the budget, no trial twice."""
    doc = config_doc(study__trials=BUDGET, backtest__evaluator=PEERS, study__name="pg")
    doc["study"]["storage"] = cluster.url
    config_file = tmp_path / "optimize.toml"
    config_file.write_text(write_toml(doc))
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {"HG_TEST_BARRIER": str(barrier), "PGPASSFILE": str(cluster.passfile)}
    procs = [
        optimize_cli(config_file, tmp_path / f"out{i}", "--resume", "--workers", "1", env=env)
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs

    monkeypatch.setenv("PGPASSFILE", str(cluster.passfile))
    study = optuna.load_study(study_name="pg", storage=open_storage(cluster.url))
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == BUDGET
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(t.number for t in trials) == list(range(BUDGET))
    assert len({t._trial_id for t in trials}) == BUDGET
    workers = {t.user_attrs[WORKER] for t in trials}
    assert len({w.split(":")[1] for w in workers}) == 2, workers  # both processes ran trials
    for i, output in enumerate(outputs):
        summary = json.loads((tmp_path / f"out{i}" / "summary.json").read_text())
        assert summary["storage"] == cluster.url
        assert PASSWORD not in output


@pytest.mark.slow
def test_budget_lock_is_a_postgresql_advisory_lock(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one worker holds the study's budget lock, another cannot take it."""
    monkeypatch.setenv("PGPASSFILE", str(cluster.passfile))
    storage = open_storage(cluster.url)
    first = BudgetLock(cluster.url, storage, "locked")
    second = BudgetLock(cluster.url, open_storage(cluster.url), "locked")
    other_study = BudgetLock(cluster.url, storage, "another")
    assert first.kind == "advisory"
    with first:
        assert not second.try_acquire()
        assert other_study.try_acquire()
        other_study.release()
    assert second.try_acquire()
    second.release()
