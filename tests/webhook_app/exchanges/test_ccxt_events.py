"""Events from a real venue (the ccxt fake): repeated and reordered news is told once, in order,
and a position closed by hand loses its leftover stop and take-profits."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.helpers import ORDER
from tests.webhook_app.exchanges.conftest import PERP
from tests.webhook_app.exchanges.test_ccxt_venue import entry
from webhook_app.events import FILL, StreamEvent
from webhook_app.events import ORDER as ORDER_EVENT
from webhook_app.exchanges.base import ExchangeEvent


async def test_repeated_and_reordered_venue_news_is_told_once_in_order(venue_app: Any) -> None:
    client, fake = await venue_app("binance")
    told: list[StreamEvent] = []
    client.core.events.listeners.append(told.append)
    body = entry("futures", type="limit", price=59500, **{"long SL": 58500, "long TP": 61500})
    await client.post(ORDER, body, wait=2.5)
    exchange = client.core.venues.get("Main").exchange
    [resting] = [o for o in exchange._orders.values() if o.client_id.endswith("en")]  # noqa: SLF001

    fake.set_price(PERP, 59400)  # the limit fills at the venue
    await exchange.poller.poll()
    await exchange.poller.poll()  # the same state again
    filled = [e for e in told if e.topic == FILL and e.data["role"] == "entry"]
    assert len(filled) == 1 and filled[0].data["qty"] == "0.1"
    # A late push of the order as it was before the fill, the fill pushed twice more, and the
    # late push again.
    stale = replace(resting, status="open")
    done = replace(resting, status="closed", filled=resting.amount)
    count = len(told)
    for order in (stale, done, done, stale):
        exchange.emit(ExchangeEvent("order", PERP, order=order))
    assert len(told) == count, "nothing new: no second notification"
    book = client.core.venues.get("Main").book
    assert resting.id not in book.orders, "a late push does not reopen a filled order"
    assert resting.id not in exchange._orders  # noqa: SLF001 - nor the adapter's own record
    entry_news = [
        e.data["event"] for e in told if e.topic == ORDER_EVENT and e.data["role"] == "entry"
    ]
    assert entry_news == ["placed", "closed"]
    assert [e.id for e in told] == sorted(e.id for e in told)


async def test_a_position_closed_by_hand_loses_its_leftover_protection(venue_app: Any) -> None:
    client, fake = await venue_app("binance", cleanup_on_close=True)
    status, answer = await client.post(ORDER, entry("futures"), wait=2.5)
    assert answer["status"] == "executed", answer
    assert len(fake.open_orders(PERP)) == 4  # stop, TP, TP1, TP2
    fake.set_position(PERP, 0)  # someone closed it on the venue's website
    exchange = client.core.venues.get("Main").exchange
    await exchange.poller.poll()
    await client.core.management.close()
    await client.core.executor.queues.drain()
    assert fake.open_orders(PERP) == [], "no stop or take-profit left behind"
    rows = await client.core.journal.query(
        "SELECT status, message FROM alerts WHERE source='management'"
    )
    assert [r["status"] for r in rows] == ["executed"]
    assert "left behind" in rows[0]["message"] or rows[0]["message"]


async def test_an_order_placed_by_hand_is_told_whoever_lists_it_first(venue_app: Any) -> None:
    """A refresh before a plan lists open orders too: what it sees first is told then, once, and
    the next poll has nothing new to say."""
    client, _fake = await venue_app("binance")
    told: list[StreamEvent] = []
    client.core.events.listeners.append(told.append)
    exchange = client.core.venues.get("Main").exchange
    await exchange.client.create_order(PERP, "limit", "buy", 0.01, 50000)  # on the venue's site
    await exchange.fetch_open_orders(PERP)  # what book.refresh does before a plan
    await exchange.poller.poll()
    placed = [e for e in told if e.topic == ORDER_EVENT and e.data["event"] == "placed"]
    assert len(placed) == 1 and placed[0].data["price"] == "50000"
