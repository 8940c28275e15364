"""Protection that waits for a fill: the stop and take-profits of a limit entry (or plain order)
go in when it fills, sized to what filled, and grow with later partial fills."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .errors import BotError
from .exchanges.base import FINAL_STATUSES, ExchangeEvent, Market, Order
from .journal import ARMED, EXECUTED, SKIPPED, Journal
from .models import OrderPlan, PlaceOrder
from .placement import PlanRun
from .plan_rows import client_id_for, main_role
from .venues import Venue

logger = logging.getLogger(__name__)

Queue = Callable[[Hashable, Callable[[], Awaitable[Any]]], Any]


@dataclass
class Armed:
    alert_id: str
    venue: Venue
    market: Market
    plan: OrderPlan
    steps: list[PlaceOrder]
    planned: Decimal
    results: dict[str, Order] = field(default_factory=dict)


class ProtectionWatch:
    """Watches the venue's events for fills of armed entries (keyed by the entry's client id)."""

    def __init__(self, journal: Journal, queue: Queue) -> None:
        self.journal, self.queue = journal, queue
        self.armed: dict[str, Armed] = {}
        self._writes: set[asyncio.Future[Any]] = set()

    def arm(self, armed: Armed) -> None:
        """Watch before the entry is sent: a fill during the call must not go unprotected."""
        self.armed[client_id_for(armed.alert_id, main_role(armed.plan))] = armed

    def confirm(self, armed: Armed, placed: dict[str, Order]) -> None:
        """The entry rests: record what waits (and what an immediate partial fill placed)."""
        armed.results = dict(placed)
        for step in armed.steps:
            if step.role not in armed.results:
                self._write(client_id_for(armed.alert_id, step.role), status=ARMED)

    def disarm(self, armed: Armed) -> None:
        self.armed.pop(client_id_for(armed.alert_id, main_role(armed.plan)), None)

    def on_event(self, venue: Venue, event: ExchangeEvent) -> None:
        order = event.order
        armed = self.armed.get(order.client_id) if order is not None else None
        if order is None or armed is None:
            return
        if order.filled > 0:
            key = (venue.account.name, armed.market.symbol)
            self.queue(key, lambda: self._protect(armed, order))  # after the job that sent it
        elif order.status in FINAL_STATUSES:
            self.disarm(armed)
            for step in armed.steps:
                self._write(client_id_for(armed.alert_id, step.role), status=SKIPPED)

    async def _protect(self, armed: Armed, entry: Order) -> None:
        if self.armed.get(entry.client_id) is not armed:
            return  # protected by the job that sent the entry, or disarmed since
        run = PlanRun(self.journal, armed.venue, armed.market, armed.alert_id, armed.plan)
        try:
            if not armed.results:
                outcome = await run.protect(entry, armed.steps, armed.planned)
                armed.results = dict(run.results)
                if outcome.status != EXECUTED:
                    await self.journal.set_status(
                        armed.alert_id, outcome.status, outcome.message, warnings=outcome.warnings
                    )
            else:
                run.results = armed.results
                await run.grow_protection(entry.filled)
        except BotError as e:
            logger.error(
                "alert %s: protecting the filled entry failed: %s", armed.alert_id, e.message
            )
        finally:
            await run.flush()
        if entry.status in FINAL_STATUSES:
            self.disarm(armed)

    def _write(self, client_id: str, **values: Any) -> None:
        future = self.journal.update_order(client_id, **values)
        self._writes.add(future)
        future.add_done_callback(self._writes.discard)

    async def close(self) -> None:
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
