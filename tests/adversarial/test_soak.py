"""Soak: a real server process takes 200 alerts a second for 60 s over loopback, each on a new
connection as TradingView sends them: entries and exits in turn on 50 symbols, so the account's
state stays bounded and any growth in memory is the process's own. No errors, every accepted
alert journaled exactly once, and memory levels off."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.harness import percentile
from bench.run import app_server, entry_body, wait_idle

RATE = 200  # alerts per second
SECONDS = 60
SYMBOLS = 50
ORDER = "/tradingview-to-webhook-order"


def body(i: int) -> str:
    """Alert i: on symbol i mod 50, an entry in even rounds and its exit in odd ones."""
    data = json.loads(entry_body(i, "soak"))
    data["ticker"] = f"SOAK{i % SYMBOLS}USDT"
    data["message"] = "entry" if (i // SYMBOLS) % 2 == 0 else "exit"
    data["comment"] = f"soak {i}"  # each alert its own, never a duplicate of an earlier one
    return json.dumps(data)


@pytest.mark.slow
async def test_200_alerts_a_second_for_a_minute(tmp_path: Path, figure: Any) -> None:
    data = tmp_path / "data"
    server = app_server(data, latency_ms=5, sync="full")
    await server.start()
    url = f"http://127.0.0.1:{server.port}{ORDER}"
    total = RATE * SECONDS
    codes: Counter[int] = Counter()
    errors: list[str] = []
    acks: list[float] = []
    rss: list[float] = []

    async def one(http: aiohttp.ClientSession, i: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        began = time.monotonic()
        try:
            async with http.post(url, data=body(i)) as response:
                await response.read()
                codes[response.status] += 1
                if response.status >= 300:
                    errors.append(f"HTTP {response.status}")
        except (TimeoutError, aiohttp.ClientError) as e:
            errors.append(type(e).__name__)
        acks.append((time.monotonic() - began) * 1000)

    async def sample_memory() -> None:
        while True:
            rss.append(server.rss_mb())
            await asyncio.sleep(5)

    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            sampler = asyncio.create_task(sample_memory())
            start = time.monotonic() + 0.1
            await asyncio.gather(*(one(http, i, start + i / RATE) for i in range(total)))
            sent_in = time.monotonic() - start
            sampler.cancel()
        await wait_idle(data)
        rss.append(server.rss_mb())
    finally:
        server.stop()

    with sqlite3.connect(f"file:{data / 'journal.sqlite3'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT COUNT(*), COUNT(DISTINCT idem_key) FROM alerts").fetchone()
        statuses = dict(conn.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status"))
    accepted = codes[202] + codes[200]
    assert errors == [], Counter(errors)
    assert rows == (accepted, accepted) and accepted == total
    # After the first samples (imports, caches warm), memory levels off.
    settled = rss[2:]
    growth = max(settled) - min(settled) if settled else 0.0
    assert growth < 50, f"memory kept growing: {rss}"
    figure(
        "soak",
        f"{total} alerts at {RATE}/s, sent in {sent_in:.1f} s ({total / sent_in:.0f}/s): errors "
        f"{len(errors)}, journal rows {rows[0]} = accepted {accepted}, statuses {statuses}; ack "
        f"p50 {percentile(acks, 50):.1f} ms, p99 {percentile(acks, 99):.1f} ms; RSS "
        f"{rss[0]:.0f} → {rss[-1]:.0f} MB (every 5 s: {', '.join(f'{r:.0f}' for r in rss)})",
    )
