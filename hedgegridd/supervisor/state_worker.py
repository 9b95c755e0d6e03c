"""``StateWorker``: the one thread that owns the SQLite connection of ``AsyncStateStore``.

Results come back to the awaiting task through an asyncio future resolved with
``call_soon_threadsafe`` (the daemon runs anyio on the asyncio backend).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from hedgegridd.errors import StateStoreError

T = TypeVar("T")


class StateWorker:
    """One long-lived thread that runs submitted callables in order."""

    def __init__(self) -> None:
        self._jobs: deque[Callable[[], None]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="hedgegridd-state", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closed:
                    self._cond.wait()
                if not self._jobs:
                    return
                job = self._jobs.popleft()
            job()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the worker thread; its result or exception comes back here."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def _resolve(ok: bool, value: Any) -> None:
            if future.done():
                return
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        def _job() -> None:
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the awaiting task
                loop.call_soon_threadsafe(_resolve, False, exc)
            else:
                loop.call_soon_threadsafe(_resolve, True, result)

        with self._cond:
            if self._closed:
                raise StateStoreError("state store is closed")
            self._jobs.append(_job)
            self._cond.notify()
        return await future

    def shutdown(self) -> None:
        """Finish the queued jobs, then let the thread end; later calls raise."""
        with self._cond:
            self._closed = True
            self._cond.notify()
