"""Placing one OrderPlan at its venue: phase by phase, journaled, with safety compensation."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .errors import BotError, DuplicateClientId, ExecutionError, OrderNotFound, OrderRejected
from .exchanges.base import CLOSED, FINAL_STATUSES, Attach, Market, Order
from .journal import ATTACHED, FAILED, NEEDS_REVIEW, REJECTED, UNKNOWN, Journal
from .models import (
    ALL_SYMBOLS,
    AlertKind,
    AmendOrder,
    CancelOrder,
    OrderPlan,
    OrderType,
    PlaceOrder,
    Step,
)
from .plan_rows import client_id_for, describe, main_role, order_rows
from .planning import resize_for_fill
from .venues import Venue

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    status: str  # executed, rejected, failed, needs_review
    message: str
    warnings: list[str] = field(default_factory=list)
    armed: list[PlaceOrder] = field(default_factory=list)  # protection waiting for the entry's fill
    protected: dict[str, Order] = field(default_factory=dict)  # armed protection already placed
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # for the journal


class PlanRun:
    """Runs the phases of one plan. Each order is journaled as planned before anything is sent."""

    def __init__(
        self, journal: Journal, venue: Venue, market: Market, alert_id: str, plan: OrderPlan
    ) -> None:
        self.journal, self.venue, self.market = journal, venue, market
        self.alert_id, self.plan = alert_id, plan
        self.results: dict[str, Order] = {}
        self.errors: dict[str, BotError] = {}
        self.warnings: list[str] = []
        self.updates: list[tuple[str, dict[str, Any]]] = []  # order results, written together
        self.attach: Attach | None = None  # protection sent with the entry (features.attaches)

    async def run(self) -> Outcome:
        judge = {
            AlertKind.ENTRY: self._entry,
            AlertKind.ORDER: self._entry,  # a plain order with a stop is protected the same way
            AlertKind.EXIT: self._exit,
            AlertKind.BREAKEVEN: self._breakeven,
        }.get(self.plan.kind, self._generic)
        try:
            outcome = await judge()
        except BaseException:
            await self.flush()
            raise
        # The results go to the journal with the final status, in one write (execution.py).
        outcome.updates = self.take_updates()
        return outcome

    # --- per kind -------------------------------------------------------------------------------

    async def _entry(self) -> Outcome:
        phases = {p[0].phase: p for p in self.plan.phases()}
        for clearing in [p for n, p in phases.items() if n < 1]:
            await self._steps(clearing)
            if self.errors:
                role, error = next(iter(self.errors.items()))
                return self._fail(
                    error, f"could not clear {self.plan.symbol} before the entry ({role}): "
                )
        self.attach, attached = self._attachment()
        await self._steps([s for s in phases[1] if not _deferred(s) and s.role not in attached])
        main = main_role(self.plan)
        entry_error, stop_error = self.errors.get(main), self.errors.get("stop")
        if entry_error is not None:
            if "stop" in self.results:
                await self._best_effort_cancel(self.results["stop"])
            return self._fail(entry_error, f"{main} refused: ")
        entry = self.results[main]
        if stop_error is not None:
            await self._flatten(entry)
            return self._fail(stop_error, "stop-loss refused, so the entry was closed at once: ")
        size = self.plan.size or entry.amount
        protection = [
            s
            for s in self.plan.steps
            if isinstance(s, PlaceOrder) and s.phase == 2 and s.role not in attached
        ]
        if entry.type is OrderType.LIMIT:
            self._mark_attached(attached, entry)
            if entry.filled <= 0:
                return self._done(
                    armed=protection,
                    note=f"limit entry resting at {entry.price}: "
                    + (
                        f"the venue arms the {' and '.join(sorted(attached))} on the fill; "
                        "the rest goes in then"
                        if attached
                        else "the stop and take-profits go in when it fills"
                    ),
                )
            outcome = await self.protect(entry, protection, size)
            if entry.is_open and outcome.status == "executed":
                outcome.armed, outcome.protected = protection, dict(self.results)
            return outcome
        if attached:
            protection[:0] = await self._adopt_attached(entry, attached)
        filled = entry.filled if entry.status == CLOSED else size
        if filled < size and "stop" in self.results and not attached:
            self.warnings.append(f"entry filled {filled} of {size}: protection sized to the fill")
            await self._amend_amount("stop", filled)
        return await self.protect(entry, protection, size, filled)

    def _attachment(self) -> tuple[Attach | None, set[str]]:
        """Protection the venue can carry on the entry itself (Bybit, OKX): the stop is in place
        the moment the entry fills, with no second request."""
        attaches = self.venue.exchange.features.attaches
        steps = {s.role: s for s in self.plan.steps if isinstance(s, PlaceOrder)}
        stop = steps.get("stop")
        if self.plan.kind is not AlertKind.ENTRY or "stop" not in attaches or stop is None:
            return None, set()
        tp = steps.get("tp") if "tp" in attaches else None
        roles = {"stop"} | ({"tp"} if tp else set())
        attach = Attach(
            stop.trigger_price,
            tp.trigger_price if tp else None,
            stop_client_id=client_id_for(self.alert_id, "stop"),
            tp_client_id=client_id_for(self.alert_id, "tp") if tp else None,
            tp_amount=tp.amount if tp else None,
        )
        return attach, roles

    def _mark_attached(self, roles: set[str], entry: Order) -> None:
        for role in roles:
            client_id = client_id_for(self.alert_id, role)
            self.updates.append((client_id, {"status": ATTACHED, "exchange_id": entry.id}))

    async def _adopt_attached(self, entry: Order, roles: set[str]) -> list[PlaceOrder]:
        """Record the orders the venue armed for the filled entry; what it did not arm is placed
        separately (returned), the stop first."""
        assert self.attach is not None
        try:
            found = await self.venue.exchange.attached_orders(entry, self.attach)
        except BotError as e:
            self.warnings.append(f"could not read the attached protection: {e.message}")
            found = {}
        for role, order in found.items():
            self.results[role] = order
            self.venue.book.note_order(order)
            self.updates.append(
                (
                    client_id_for(self.alert_id, role),
                    {"status": ATTACHED, "exchange_id": order.id, "amount": order.amount},
                )
            )
        missing = [
            s
            for s in self.plan.steps
            if isinstance(s, PlaceOrder) and s.role in roles and s.role not in found
        ]
        for step in missing:
            self.warnings.append(f"the venue shows no attached {step.role}: placed separately")
        return sorted(missing, key=lambda s: s.role != "stop")

    async def protect(
        self, entry: Order, steps: list[PlaceOrder], planned: Decimal, filled: Decimal | None = None
    ) -> Outcome:
        """Place protection for what the entry filled; an unprotectable entry is closed at once."""
        filled = entry.filled if filled is None else filled
        resized = resize_for_fill(steps, planned, filled, self.market)
        await self._steps(resized)
        if "stop" in self.errors:
            await self._flatten(entry)
            return self._fail(
                self.errors["stop"], "stop-loss refused, so the entry was closed at once: "
            )
        for role, error in self.errors.items():
            self.warnings.append(f"{role} refused: {error.message}")
        await self._give_refused_shares_to_the_final_tp(resized)
        return self._done()

    async def _give_refused_shares_to_the_final_tp(self, steps: list[PlaceOrder]) -> None:
        """A ladder TP the venue refused: its share goes to the final TP, so the whole position
        still has a take-profit."""
        lost = [
            s for s in steps if s.role.startswith("tp") and s.role != "tp" and s.role in self.errors
        ]
        if not lost or "tp" not in self.results:
            return
        extra = sum((s.amount for s in lost), Decimal(0))
        await self._amend_amount("tp", self.results["tp"].amount + extra)
        self.warnings.append(f"the final TP took over {extra} from the refused ladder TP(s)")

    async def grow_protection(self, filled: Decimal) -> None:
        """A later partial fill of a limit entry: the stop and the final TP grow to the fill."""
        if "stop" in self.results:
            await self._amend_amount("stop", filled)
        ladder = sum(
            (o.amount for r, o in self.results.items() if r.startswith("tp") and r != "tp"),
            Decimal(0),
        )
        if "tp" in self.results and filled - ladder > 0:
            await self._amend_amount("tp", filled - ladder)

    def take_updates(self) -> list[tuple[str, dict[str, Any]]]:
        updates, self.updates = self.updates, []
        return updates

    async def flush(self) -> None:
        updates = self.take_updates()
        if updates:
            await self.journal.update_orders(updates)

    async def _exit(self) -> Outcome:
        """The message says what ran: the plan orders close and sweep by venue (exits.py)."""
        symbol, ran = self.plan.symbol, set()
        closes = any(step.role == "close" for step in self.plan.steps)
        for steps in self.plan.phases():
            await self._steps(steps)
            if "close" in self.errors:
                unprotected = (
                    " (its orders were cancelled first, so it has NO stop now)"
                    if "cancel_all" in ran
                    else ""
                )
                return self._fail(
                    self.errors["close"], f"could not close the position{unprotected}: "
                )
            if "cancel_all" in self.errors:
                if closes and "close" not in ran:
                    head = (
                        f"the position was NOT closed: cancelling {symbol}'s orders failed first: "
                    )
                elif closes:
                    head = f"position closed, but cancelling {symbol}'s orders failed: "
                else:
                    head = f"cancelling {symbol}'s orders failed: "
                return self._fail(self.errors["cancel_all"], head)
            ran |= {step.role for step in steps}
        return self._done()

    async def _breakeven(self) -> Outcome:
        for steps in self.plan.phases():
            await self._steps(steps)
            if "be_stop" in self.errors:
                return self._fail(self.errors["be_stop"], "new stop refused; the old stop stays: ")
        for role, error in self.errors.items():
            self.warnings.append(f"{role} failed: {error.message}")
        return self._done()

    async def _generic(self) -> Outcome:
        for steps in self.plan.phases():
            await self._steps(steps)
            if self.errors:
                role, error = next(iter(self.errors.items()))
                return self._fail(error, f"{role} failed: ")
        return self._done()

    # --- steps ----------------------------------------------------------------------------------

    async def _steps(self, steps: list[Step] | list[PlaceOrder]) -> None:
        """Send a phase's steps together, in listed order; errors are kept per role."""
        await asyncio.gather(*(self._step(s) for s in steps))

    async def _step(self, step: Step) -> None:
        try:
            if isinstance(step, PlaceOrder):
                await self._place(step)
            elif isinstance(step, AmendOrder):
                await self._amend(step)
            else:
                await self._cancel(step)
        except BotError as e:
            self.errors[step.role] = e

    async def _place(self, step: PlaceOrder) -> Order:
        client_id = client_id_for(self.alert_id, step.role)
        try:
            order = await self._create(step, client_id)
        except OrderRejected as e:
            self.updates.append((client_id, {"status": REJECTED, "error": e.message}))
            raise
        except ExecutionError as e:
            self.updates.append((client_id, {"status": UNKNOWN, "error": e.message}))
            raise
        self.results[step.role] = order
        self.venue.book.note_order(order)
        self.updates.append(
            (
                client_id,
                {
                    "status": order.status,
                    "exchange_id": order.id,
                    "filled": order.filled,
                    "average": order.average,
                    "amount": order.amount,
                },
            )
        )
        return order

    async def _amend(self, step: AmendOrder) -> None:
        order = await self.venue.exchange.amend_order(
            step.order_id, self.plan.symbol, trigger_price=step.trigger_price
        )
        self.results[step.role] = order
        self.venue.book.note_order(order)

    async def _create(self, step: PlaceOrder, client_id: str) -> Order:
        """Create the order; if the venue already holds our client id, that order is this one
        (sent before a restart, or by a first attempt whose answer was lost): adopt it."""
        exchange = self.venue.exchange
        try:
            return await exchange.create_order(
                self.plan.symbol,
                step.type,
                step.side,
                step.amount,
                step.price,
                client_id=client_id,
                trigger_price=step.trigger_price,
                reduce_only=step.reduce_only,
                attach=self.attach if step.role == "entry" else None,
            )
        except DuplicateClientId:
            existing = await exchange.fetch_order(client_id, self.plan.symbol)
            if existing is None or (existing.status in FINAL_STATUSES and existing.filled <= 0):
                raise  # gone (cancelled) under our id: it cannot be placed again
            self.warnings.append(f"{step.role} was already at the venue: kept, not sent again")
            return existing

    async def _cancel(self, step: CancelOrder) -> None:
        exchange = self.venue.exchange
        if step.order_id is None:
            scope = None if self.plan.symbol == ALL_SYMBOLS else self.plan.symbol
            for order in await exchange.cancel_all_orders(scope):
                self.venue.book.note_order(order)
            return
        try:
            self.venue.book.note_order(await exchange.cancel_order(step.order_id, self.plan.symbol))
        except OrderNotFound:
            self.venue.book.forget_order(step.order_id)  # already gone: that is what we wanted

    async def _amend_amount(self, role: str, amount: Decimal) -> None:
        order = self.results[role]
        try:
            amended = await self.venue.exchange.amend_order(
                order.id, self.plan.symbol, amount=amount
            )
        except BotError as e:
            self.warnings.append(f"could not resize {role} to {amount}: {e.message}")
            return
        self.results[role] = amended
        self.updates.append((amended.client_id, {"amount": amended.amount}))

    async def _flatten(self, entry: Order) -> None:
        """The entry is in but unprotected: cancel what is left of it and close what filled."""
        if entry.is_open:
            await self._best_effort_cancel(entry)
        filled = (
            entry.filled
            if entry.status == CLOSED or entry.type is OrderType.LIMIT
            else entry.amount
        )
        if filled <= 0:
            return
        step = PlaceOrder(
            "flatten", entry.side.opposite, OrderType.MARKET, filled, reduce_only=True, phase=9
        )
        rows = order_rows(
            self.alert_id, OrderPlan(self.plan.kind, self.plan.account, self.plan.symbol, (step,))
        )
        await self.journal.add_orders(self.alert_id, rows)
        try:
            await self._place(step)
        except BotError as e:
            self.warnings.append(
                f"SAFETY CLOSE FAILED ({e.message}): the position is open without a stop"
            )

    async def _best_effort_cancel(self, order: Order) -> None:
        try:
            self.venue.book.note_order(
                await self.venue.exchange.cancel_order(order.id, self.plan.symbol)
            )
        except BotError as e:
            self.warnings.append(f"could not cancel {order.client_id}: {e.message}")

    # --- outcomes -------------------------------------------------------------------------------

    def _fail(self, error: BotError, prefix: str) -> Outcome:
        status = REJECTED if isinstance(error, OrderRejected) else FAILED
        if any(
            isinstance(e, ExecutionError) and not isinstance(e, OrderRejected | OrderNotFound)
            for e in self.errors.values()
        ):
            status = NEEDS_REVIEW if self.results else FAILED
        return Outcome(status=status, message=prefix + error.message, warnings=self.warnings)

    def _done(
        self,
        *,
        armed: list[PlaceOrder] | None = None,
        note: str | None = None,
    ) -> Outcome:
        return Outcome(
            status="executed",
            message=note or describe(self.plan, self.results),
            warnings=self.warnings,
            armed=armed or [],
        )


def _deferred(step: Step) -> bool:
    return isinstance(step, PlaceOrder) and step.after_fill
