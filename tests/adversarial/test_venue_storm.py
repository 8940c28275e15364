"""A venue in a storm (the ccxt fake): 30 % 5xx, 10 % 429 with Retry-After, 5 % timeouts after
accepting, 5 % insufficient funds. Every alert resolves; no order twice; nothing sent inside a
Retry-After; no fatal error retried."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from tests.fakes.ccxt_venues import FakeVenue
from tests.helpers import ORDER, fired
from tests.webhook_app.exchanges.conftest import venue_app  # noqa: F401 - the fixture
from tests.webhook_app.exchanges.test_ccxt_venue import entry

ALERTS = 20
FINAL = {"executed", "failed", "rejected", "needs_review"}


@pytest.mark.slow
async def test_every_alert_resolves_in_a_storm(venue_app: Any, figure: Any) -> None:  # noqa: F811
    fake = FakeVenue("bybit")
    client, fake = await venue_app("bybit", fake=fake, lookup_window_s=1.5)
    # Requests already in flight when a 429 went out could not have known of it (loopback: a
    # few ms); anything later is a violation.
    fake.retry_after_grace = 0.02
    fake.inject("", "status_5xx", None, probability=0.30, status=502)
    fake.inject("", "rate_limit", None, probability=0.10, retry_after=0.3)
    fake.inject("create_order", "timeout_after_accept", None, probability=0.05, delay=3)
    fake.inject("create_order", "insufficient_funds", None, probability=0.05)
    statuses: Counter[str] = Counter()
    for n in range(ALERTS):
        status, answer = await client.post(
            ORDER, entry("futures", time=fired(0), price=60000 + n), wait=2.5
        )
        aid = answer["alert_id"]
        for _ in range(400):
            if answer["status"] in FINAL:
                break
            await asyncio.sleep(0.05)
            _, answer = await client.get(f"/alerts/{aid}")
        statuses[answer["status"]] += 1
    creates = [r for r in fake.requests if r.op == "create_order"]
    twice = {cid: len(orders) for cid, orders in fake.created_orders.items() if len(orders) > 1}
    refused = [r for r in creates if "insufficient_funds" in r.faults]
    refused_ids = {r.params.get("orderLinkId") for r in refused}
    retried_fatal = [
        r
        for r in creates
        if r.params.get("orderLinkId") in refused_ids
        and "insufficient_funds" not in r.faults
        and r.time
        > min(x.time for x in refused if x.params.get("orderLinkId") == r.params.get("orderLinkId"))
    ]
    figure(
        "venue storm",
        f"{ALERTS} alerts → {dict(statuses)}; {len(fake.requests)} requests, "
        f"faults {fake.fault_hits()}, duplicates {len(twice)}, inside Retry-After "
        f"{fake.inside_retry_after}, fatal retried {len(retried_fatal)}",
    )
    assert sum(statuses.values()) == ALERTS and set(statuses) <= FINAL
    assert twice == {}
    assert fake.inside_retry_after == 0
    assert retried_fatal == []
    assert fake.crashes == []
