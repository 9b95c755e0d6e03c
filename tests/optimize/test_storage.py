"""Study storage selection: SQLite default, RDB URLs, journal files; clean warnings."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage, RDBStorage

import hedgegridd.optimize as optimize_pkg
from hedgegridd.errors import ConfigError
from hedgegridd.optimize.storage import BudgetLock, default_storage_url, open_storage, redact
from hedgegridd.optimize.worker import ask_within_budget


def test_default_is_sqlite_in_the_output_folder(tmp_path: Path) -> None:
    """Without study.storage the study lives in <out>/study.db."""
    url = default_storage_url(tmp_path)
    assert url == f"sqlite:///{tmp_path.resolve() / 'study.db'}"
    assert isinstance(open_storage(url), RDBStorage)


def test_journal_storage_on_a_shared_path(tmp_path: Path) -> None:
    """journal:/path opens Optuna's journal storage, creating the folder."""
    storage = open_storage(f"journal:{tmp_path / 'shared' / 'study.log'}")
    assert isinstance(storage, JournalStorage)
    optuna.create_study(study_name="j", storage=storage).optimize(lambda t: 1.0, n_trials=1)
    assert (tmp_path / "shared" / "study.log").stat().st_size > 0


def test_bad_or_unreachable_storage_is_a_config_error_without_password() -> None:
    """Malformed URLs and missing drivers become ConfigError; passwords never show."""
    with pytest.raises(ConfigError, match="expected sqlite:///path"):
        open_storage("study.db")
    with pytest.raises(ConfigError) as info:
        open_storage("postgresql://optuna:hunter2@127.0.0.1:1/optuna")
    assert "hunter2" not in str(info.value)
    assert "optuna:***@127.0.0.1" in str(info.value)
    assert redact("mysql://u:p@h/db") == "mysql://u:***@h/db"


def test_sqlite_study_raises_no_deprecation_warnings(tmp_path: Path) -> None:
    """Recording trials in SQLite emits no (datetime adapter) deprecation warnings."""
    storage = open_storage(default_storage_url(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = optuna.create_study(study_name="w", storage=storage)
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        assert len(study.trials) == 2
    assert not [w for w in caught if issubclass(w.category, DeprecationWarning)]


def test_package_import_is_light_and_exports_the_api() -> None:
    """The package exports its API lazily and importing it does not load Nautilus."""
    assert callable(optimize_pkg.run_optimization)
    assert callable(optimize_pkg.load_optimize_config)
    with pytest.raises(AttributeError):
        _ = optimize_pkg.nope
    probe = (
        "import sys, hedgegridd.optimize.study, hedgegridd.optimize.cli; "
        "print('nautilus_trader' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_budget_lock_on_a_file_storage_excludes_a_second_holder(tmp_path: Path, kind: str) -> None:
    """The budget lock next to an SQLite or journal file admits one holder at a time."""
    url = (
        f"sqlite:///{tmp_path / 'study.db'}"
        if kind == "sqlite"
        else f"journal:{tmp_path / 'study.log'}"
    )
    storage = open_storage(url)
    first, second = BudgetLock(url, storage, "s"), BudgetLock(url, storage, "s")
    assert first.kind == "file"
    with first:
        assert not second.try_acquire()
    assert second.try_acquire()
    second.release()
    assert first.try_acquire()
    first.release()


def test_workers_stop_at_exactly_the_budget(tmp_path: Path) -> None:
    """ask_within_budget hands out trials until the study holds the budget, then None."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    storage = open_storage(url)
    study = optuna.create_study(study_name="b", storage=storage)
    budget = BudgetLock(url, storage, "b")
    asked = []
    while (trial := ask_within_budget(study, 3, budget)) is not None:
        asked.append(trial.number)
    assert asked == [0, 1, 2]
    assert len(study.trials) == 3
