"""At start-up: the journal's open orders and the venue's, side by side, for each real venue.

What the journal thought open and the venue ended meanwhile (a stop that fired while we were
down) is brought up to date; every other difference is reported, for a human to look at: an
order the venue does not know, an order we never placed, a position without a stop.
"""

from __future__ import annotations

import logging

from .errors import BotError
from .exchanges.base import Order
from .journal import ATTACHED, Journal
from .models import OrderType
from .venues import Venue, Venues

logger = logging.getLogger(__name__)


async def reconcile(journal: Journal, venues: Venues) -> list[str]:
    differences: list[str] = []
    for venue in venues:
        if venue.exchange.features.complete_events:
            continue  # the paper venue lives in this process: nothing can diverge
        try:
            differences += await _reconcile_venue(journal, venue)
        except BotError as e:
            differences.append(f"{venue.account.name}: could not reconcile ({e.message})")
    for line in differences:
        logger.warning("reconcile: %s", line)
    return differences


async def _reconcile_venue(journal: Journal, venue: Venue) -> list[str]:
    name = venue.account.name
    rows = await journal.query(
        "SELECT * FROM orders WHERE account=? AND status IN ('open', ?) ORDER BY seq",
        (name, ATTACHED),
    )
    at_venue = list(venue.book.orders.values())
    by_client = {o.client_id: o for o in at_venue if o.client_id}
    by_id = {o.id: o for o in at_venue}
    out: list[str] = []
    known: set[str] = set()
    for row in rows:
        live = by_client.get(row["client_id"]) or by_id.get(row["exchange_id"] or "")
        if live is not None:
            known.add(live.id)
            continue
        out += await _settle_row(journal, venue, row)
    for order in at_venue:
        if order.id not in known:
            out.append(await _unexpected(journal, name, order))
    for position in venue.book.positions.values():
        stops = [
            o
            for o in venue.book.open_orders(position.symbol)
            if o.type is OrderType.STOP and o.side is not position.side
        ]
        if not stops:
            out.append(
                f"{name}: position {position.size} {position.symbol} has NO stop at the venue"
            )
    return out


async def _settle_row(journal: Journal, venue: Venue, row: dict[str, str]) -> list[str]:
    """A journal order the venue no longer lists: how did it end?"""
    name, client_id = venue.account.name, row["client_id"]
    order = None
    if row["status"] != ATTACHED:  # attached orders carry no client id of ours at most venues
        order = await venue.exchange.fetch_order(client_id, row["symbol"])
    if order is not None and not order.is_open:
        await journal.update_orders(
            [
                (
                    client_id,
                    {"status": order.status, "filled": order.filled, "average": order.average},
                )
            ]
        )
        return []
    await journal.update_orders([(client_id, {"status": "gone"})])
    return [
        f"{name}: {row['role']} {row['side']} {row['amount']} {row['symbol']} ({client_id}) "
        "is open in the journal but unknown to the venue"
    ]


async def _unexpected(journal: Journal, name: str, order: Order) -> str:
    """An open order the journal does not count as open: ours in another state, or not ours."""
    rows = await journal.query("SELECT status FROM orders WHERE client_id=?", (order.client_id,))
    if order.client_id and rows:
        await journal.update_orders(
            [(order.client_id, {"status": order.status, "exchange_id": order.id})]
        )
        return (
            f"{name}: {_describe(order)} is open at the venue; the journal had it "
            f"{rows[0]['status']} (updated)"
        )
    return f"{name}: {_describe(order)} is open at the venue but was not placed by this bot"


def _describe(order: Order) -> str:
    level = (
        f" @ {order.trigger_price or order.price}" if (order.trigger_price or order.price) else ""
    )
    ref = f" ({order.client_id})" if order.client_id else ""
    return f"{order.side} {order.type} {order.amount} {order.symbol}{level} id {order.id}{ref}"
