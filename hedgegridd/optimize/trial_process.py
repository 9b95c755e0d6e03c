"""Run one backtest in a child process that is killed when it overruns.

A thread cannot be stopped and a backtest inside the engine's Rust/Cython code
does not look at flags, so evaluations run in a ``spawn``ed child process
(``TrialRunner``, reused across a worker's trials so imports are paid once):
on timeout it is terminated (then killed) and replaced, on a crash its exit
code is read, and the reason comes back as a ``TrialFailure``. The child's
address space is capped with ``RLIMIT_AS`` so one runaway trial cannot take the
host's memory. The spawn context is created once, at import, never by calling
``multiprocessing.set_start_method`` (which is global and may only be set once).
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import resource
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import structlog

from hedgegridd.optimize.config import BacktestSection, DataSection
from hedgegridd.optimize.metrics import BacktestOutcome, Metrics, compute_metrics

SPAWN = multiprocessing.get_context("spawn")
_KILL_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class BacktestTask:
    """Everything a child needs to run one backtest window (picklable)."""

    params: dict[str, Any]  # StrategyParams as a JSON-mode mapping
    data: DataSection
    start_ns: int
    end_ns: int
    venue: BacktestSection
    seed: int


@dataclass(frozen=True, slots=True)
class TrialFailure:
    """Why an evaluation produced no metrics (recorded on the failed trial)."""

    reason: str


def load_evaluator(path: str) -> Callable[[BacktestTask], BacktestOutcome]:
    """Import ``module:function``."""
    module_name, _, func = path.partition(":")
    module = importlib.import_module(module_name)
    fn: Callable[[BacktestTask], BacktestOutcome] = getattr(module, func)
    return fn


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _evaluate(evaluator: str, task: BacktestTask, memory_mb: int) -> tuple[str, object]:
    try:
        return "ok", compute_metrics(load_evaluator(evaluator)(task))
    except MemoryError:
        return "error", f"out of memory (limit {memory_mb} MB)"
    except Exception as exc:  # noqa: BLE001 - not swallowed: the reason goes to the parent
        last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
        return "error", f"{type(exc).__name__}: {exc}{where}"[:500]


def _prepare(evaluator: str, task: BacktestTask, memory_mb: int) -> tuple[str, object]:
    """Import the evaluator and run its optional ``prepare(task)`` (data loading) hook."""
    try:
        module_name, _, _func = evaluator.partition(":")
        hook = getattr(importlib.import_module(module_name), "prepare", None)
        if hook is not None:
            hook(task)
        return "ok", None
    except MemoryError:
        return "error", f"out of memory (limit {memory_mb} MB)"
    except Exception as exc:  # noqa: BLE001 - not swallowed: the reason goes to the parent
        return "error", f"{type(exc).__name__}: {exc}"[:500]


def _child(requests: Connection, replies: Connection, memory_mb: int) -> None:
    """Child loop: cap memory once, then serve requests until told to stop (None)."""
    _limit_memory(memory_mb)
    # Per-order strategy events would flood the worker's output: warnings and errors only.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    while True:
        try:
            request = requests.recv()
        except EOFError:
            return
        if request is None:
            return
        kind, evaluator, task = request
        serve = _prepare if kind == "prepare" else _evaluate
        replies.send(serve(evaluator, task, memory_mb))


class TrialRunner:
    """A reusable, killable child process for evaluations (one per worker).

    The child is started lazily and *prepared* first (evaluator imported, its
    optional ``prepare(task)`` hook run, e.g. market data loaded) under
    ``startup_timeout_s``, so a trial's own timeout measures the trial, not the
    process start. It is reused for up to ``recycle_after`` evaluations (imports
    and data are paid once; any memory it leaks is bounded by the recycling and
    by ``RLIMIT_AS``) and killed and replaced when an evaluation overruns or it
    dies. Use as a context manager, or call ``close()``.
    """

    def __init__(
        self, *, memory_mb: int, recycle_after: int = 20, startup_timeout_s: float = 900.0
    ) -> None:
        self.memory_mb = memory_mb
        self.recycle_after = recycle_after
        self.startup_timeout_s = startup_timeout_s
        self._proc: Any = None
        self._requests: Connection | None = None
        self._replies: Connection | None = None
        self._served = 0

    @property
    def pid(self) -> int | None:
        """Process id of the current trial process (None before the first evaluation)."""
        return None if self._proc is None else int(self._proc.pid)

    def __enter__(self) -> TrialRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        req_recv, req_send = SPAWN.Pipe(duplex=False)
        rep_recv, rep_send = SPAWN.Pipe(duplex=False)
        self._proc = SPAWN.Process(
            target=_child, args=(req_recv, rep_send, self.memory_mb), name="hedgegrid-trial"
        )
        self._proc.start()
        req_recv.close()
        rep_send.close()
        self._requests, self._replies = req_send, rep_recv
        self._served = 0

    def close(self, *, kill: bool = False) -> None:
        """Stop the child (politely, or at once with ``kill``) and release the pipes."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if not kill and self._requests is not None:
            try:
                self._requests.send(None)
            except OSError:
                kill = True
            proc.join(0 if kill else _KILL_GRACE_S)
        if proc.is_alive():
            proc.terminate()
            proc.join(_KILL_GRACE_S)
        if proc.is_alive():
            proc.kill()
            proc.join()
        for conn in (self._requests, self._replies):
            if conn is not None:
                conn.close()
        self._requests = self._replies = None

    def _request(
        self, kind: str, evaluator: str, task: BacktestTask, timeout_s: float
    ) -> Metrics | TrialFailure | None:
        """Send one request; None means "prepared", else the evaluation's result or failure."""
        assert self._requests is not None
        assert self._replies is not None
        started = time.monotonic()
        self._requests.send((kind, evaluator, task))
        status, value, exitcode = "died", None, None
        try:
            if self._replies.poll(timeout_s):
                status, value = self._replies.recv()
            else:
                status = "timeout"
        except EOFError:
            status = "died"
        finally:
            if status not in ("ok", "error"):
                proc = self._proc
                self.close(kill=status == "timeout")
                exitcode = proc.exitcode
        elapsed = time.monotonic() - started
        what = "startup" if kind == "prepare" else "timeout"
        if status == "ok":
            return value if isinstance(value, Metrics) else None
        if status == "error":
            if str(value).startswith("out of memory"):
                self.close(kill=True)  # do not reuse a process that hit its memory cap
            prefix = "trial process could not start: " if kind == "prepare" else ""
            return TrialFailure(f"{prefix}{value}")
        if status == "timeout":
            return TrialFailure(f"{what}: killed after {elapsed:.1f} s (limit {timeout_s:g} s)")
        if exitcode is not None and exitcode < 0:
            return TrialFailure(f"trial process killed by signal {-exitcode} (memory cap or OOM?)")
        return TrialFailure(f"trial process died with exit code {exitcode}")

    def evaluate(
        self, evaluator: str, task: BacktestTask, *, timeout_s: float
    ) -> Metrics | TrialFailure:
        """Run ``evaluator(task)`` in the child; kill the child after ``timeout_s`` seconds."""
        if self._proc is None or not self._proc.is_alive() or self._served >= self.recycle_after:
            self.close()
            self._start()
            prepared = self._request("prepare", evaluator, task, self.startup_timeout_s)
            if isinstance(prepared, TrialFailure):
                self.close(kill=True)
                return prepared
        result = self._request("evaluate", evaluator, task, timeout_s)
        self._served += 1
        if result is None:
            return TrialFailure("evaluator returned no metrics")
        return result


def evaluate_in_child(
    evaluator: str, task: BacktestTask, *, timeout_s: float, memory_mb: int
) -> Metrics | TrialFailure:
    """One evaluation in a fresh child process (killed after ``timeout_s`` seconds)."""
    with TrialRunner(memory_mb=memory_mb, recycle_after=1) as runner:
        return runner.evaluate(evaluator, task, timeout_s=timeout_s)
