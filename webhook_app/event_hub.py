"""The one event stream: numbered, journaled, and fanned out to whoever listens (Discord, the
management rules, websocket clients), in order. A client that lost its connection asks for
everything after the last id it saw."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from .events import ALERT, Draft, EventTracker, StreamEvent
from .exchanges.base import ExchangeEvent
from .journal import Journal
from .venues import Venues

logger = logging.getLogger(__name__)
Listener = Callable[[StreamEvent], None]


class EventHub:
    def __init__(self, journal: Journal, clock: Callable[[], float] = time.time) -> None:
        self.journal, self.clock = journal, clock
        self.trackers: dict[str, EventTracker] = {}
        self.listeners: list[Listener] = []
        self.last_id = 0

    async def start(self, venues: Venues) -> None:
        [row] = await self.journal.query("SELECT COALESCE(MAX(id), 0) AS last FROM events")
        self.last_id = row["last"]
        for venue in venues:
            name = venue.account.name
            tracker = self.trackers.setdefault(name, EventTracker(name))
            _seed(tracker, venue)
            venue.exchange.subscribe(partial(self.on_exchange_event, name))

    def on_exchange_event(self, account: str, event: ExchangeEvent) -> None:
        for draft in self.trackers[account].translate(event):
            self.publish(draft)

    def publish(self, draft: Draft) -> StreamEvent:
        """Number the event, journal it (group-committed: nothing waits), tell every listener."""
        self.last_id += 1
        event = StreamEvent(
            self.last_id,
            draft.topic,
            draft.venue,
            draft.sym,
            draft.data,
            self.clock() * 1000,
            draft.alert_id,
        )
        row = (
            event.id,
            event.topic,
            event.venue,
            event.sym,
            event.alert_id,
            json.dumps(event.data, default=str),
            event.time,
        )
        self.journal.worker.submit(
            lambda conn: conn.execute("INSERT INTO events VALUES (?,?,?,?,?,?,?)", row)
        )
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("an event listener failed on event %s", event.id)
        return event

    async def since(self, after: int, limit: int = 1000) -> list[StreamEvent]:
        """Journaled events after `after`, oldest first (a reconnecting client's catch-up)."""
        rows = await self.journal.query(
            "SELECT * FROM events WHERE id>? ORDER BY id LIMIT ?", (after, limit)
        )
        return [
            StreamEvent(
                r["id"],
                r["topic"],
                r["venue"],
                r["sym"],
                json.loads(r["data"]),
                r["time"],
                r["alert_id"],
            )
            for r in rows
        ]

    def alert(self, account: str, symbol: str | None, data: dict[str, Any], alert_id: str) -> None:
        self.publish(Draft(ALERT, account, symbol, data, alert_id))


def _seed(tracker: EventTracker, venue: Any) -> None:
    """What the book already holds at start-up is not news: only changes from here on are."""
    for position in venue.book.positions.values():
        tracker.translate(ExchangeEvent("position", position.symbol, position=position))
    for order in venue.book.orders.values():
        tracker.translate(ExchangeEvent("order", order.symbol, order=order))
