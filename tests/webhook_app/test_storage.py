"""The storage thread: group commit, and a failing job that rolls back alone."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from webhook_app.storage import SqliteWorker


def setup(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY)")


async def test_concurrent_jobs_share_commits_and_a_failure_rolls_back_alone(tmp_path: Path) -> None:
    worker = SqliteWorker(tmp_path / "x.sqlite3", setup=setup)
    await worker.start()

    def insert(key: str):  # type: ignore[no-untyped-def]
        return lambda conn: conn.execute("INSERT INTO t VALUES (?)", (key,))

    jobs = [worker.submit(insert(f"k{i}")) for i in range(200)]
    jobs.append(worker.submit(insert("k5")))  # duplicate key: fails on its own
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert sum(isinstance(r, sqlite3.IntegrityError) for r in results) == 1
    count = await worker.run(lambda conn: conn.execute("SELECT COUNT(*) FROM t").fetchone()[0])
    assert count == 200
    assert worker.commits < worker.jobs  # batched
    await worker.close()


async def test_submit_before_start_is_an_error(tmp_path: Path) -> None:
    worker = SqliteWorker(tmp_path / "y.sqlite3", setup=setup)
    with pytest.raises(RuntimeError, match="not running"):
        worker.submit(lambda conn: None)
