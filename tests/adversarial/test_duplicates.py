"""500 alerts, each delivered 1 to 5 times at once (TradingView retries, a proxy replays): at most
one set of orders per alert."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections import Counter
from typing import Any

from tests.helpers import alert


async def test_repeated_deliveries_make_one_order_set(make_client: Any, figure: Any) -> None:
    client = await make_client()
    rng = random.Random(7)
    deliveries = []
    for i in range(500):
        body = json.dumps(alert(ticker=f"D{i}USDT", risk=0.01, long_SL=20000)).encode()
        deliveries += [(i, body)] * rng.randint(1, 5)
    rng.shuffle(deliveries)
    answers = await asyncio.gather(
        *(client.post("/tradingview-to-webhook-order", body) for _, body in deliveries)
    )
    assert all(status < 300 for status, _ in answers), {s for s, _ in answers}
    await client.core.executor.queues.drain()
    ids_per_alert: dict[int, set[str]] = {}
    for (i, _), (_, answer) in zip(deliveries, answers, strict=True):
        ids_per_alert.setdefault(i, set()).add(answer["alert_id"])
    data_dir = client.core.settings.data_dir
    with sqlite3.connect(data_dir / "paper.sqlite3") as conn:
        entries = Counter(
            symbol
            for (symbol,) in conn.execute(
                "SELECT symbol FROM paper_orders WHERE client_id LIKE '%en'"
            )
        )
    statuses = Counter(answer["status"] for _, answer in answers)
    figure(
        "duplicates",
        f"{len(deliveries)} deliveries of 500 alerts → "
        f"{len(entries)} entries, max per alert {max(entries.values())}, answers {dict(statuses)}",
    )
    assert all(len(ids) == 1 for ids in ids_per_alert.values()), "one alert id per alert"
    rows = await client.core.journal.query("SELECT symbol, status, message FROM alerts")
    missing = [r for r in rows if r["symbol"] not in entries]
    assert len(entries) == 500 and max(entries.values()) == 1, missing[:3]
    assert statuses["duplicate"] == len(deliveries) - 500
