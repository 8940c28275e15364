"""Execution: one symbol at a time in arrival order, plan → placement → journal, and recovery."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from .errors import AlertRejected, BotError, Halted
from .exchanges.base import CLOSED, FINAL_STATUSES, ExchangeEvent, Market, Order
from .guard import TradingSwitch
from .journal import (
    ACCEPTED,
    ARMED,
    EXECUTED,
    EXECUTING,
    FAILED,
    HALTED,
    NEEDS_REVIEW,
    REJECTED,
    SKIPPED,
    AlertRow,
    Journal,
)
from .models import ALL_SYMBOLS, Alert, OrderPlan, PlaceOrder
from .placement import Outcome, PlanRun, client_id_for, order_rows
from .planning import plan_alert
from .venues import Venue, Venues

logger = logging.getLogger(__name__)
T = TypeVar("T")


class SerialQueues:
    """Jobs with the same key run one at a time, in submission order; other keys run alongside."""

    def __init__(self) -> None:
        self._tails: dict[Hashable, asyncio.Task[Any]] = {}

    def submit(self, key: Hashable, factory: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        previous = self._tails.get(key)

        async def run() -> T:
            if previous is not None:
                await asyncio.wait([previous])
            return await factory()

        task = asyncio.create_task(run())
        self._tails[key] = task
        task.add_done_callback(functools.partial(self._release, key))
        return task

    def _release(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._tails.get(key) is task:
            del self._tails[key]

    async def drain(self) -> None:
        while self._tails:
            await asyncio.wait(list(self._tails.values()))


@dataclass(frozen=True)
class Job:
    alert_id: str
    alert: Alert
    venue: Venue
    market: Market


@dataclass
class Armed:
    """Protection of a resting limit entry, placed by the executor when the entry fills."""

    job: Job
    plan: OrderPlan
    steps: list[PlaceOrder]
    planned: Decimal
    results: dict[str, Order] = field(default_factory=dict)


class Executor:
    def __init__(
        self,
        journal: Journal,
        venues: Venues,
        switch: TradingSwitch,
        *,
        clock: Callable[[], float] = time.time,
        resume_max_age_s: float = 60.0,
    ) -> None:
        self.journal, self.venues, self.switch, self.clock = journal, venues, switch, clock
        self.resume_max_age_s = resume_max_age_s
        self.queues = SerialQueues()
        self.tasks: dict[str, asyncio.Task[str]] = {}
        self.armed: dict[str, Armed] = {}  # by the entry's client id
        self.listeners: list[Callable[[str], None]] = []  # called with an alert id once final
        for venue in venues:
            venue.exchange.subscribe(functools.partial(self._on_event, venue))

    def submit(self, job: Job) -> asyncio.Task[str]:
        key = (job.venue.account.name, job.market.symbol)
        task = self.queues.submit(key, lambda: self._execute(job))
        self.tasks[job.alert_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(job.alert_id, None))
        return task

    async def _execute(self, job: Job) -> str:
        try:
            outcome = await self._run(job)
        except Exception:
            logger.exception("alert %s: execution crashed", job.alert_id)
            outcome = Outcome(FAILED, "internal error while executing; see the server log")
        await self.journal.finish(
            job.alert_id, outcome.status, outcome.message, outcome.warnings, outcome.updates
        )
        logger.info("alert %s %s: %s", job.alert_id, outcome.status, outcome.message)
        self._finished(job.alert_id)
        return outcome.status

    def _finished(self, alert_id: str) -> None:
        for listener in self.listeners:
            try:
                listener(alert_id)
            except Exception:
                logger.exception("alert %s: a listener failed", alert_id)

    async def _run(self, job: Job) -> Outcome:
        alert, venue, market = job.alert, job.venue, job.market
        seen = alert.reference_price if alert.reference_price is not None else alert.price
        if seen is not None and market.symbol != ALL_SYMBOLS:
            if venue.exchange.priced_by_alerts:  # the paper venue's market moves with the alerts
                await venue.exchange.feed_price(market.symbol, seen)  # type: ignore[attr-defined]
            venue.book.note_price(market.symbol, seen)
        try:
            plan = plan_alert(alert, venue.account, venue.book.facts(market))
            self.switch.check_plan(plan)
        except ArithmeticError:
            return Outcome(REJECTED, "the alert's numbers are out of any tradable range")
        except AlertRejected as e:
            return Outcome(REJECTED, e.message)
        except Halted as e:
            return Outcome(HALTED, e.message)
        await self.journal.save_plan(job.alert_id, plan.to_json(), order_rows(job.alert_id, plan))
        outcome = await PlanRun(self.journal, venue, market, job.alert_id, plan).run()
        outcome.warnings[:0] = list(plan.notes)
        if outcome.armed and outcome.entry is not None:
            self._arm(job, plan, outcome.armed, outcome.entry, outcome.protected)
        return outcome

    # --- protection of limit entries ------------------------------------------------------------

    def _arm(
        self,
        job: Job,
        plan: OrderPlan,
        steps: list[PlaceOrder],
        entry: Order,
        placed: dict[str, Order] | None = None,
    ) -> Armed:
        armed = Armed(job, plan, steps, plan.size or entry.amount, dict(placed or {}))
        self.armed[entry.client_id] = armed
        for step in steps:
            if step.role not in armed.results:
                self.journal.update_order(client_id_for(job.alert_id, step.role), status=ARMED)
        return armed

    def _on_event(self, venue: Venue, event: ExchangeEvent) -> None:
        order = event.order
        if order is None or order.client_id not in self.armed:
            return
        armed = self.armed[order.client_id]
        if order.filled > 0:
            key = (venue.account.name, armed.job.market.symbol)
            self.queues.submit(key, lambda: self._protect(armed, order))
        elif order.status in FINAL_STATUSES:
            del self.armed[order.client_id]
            for step in armed.steps:
                self.journal.update_order(
                    client_id_for(armed.job.alert_id, step.role), status=SKIPPED
                )

    async def _protect(self, armed: Armed, entry: Order) -> None:
        job = armed.job
        run = PlanRun(self.journal, job.venue, job.market, job.alert_id, armed.plan)
        try:
            if not armed.results:
                outcome = await run.protect(entry, armed.steps, armed.planned)
                armed.results = dict(run.results)
                if outcome.status != EXECUTED:
                    await self.journal.set_status(
                        job.alert_id, outcome.status, outcome.message, warnings=outcome.warnings
                    )
            else:
                run.results = armed.results
                await run.grow_protection(entry.filled)
        except BotError as e:
            logger.error(
                "alert %s: protecting the filled entry failed: %s", job.alert_id, e.message
            )
        finally:
            await run.flush()
        if entry.status == CLOSED or entry.status in FINAL_STATUSES:
            self.armed.pop(entry.client_id, None)

    # --- recovery -------------------------------------------------------------------------------

    async def recover(self) -> list[str]:
        """After a restart: resume young untouched alerts, flag the rest, re-arm protection."""
        notes: list[str] = []
        for row in await self.journal.unfinished():
            try:
                notes.append(await self._recover_alert(row))
            except BotError as e:  # its account or ticker is gone from the configuration
                message = f"cannot be recovered: {e.message}"
                await self.journal.set_status(row.id, NEEDS_REVIEW, message)
                notes.append(f"{row.id}: needs review ({e.message})")
        await self._recover_armed()
        return notes

    async def _recover_alert(self, row: AlertRow) -> str:
        alert = Alert.from_json(row.alert)
        venue = self.venues.get(row.account)
        market = venue.exchange.market(row.symbol)
        age = self.clock() - row.updated_at  # since it became accepted (approved, or due)
        if row.status == ACCEPTED and age <= self.resume_max_age_s:
            self.submit(Job(row.id, alert, venue, market))  # nothing was planned, nothing sent
            return f"{row.id}: resumed"
        if row.status == ACCEPTED:
            message = (
                f"not executed: the server stopped first, and the alert is now {age:.0f} s old "
                f"(over RESUME_MAX_AGE {self.resume_max_age_s:.0f} s)"
            )
        else:
            # Planned orders may or may not have left: ask the venue for each by client id.
            found = await self._reconcile(venue, row.symbol, await self.journal.orders_for(row.id))
            message = "interrupted mid-execution by a restart; at the venue: " + (
                ", ".join(found) if found else "none of its orders"
            )
        await self.journal.set_status(row.id, NEEDS_REVIEW, message, expect=(ACCEPTED, EXECUTING))
        logger.warning("alert %s needs review: %s", row.id, message)
        self._finished(row.id)
        return f"{row.id}: needs review"

    async def _reconcile(self, venue: Venue, symbol: str, rows: list[dict[str, Any]]) -> list[str]:
        found = []
        for row in rows:
            try:
                order = await venue.exchange.fetch_order(row["client_id"], symbol)
            except BotError as e:
                found.append(f"{row['role']} unknown ({e.message})")
                continue
            if order is None:
                await self.journal.update_order(row["client_id"], status="not_sent")
                continue
            await self.journal.update_order(
                row["client_id"], status=order.status, exchange_id=order.id, filled=order.filled
            )
            found.append(f"{row['role']} {order.status}")
        return found

    async def _recover_armed(self) -> None:
        rows = await self.journal.armed_orders()
        for alert_id in dict.fromkeys(r["alert_id"] for r in rows):
            alert_row = await self.journal.get(alert_id)
            if alert_row is None or alert_row.plan is None:
                continue
            plan = OrderPlan.from_json(alert_row.plan)
            venue = self.venues.get(alert_row.account)
            market = venue.exchange.market(alert_row.symbol)
            roles = {r["role"] for r in rows if r["alert_id"] == alert_id}
            steps = [s for s in plan.steps if isinstance(s, PlaceOrder) and s.role in roles]
            entry = await venue.exchange.fetch_order(
                client_id_for(alert_id, "entry"), market.symbol
            )
            if entry is None:
                continue
            job = Job(alert_id, Alert.from_json(alert_row.alert), venue, market)
            self._arm(job, plan, steps, entry)
            self._on_event(venue, ExchangeEvent(kind="order", symbol=market.symbol, order=entry))

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=5)


__all__ = ["ACCEPTED", "EXECUTING", "Executor", "Job", "SerialQueues"]
