"""Delayed orders (seed 001 delaySeconds): durable, run once after a restart, cancellable."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.helpers import PASSPHRASE, Client, make_settings


def signal(action: str, **fields: Any) -> dict[str, Any]:
    return {
        "action": action,
        "ticker": "BTCUSDT",
        "price": "40000",
        "connectorName": "Testing",
        "connectorToken": PASSPHRASE,
        **fields,
    }


async def fills(client: Client) -> int:
    return await client.core.paper.store.run(
        lambda conn: conn.execute("SELECT COUNT(*) FROM paper_fills").fetchone()[0]
    )


async def until(condition: Any, limit_s: float = 5.0) -> None:
    deadline = time.monotonic() + limit_s
    while not await condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.02)


async def test_a_delayed_order_runs_after_its_delay(client: Client) -> None:
    code, answer = await client.post(
        "/webhook/signal", signal("openLong", fixed="0.1", delaySeconds="0.3")
    )
    assert (code, answer["status"]) == (202, "scheduled") and "delayed by 0.3 s" in answer[
        "message"
    ]
    assert await fills(client) == 0
    await until(lambda: _status_is(client, answer["alert_id"], "executed"))
    assert await fills(client) == 1


async def _status_is(client: Client, alert_id: str, status: str) -> bool:
    return (await client.get(f"/alerts/{alert_id}"))[1]["status"] == status


async def test_the_filter_word_decides_whether_to_delay(client: Client) -> None:
    _, delayed = await client.post(
        "/webhook/signal",
        signal(
            "openLong", fixed="0.1", delaySeconds="60", delaySecondsFilter="slow", log="go slow"
        ),
    )
    _, now = await client.post(
        "/webhook/signal",
        signal(
            "openLong",
            fixed="0.1",
            delaySeconds="60",
            delaySecondsFilter="slow",
            log="go fast",
            clientOrderId="fast-1",
        ),
        wait=2.5,
    )
    assert (delayed["status"], now["status"]) == ("scheduled", "executed")


async def test_a_delayed_order_survives_a_restart_and_runs_once(
    make_client: Any, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data")
    first = await make_client(settings)
    _, answer = await first.post(
        "/webhook/signal", signal("openLong", fixed="0.1", delaySeconds="0.5")
    )
    await first.http.close()  # stopped before the delay is over
    await asyncio.sleep(0.6)
    second = await make_client(settings)
    await until(lambda: _status_is(second, answer["alert_id"], "executed"))
    await second.http.close()
    third = await make_client(settings)  # a later restart does not run it again
    await asyncio.sleep(0.3)
    assert await fills(third) == 1
    positions = await third.core.venues.get("Testing").exchange.fetch_positions()
    assert [p.size for p in positions] == [Decimal("0.1")]


async def test_cancel_removes_a_delayed_order_before_it_runs(client: Client) -> None:
    _, delayed = await client.post(
        "/webhook/signal",
        signal("openLong", fixed="0.1", delaySeconds="0.3", clientOrderId="later-1"),
    )
    code, answer = await client.post("/webhook/signal", signal("cancel", clientOrderId="later-1"))
    assert (code, answer["status"]) == (200, "executed")
    assert "cancelled the delayed order later-1 before it ran" in answer["message"]
    await asyncio.sleep(0.5)
    assert await _status_is(client, delayed["alert_id"], "cancelled")
    assert await fills(client) == 0


async def test_cancel_all_removes_delayed_orders_too(client: Client) -> None:
    _, delayed = await client.post(
        "/webhook/signal",
        signal("openLong", fixed="0.1", delaySeconds="30", clientOrderId="later-2"),
    )
    _, answer = await client.post("/webhook/signal", signal("cancelAll"), wait=2.5)
    assert answer["status"] == "executed" and "1 delayed order(s) cancelled" in answer["warnings"]
    assert await _status_is(client, delayed["alert_id"], "cancelled")
