"""A real server process, killed with SIGKILL at random points while 1,000 alerts stream in, and
restarted on the same DATA_DIR each time. The sender retries what got no answer, as a careful
client would. Every alert answered 2xx must end final, none may be lost, and none may trade twice.

Each alert is an entry on its own symbol, so "traded twice" is simply two entry orders on one
symbol at the paper exchange, whatever client ids they carry."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.harness import Server
from bench.run import app_server, entry_body, wait_idle
from webhook_app.journal_schema import FINAL

ALERTS = 1000
SENDERS = 16
ORDER = "/tradingview-to-webhook-order"


def read(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.slow
async def test_sigkill_while_alerts_stream_in_loses_and_doubles_nothing(
    tmp_path: Path, figure: Any
) -> None:
    data = tmp_path / "data"
    server: Server = app_server(data, latency_ms=5, sync="full")
    await server.start()
    rng = random.Random(2026)
    run = f"{rng.randrange(10**6)}"
    bodies = [entry_body(i, run) for i in range(ALERTS)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(ALERTS):
        queue.put_nowait(i)
    answers: dict[int, tuple[int, dict[str, Any]]] = {}
    unanswered = 0  # deliveries cut off by a kill (then sent again)
    kills = 0
    done = asyncio.Event()

    async def sender(http: aiohttp.ClientSession) -> None:
        nonlocal unanswered
        url = f"http://127.0.0.1:{server.port}{ORDER}"
        while not queue.empty():
            i = queue.get_nowait()
            while True:
                try:
                    async with http.post(url, data=bodies[i]) as response:
                        answers[i] = (response.status, await response.json(content_type=None))
                        break
                except (TimeoutError, aiohttp.ClientError, json.JSONDecodeError):
                    unanswered += 1
                    await asyncio.sleep(0.05)  # the server is down: try again shortly

    async def killer() -> None:
        nonlocal kills
        while not done.is_set():
            await asyncio.sleep(rng.uniform(0.15, 0.6))
            if done.is_set():
                break
            assert server.process is not None
            server.process.kill()  # SIGKILL: no shutdown, no flush
            server.process.wait()
            kills += 1
            await server.start()

    started = time.monotonic()
    connector = aiohttp.TCPConnector(force_close=True)  # a new connection per alert
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        killing = asyncio.create_task(killer())
        await asyncio.gather(*(sender(http) for _ in range(SENDERS)))
        done.set()
        await killing
    try:
        await wait_idle(data)  # the last start-up recovered what the last kill interrupted
    finally:
        server.stop()
    took = time.monotonic() - started

    codes = Counter(code for code, _ in answers.values())
    accepted = {i: body["alert_id"] for i, (code, body) in answers.items() if code < 300}
    journal = dict(read(data / "journal.sqlite3", "SELECT id, status FROM alerts"))
    lost = [a for a in accepted.values() if a not in journal]
    unfinished = [a for a in accepted.values() if journal.get(a) not in FINAL]
    entries = Counter(
        symbol
        for symbol, client_id in read(
            data / "paper.sqlite3", "SELECT symbol, client_id FROM paper_orders"
        )
        if client_id.endswith("en")
    )
    doubled = [s for s, n in entries.items() if n > 1]
    statuses = Counter(journal.values())
    assert kills >= 3, "the server was hardly killed: the test proves little"
    assert len(answers) == ALERTS and set(codes) <= {200, 202}, codes
    assert len(journal) == ALERTS, "each alert journaled once, retries being duplicates"
    assert (lost, unfinished, doubled) == ([], [], [])
    figure(
        "crash",
        f"{ALERTS} alerts, {kills} SIGKILLs in {took:.0f} s, {unanswered} deliveries cut off and "
        f"sent again → answers {dict(codes)}; journal {dict(statuses)}; lost 0, unfinished 0, "
        f"symbols with two entries 0 ({sum(entries.values())} entries at the paper exchange)",
    )
