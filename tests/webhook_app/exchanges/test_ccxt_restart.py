"""A restart against a real venue: nothing is sent twice, and what differs is reported."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.fakes.ccxt_venues import FakeVenue, connect
from tests.helpers import ORDER
from tests.webhook_app.exchanges.conftest import PERP
from tests.webhook_app.exchanges.test_ccxt_venue import entry


def creates(fake: FakeVenue) -> int:
    return fake.total_created


async def test_an_interrupted_alert_is_reconciled_by_client_id_not_sent_again(
    venue_app: Any,
) -> None:
    client, fake = await venue_app("binance")
    status, answer = await client.post(ORDER, entry("futures"), wait=2.5)
    assert answer["status"] == "executed", answer
    aid = answer["alert_id"]
    # The process died after the orders left, before the journal heard back.
    await client.core.journal.set_status(aid, "executing", "")
    await client.http.close()
    before = creates(fake)

    client, fake = await venue_app("binance", fake=fake)
    status, answer = await client.get(f"/alerts/{aid}")
    assert answer["status"] == "needs_review", answer
    assert "entry closed" in answer["message"] and "stop open" in answer["message"]
    assert creates(fake) == before, "an order was sent again after the restart"


async def test_a_resting_limit_entry_survives_a_restart_once(venue_app: Any) -> None:
    client, fake = await venue_app("bybit")
    body = entry("futures", type="limit", price=59500, **{"long SL": 58500, "long TP": 61500})
    status, answer = await client.post(ORDER, body, wait=2.5)
    assert answer["status"] == "executed" and "resting" in answer["message"], answer
    await client.http.close()
    before = creates(fake)

    client, fake = await venue_app("bybit", fake=fake)
    status, orders = await client.get("/api/orders", headers=client_auth())
    assert creates(fake) == before
    entries = [o for o in fake.open_orders(PERP) if o.client_id.endswith("en")]
    assert len(entries) == 1 and entries[0].attached == {
        "stop_loss": 58500.0,
        "take_profit": 61500.0,
    }


async def test_start_up_reports_what_the_journal_does_not_know(
    venue_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client, fake = await venue_app("binance")
    await client.http.close()
    # Meanwhile, someone traded by hand: a position without a stop, and an order of their own.
    manual = await connect("binance", "swap", fake.base_url)
    try:
        await manual.create_order(PERP, "market", "buy", 0.05, None, {"clientOrderId": "byhand1"})
        await manual.create_order(PERP, "limit", "buy", 0.01, 50000, {"clientOrderId": "byhand2"})
    finally:
        await manual.close()
    caplog.set_level(logging.INFO)

    client, fake = await venue_app("binance", fake=fake)
    text = caplog.text
    assert "was not placed by this bot" in text and "byhand2" in text
    assert "position 0.050 BTC/USDT:USDT has NO stop at the venue" in text
    assert "discord errors" in text  # on its way to the errors channel


def client_auth() -> dict[str, str]:
    from tests.helpers import API_TOKEN

    return {"Authorization": f"Bearer {API_TOKEN}"}
