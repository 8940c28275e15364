"""Seed 001's cancels (by clientOrderId, cancelAll) and delayed orders, resolved at intake."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .errors import AlertRejected
from .exchanges.base import Market
from .execution import Executor, Job
from .journal import CANCELLED, SCHEDULED, Journal
from .models import Alert, AlertKind
from .relay.notifier import Notifier
from .scheduling import Scheduler
from .venues import Venues

if TYPE_CHECKING:
    from .service import Checked


class Cancels:
    def __init__(
        self,
        journal: Journal,
        venues: Venues,
        executor: Executor,
        notifier: Notifier,
        scheduler: Scheduler,
    ) -> None:
        self.journal, self.venues, self.executor = journal, venues, executor
        self.notifier, self.scheduler = notifier, scheduler

    async def resolve(self, checked: Checked) -> tuple[Checked, str | None]:
        """A cancel by clientOrderId finds its order; a delayed one is removed before it runs."""
        alert, account = checked.intake.alert, checked.venue.account.name
        if alert.kind is AlertKind.CANCEL_ALL:
            dropped = [
                row.id
                for row in await self.journal.scheduled(account)
                if await self.unschedule(row.id, "cancelled by cancelAll before it ran")
            ]
            if dropped:
                checked.intake.warnings.append(f"{len(dropped)} delayed order(s) cancelled")
            return checked, None
        if alert.kind is not AlertKind.CANCEL:
            return checked, None
        ref = alert.client_order_id or ""
        target = await self.journal.find_by_ref(account, ref)
        if target is None:
            self.notifier.refused("rejected", f"no order with clientOrderId {ref}", symbol="")
            raise AlertRejected(f"no order with clientOrderId {ref} on account {account}")
        moved = replace(alert, ticker=target.symbol)
        if await self.unschedule(target.id, f"cancelled by clientOrderId {ref} before it ran"):
            done = f"cancelled the delayed order {ref} before it ran: nothing was placed"
            return _with_alert(
                checked, moved, self.venues.resolve(checked.venue, target.symbol)
            ), done
        orders = await self.journal.orders_for(target.id)
        ids = tuple(
            o["exchange_id"]
            for o in orders
            if o["role"] == "order" and o["exchange_id"] and o["status"] == "open"
        )
        moved = replace(moved, target_ids=ids)
        return _with_alert(checked, moved, self.venues.resolve(checked.venue, target.symbol)), None

    async def unschedule(self, alert_id: str, message: str) -> bool:
        if await self.journal.set_status(alert_id, CANCELLED, message, expect=(SCHEDULED,)):
            self.scheduler.discard(alert_id)
            self.notifier.finished(alert_id)
            return True
        return False

    async def start_scheduled(self, alert_id: str) -> None:
        row = await self.journal.get(alert_id)
        if row is None:
            return
        venue = self.venues.get(row.account)
        market = venue.exchange.market(row.symbol)
        self.executor.submit(Job(row.id, Alert.from_json(row.alert), venue, market))


def _with_alert(checked: Checked, alert: Alert, market: Market) -> Checked:
    return replace(checked, intake=replace(checked.intake, alert=alert), market=market)
