"""A SQLite connection owned by one thread, with group commit: many writers, one fsync per batch."""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
Job = tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]
Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]
_STOP = object()
_MAX_BATCH = 256


class SqliteWorker:
    """Runs jobs `fn(conn)` on a private thread. Jobs queued together share one transaction.

    A batch commits once. If a job in it raises, the batch rolls back and each job runs again
    alone, so only the failing one raises in its caller (jobs touch nothing but the database,
    so running one again is safe). Futures resolve only after COMMIT, so an awaited job is
    durable (WAL, synchronous=FULL) when it returns.
    """

    def __init__(
        self, path: Path, *, synchronous: str = "full", setup: Callable[[sqlite3.Connection], None]
    ) -> None:
        self.path = path
        self.synchronous = synchronous.upper()
        self._setup = setup
        self._queue: queue.SimpleQueue[Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.commits = 0
        self.jobs = 0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"sqlite-{self.path.name}", daemon=True
        )
        self._thread.start()
        await ready

    async def close(self) -> None:
        if self._thread is None:
            return
        self._queue.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        self._thread = None

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue a job and return its future (await it, or leave it to commit in the background)."""
        if self._loop is None or self._thread is None:
            raise RuntimeError(f"{self.path.name}: storage is not running")
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put((fn, future))
        return future

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.submit(fn)

    # --- the thread ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA foreign_keys=ON")
        self._setup(conn)
        return conn

    def _run(self, ready: asyncio.Future[None]) -> None:
        assert self._loop is not None
        try:
            conn = self._connect()
        except Exception as e:  # noqa: BLE001 - reported to the awaiting start()
            self._loop.call_soon_threadsafe(_settle, [(ready, None, e)])
            return
        self._loop.call_soon_threadsafe(_settle, [(ready, None, None)])
        stopping = False
        while not stopping:
            batch: list[Job] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
                if len(batch) >= _MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._run_batch(conn, batch)
        conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[Job]) -> None:
        assert self._loop is not None
        outcomes = self._try_together(conn, batch)
        if outcomes is None:
            # One job failed: run each alone, so only that one fails and the others commit.
            outcomes = [self._run_alone(conn, fn, future) for fn, future in batch]
        self.jobs += len(batch)
        self._loop.call_soon_threadsafe(_settle, outcomes)

    def _try_together(self, conn: sqlite3.Connection, batch: list[Job]) -> list[Outcome] | None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            outcomes: list[Outcome] = [(future, fn(conn), None) for fn, future in batch]
            conn.execute("COMMIT")
        except Exception:  # noqa: BLE001 - retried one by one, where the error is reported
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return None
        self.commits += 1
        return outcomes

    def _run_alone(
        self,
        conn: sqlite3.Connection,
        fn: Callable[[sqlite3.Connection], Any],
        future: asyncio.Future[Any],
    ) -> Outcome:
        try:
            conn.execute("BEGIN IMMEDIATE")
            result = fn(conn)
            conn.execute("COMMIT")
        except Exception as e:  # noqa: BLE001 - the job's own caller gets it
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.OperationalError):
                logger.error("%s: %s", self.path.name, e)
            return (future, None, e)
        self.commits += 1
        return (future, result, None)


def _settle(outcomes: list[Outcome]) -> None:
    for future, result, error in outcomes:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
