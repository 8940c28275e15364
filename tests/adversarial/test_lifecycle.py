"""A trade's whole life the hard way: a limit entry filled in part, its exit, and a reverse 300 ms
after the exit was sent. The stop is sized to what filled, nothing protective survives the exit,
and the reverse waits its turn."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal
from typing import Any

from tests.helpers import PASSPHRASE, alert, fired

SIGNAL = "/webhook/signal"


def signal(action: str, **fields: Any) -> dict[str, Any]:
    return {
        "action": action,
        "ticker": "BTCUSDT",
        "connectorName": "Testing",
        "connectorToken": PASSPHRASE,
        **fields,
    }


async def test_partial_fill_exit_then_reverse(make_client: Any, figure: Any) -> None:
    client = await make_client(PAPER_LATENCY_MS="200")
    core = client.core
    entry = signal(
        "openLong", price="40000", limit="39000", fixed="0.5", loss="38000", profit="42000"
    )
    status, answer = await client.post(SIGNAL, entry, wait=2.5)
    assert answer["status"] == "executed" and "resting" in answer["message"], answer
    first = answer["alert_id"]

    await core.paper.feed_price("BTCUSDT", Decimal(39000), volume=Decimal("0.2"))  # 0.2 of 0.5
    await core.executor.queues.drain()
    orders = await core.venues.get("Testing").exchange.fetch_open_orders("BTCUSDT")
    stop = next(o for o in orders if o.client_id == f"{first}sl")
    entry_left = next(o for o in orders if o.client_id == f"{first}od")
    assert stop.amount == Decimal("0.2") == entry_left.filled, "the stop covers what filled"

    exit_body = json.dumps(alert(message="exit", action="sell", price=39100, time=fired(0)))
    leaving = asyncio.create_task(client.post("/tradingview-to-webhook-order", exit_body))
    await asyncio.sleep(0.3)  # the reverse arrives while the exit is still at the venue
    reverse = alert(
        action="sell",
        price=39100,
        **{"short SL": 39500, "short TP": 38000},
        time=fired(1),
        message="entry",
    )
    _, turned = await client.post("/tradingview-to-webhook-order", reverse)
    _, left = await leaving
    await core.executor.queues.drain()

    with sqlite3.connect(core.settings.data_dir / "paper.sqlite3") as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM paper_orders ORDER BY timestamp")]
    ours = [r for r in rows if r["client_id"].startswith(first)]
    assert all(r["status"] in ("closed", "canceled", "expired") for r in ours), ours
    close = next(r for r in rows if r["client_id"] == f"{left['alert_id']}cx")
    new_entry = next(r for r in rows if r["client_id"] == f"{turned['alert_id']}en")
    assert close["timestamp"] < new_entry["timestamp"], "the reverse waited for the exit"
    positions = await core.venues.get("Testing").exchange.fetch_positions()
    open_now = await core.venues.get("Testing").exchange.fetch_open_orders("BTCUSDT")
    [short] = positions
    stops = [o for o in open_now if o.type.value == "stop"]
    figure(
        "lifecycle",
        f"partial fill 0.2 of 0.5 → stop 0.2; after exit, {len(ours)} orders of "
        f"the first trade all final; reverse short {short.size} with stop {stops[0].amount}",
    )
    assert short.size < 0 and len(stops) == 1 and stops[0].amount == -short.size
