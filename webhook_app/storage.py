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
_STOP = object()
_MAX_BATCH = 256


class SqliteWorker:
    """Runs jobs `fn(conn)` on a private thread. Jobs queued together share one transaction.

    Each job runs inside its own SAVEPOINT, so a failing job rolls back alone and raises in its
    caller, while the others in the batch still commit. Futures resolve only after COMMIT, so
    an awaited job is durable (WAL, synchronous=FULL) when it returns.
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
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, future in batch:
                conn.execute("SAVEPOINT job")
                try:
                    result = fn(conn)
                except Exception as e:  # noqa: BLE001 - the job's own caller gets it
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((future, None, e))
                    continue
                conn.execute("RELEASE job")
                outcomes.append((future, result, None))
            conn.execute("COMMIT")
            self.commits += 1
            self.jobs += len(batch)
        except sqlite3.Error as e:
            logger.exception("%s: commit failed", self.path.name)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(future, None, e) for _, future in batch]
        self._loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
