"""Management on events, per account and off by default: the stop goes to breakeven as soon as
TP1 fills, and a closed position's stop and take-profits are cancelled. Each action is an alert
of its own (source "management"), journaled and run on the symbol's queue like any other."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from .errors import BotError
from .events import CLOSED, FILL, StreamEvent
from .execution import Executor, Job
from .journal import ACCEPTED, Journal, NewAlert
from .models import Alert, AlertKind, OrderType, Side
from .plan_rows import new_alert_id
from .venues import Venues

logger = logging.getLogger(__name__)
PROTECTIVE = (OrderType.STOP, OrderType.TAKE_PROFIT)


class Management:
    def __init__(
        self, journal: Journal, venues: Venues, executor: Executor, clock: Callable[[], float]
    ) -> None:
        self.journal, self.venues, self.executor, self.clock = journal, venues, executor, clock
        self._tasks: set[asyncio.Task[None]] = set()

    def on_event(self, event: StreamEvent) -> None:
        account = self.venues.settings.accounts.get(event.venue)
        if account is None or event.sym is None:
            return
        if event.topic == FILL and event.data.get("role") == "tp1" and account.auto_breakeven:
            self.spawn(self.breakeven(event.venue, event.sym, event.alert_id))
        elif event.topic == CLOSED and account.cleanup_on_close:
            self.spawn(self.cleanup(event.venue, event.sym, event.alert_id))

    async def breakeven(self, account: str, symbol: str, origin: str | None) -> str | None:
        """TP1 filled: the stop of what is left moves to the entry price."""
        venue = self.venues.get(account)
        position = venue.book.positions.get(symbol)
        if position is None or not position.size:
            return None
        held = Side.BUY if position.size > 0 else Side.SELL
        alert = Alert(
            AlertKind.BREAKEVEN,
            symbol,
            source="management",
            account=account,
            side=held.opposite,
            breakeven=position.entry_price,
            message=f"breakeven after TP1 of {origin or 'a position'}",
        )
        return await self._submit(alert, "TP1 filled: stop to breakeven")

    async def cleanup(self, account: str, symbol: str, origin: str | None) -> str | None:
        """The position closed: its stop and take-profits have nothing left to protect."""
        venue = self.venues.get(account)
        leftovers = tuple(o.id for o in venue.book.open_orders(symbol) if o.type in PROTECTIVE)
        if not leftovers:
            return None
        alert = Alert(
            AlertKind.CANCEL,
            symbol,
            source="management",
            account=account,
            target_ids=leftovers,
            message=f"cleanup after {origin or 'a close'}",
        )
        return await self._submit(alert, f"position closed: {len(leftovers)} order(s) left behind")

    async def _submit(self, alert: Alert, why: str) -> str | None:
        venue = self.venues.get(alert.account)
        try:
            market = venue.exchange.market(alert.ticker)
        except BotError as e:
            logger.error("management on %s: %s", alert.ticker, e.message)
            return None
        alert_id = new_alert_id()
        new = NewAlert(
            id=alert_id,
            route="management",
            source="management",
            account=venue.account.name,
            symbol=market.symbol,
            idem_key=f"management:{alert_id}",
            status=ACCEPTED,
            body=json.dumps({"reason": why}),
            alert=alert.to_json(),
            message=why,
        )
        await self.journal.record_alert(new, 0)
        self.executor.submit(Job(alert_id, alert, venue, market))
        logger.info(
            "management: %s on %s (%s) as alert %s",
            why,
            market.symbol,
            venue.account.name,
            alert_id,
        )
        return alert_id

    def spawn(self, coro: object) -> None:
        task = asyncio.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
