"""Execution: one symbol at a time in arrival order; plan → placement → journal."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import AlertRejected, ExecutionError, Halted
from .exchanges.base import Market
from .guard import TradingSwitch
from .journal import FAILED, HALTED, REJECTED, Journal
from .models import ALL_SYMBOLS, Alert, OrderPlan, PlaceOrder
from .placement import Outcome, PlanRun
from .plan_rows import order_rows
from .planning import Facts, plan_alert
from .protection import Armed, ProtectionWatch
from .recovery import recover
from .venues import Venue, Venues

if TYPE_CHECKING:
    from .risk import RiskMeter

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
    approval: bool = False  # a relayed alert approved later: its price is not the market's now


class Executor:
    def __init__(
        self,
        journal: Journal,
        venues: Venues,
        switch: TradingSwitch,
        risk: RiskMeter,
        *,
        clock: Callable[[], float] = time.time,
        resume_max_age_s: float = 60.0,
    ) -> None:
        self.journal, self.venues, self.switch, self.clock = journal, venues, switch, clock
        self.risk = risk  # the risk guard's running figures
        self.resume_max_age_s = resume_max_age_s
        self.queues = SerialQueues()
        self.tasks: dict[str, asyncio.Task[str]] = {}
        self.watch = ProtectionWatch(journal, self.queues.submit)
        self.listeners: list[Callable[[str], None]] = []  # called with an alert id once final
        self.on_outcome: list[Callable[[Job, Outcome], None]] = []  # the event stream's "alert"
        for venue in venues:
            venue.exchange.subscribe(functools.partial(self.watch.on_event, venue))

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
        for hook in self.on_outcome:
            try:
                hook(job, outcome)
            except Exception:
                logger.exception("alert %s: an outcome hook failed", job.alert_id)
        self.finished(job.alert_id)
        return outcome.status

    def finished(self, alert_id: str) -> None:
        for listener in self.listeners:
            try:
                listener(alert_id)
            except Exception:
                logger.exception("alert %s: a listener failed", alert_id)

    async def _run(self, job: Job) -> Outcome:
        venue, market = job.venue, job.market
        await self._note_alert_price(job)
        try:
            plan = await self._plan(job)
        except ArithmeticError:
            return Outcome(REJECTED, "the alert's numbers are out of any tradable range")
        except AlertRejected as e:
            return Outcome(REJECTED, e.message)
        except Halted as e:
            return Outcome(HALTED, e.message)
        except ExecutionError as e:  # the venue could not be read: nothing was sent
            return Outcome(FAILED, f"nothing sent: {e.message}")
        try:
            outcome, armed = await self._send(job, plan)
        finally:  # the position it opened (if any) is in the book now
            self.risk.release(venue.account.name, market.symbol)
        await self.risk.check_loss(venue)
        if armed is not None:
            if outcome.armed:
                armed.steps = outcome.armed  # less what the venue carries on the entry itself
                self.watch.confirm(armed, outcome.protected)
            else:
                self.watch.disarm(armed)
        return outcome

    async def _send(self, job: Job, plan: OrderPlan) -> tuple[Outcome, Armed | None]:
        venue, market = job.venue, job.market
        await self.journal.save_plan(job.alert_id, plan.to_json(), order_rows(job.alert_id, plan))
        deferred = [s for s in plan.steps if isinstance(s, PlaceOrder) and s.after_fill]
        armed = None
        if deferred:  # watched before the entry is sent: a fill during the call is not lost
            armed = Armed(job.alert_id, venue, market, plan, deferred, plan.size or Decimal(0))
            self.watch.arm(armed)
        outcome = await PlanRun(self.journal, venue, market, job.alert_id, plan).run()
        outcome.warnings[:0] = list(plan.notes)
        await self._read_back(venue, market)
        return outcome, armed

    async def _note_alert_price(self, job: Job) -> None:
        alert, venue, market = job.alert, job.venue, job.market
        seen = alert.seen_price
        if job.approval and venue.book.prices.get(market.symbol) is not None:
            seen = None  # an approval comes minutes later: the market has its own price by now
        if seen is not None and market.symbol != ALL_SYMBOLS:
            if venue.exchange.priced_by_alerts:  # the paper venue's market moves with the alerts
                await venue.exchange.feed_price(market.symbol, seen)  # type: ignore[attr-defined]
            venue.book.note_price(market.symbol, seen)

    async def _plan(self, job: Job) -> OrderPlan:
        """The facts (fresh from a venue whose events may lag), the plan, the kill switch."""
        venue, market = job.venue, job.market
        if not venue.exchange.features.complete_events and market.symbol != ALL_SYMBOLS:
            await venue.book.refresh(venue.exchange, market.symbol)
        await self.risk.check_loss(venue)  # a loss since the last look: reducing-only first
        facts = self.risk.facts(venue, _without_own(venue.book.facts(market), job))
        plan = plan_alert(job.alert, venue.account, facts)
        self.switch.check_plan(plan)
        self.risk.reserve(venue.account, plan)  # counted before the next alert is planned
        return plan

    async def _read_back(self, venue: Venue, market: Market) -> None:
        """A venue whose events may lag is read again after the plan: the book (and the event
        stream) see the position the orders made, not the one before them."""
        if venue.exchange.features.complete_events or market.symbol == ALL_SYMBOLS:
            return
        try:
            await venue.book.refresh(venue.exchange, market.symbol)
        except ExecutionError as e:
            logger.warning(
                "%s: could not read %s back: %s", venue.exchange.name, market.symbol, e.message
            )

    async def recover(self) -> list[str]:
        """After a restart: resume young untouched alerts, flag the rest, re-arm protection."""
        return await recover(self)

    async def close(self, timeout_s: float = 10.0) -> None:
        """Let what is queued finish (bounded), then the journal can close under nothing."""
        try:
            await asyncio.wait_for(self.queues.drain(), timeout_s)
        except TimeoutError:
            logger.error("shutdown: alerts still executing after %.0f s", timeout_s)
        await self.watch.close()


def _without_own(facts: Facts, job: Job) -> Facts:
    """The alert's own orders (sent before a restart) are not someone else's to clear."""
    others = tuple(o for o in facts.open_orders if not o.client_id.startswith(job.alert_id))
    return replace(facts, open_orders=others) if len(others) != len(facts.open_orders) else facts


__all__ = ["Executor", "Job", "SerialQueues"]
