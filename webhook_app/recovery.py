"""After a restart: untouched young alerts run, interrupted ones are reconciled with the venue by
client id (and a filled entry gets back the protection it is missing), the rest are flagged."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .errors import BotError
from .exchanges.base import Order
from .journal import ACCEPTED, EXECUTING, NEEDS_REVIEW, AlertRow
from .models import Alert, AlertKind, OrderPlan, PlaceOrder
from .placement import PlanRun
from .plan_rows import client_id_for, main_role
from .protection import Armed
from .venues import Venue

if TYPE_CHECKING:
    from .execution import Executor

logger = logging.getLogger(__name__)


async def recover(executor: Executor) -> list[str]:
    notes: list[str] = []
    for row in await executor.journal.unfinished():
        try:
            notes.append(await _recover_alert(executor, row))
        except BotError as e:  # its account or ticker is gone from the configuration
            await executor.journal.set_status(
                row.id, NEEDS_REVIEW, f"cannot be recovered: {e.message}"
            )
            notes.append(f"{row.id}: needs review ({e.message})")
    notes.extend(await _recover_armed(executor))
    return notes


async def _recover_alert(executor: Executor, row: AlertRow) -> str:
    from .execution import Job

    alert = Alert.from_json(row.alert)
    venue = executor.venues.get(row.account)
    market = venue.exchange.market(row.symbol)
    age = executor.clock() - row.updated_at  # since it became accepted (approved, or due)
    if row.status == ACCEPTED and age <= executor.resume_max_age_s:
        executor.submit(Job(row.id, alert, venue, market))  # nothing was planned, nothing sent
        return f"{row.id}: resumed"
    if row.status == ACCEPTED:
        message = (
            f"not executed: the server stopped first, and the alert is now {age:.0f} s old "
            f"(over RESUME_MAX_AGE {executor.resume_max_age_s:.0f} s)"
        )
    else:
        # Planned orders may or may not have left: ask the venue for each, by client id.
        found = await _reconcile(
            executor, venue, row.symbol, await executor.journal.orders_for(row.id)
        )
        seen = ", ".join(f"{role} {o.status}" for role, o in found.items() if o is not None)
        message = "interrupted mid-execution by a restart; at the venue: " + (
            seen or "none of its orders"
        )
        if row.plan is not None:
            message += await _restore(executor, row, venue, found)
    await executor.journal.set_status(row.id, NEEDS_REVIEW, message, expect=(ACCEPTED, EXECUTING))
    logger.warning("alert %s needs review: %s", row.id, message)
    executor.finished(row.id)
    return f"{row.id}: needs review"


async def _reconcile(
    executor: Executor, venue: Venue, symbol: str, rows: list[dict[str, Any]]
) -> dict[str, Order | None]:
    found: dict[str, Order | None] = {}
    for row in rows:
        try:
            order = await venue.exchange.fetch_order(row["client_id"], symbol)
        except BotError:
            continue  # unknown: neither placed again nor assumed absent
        found[row["role"]] = order
        if order is None:
            await executor.journal.update_order(row["client_id"], status="not_sent")
        else:
            await executor.journal.update_order(
                row["client_id"], status=order.status, exchange_id=order.id, filled=order.filled
            )
    return found


async def _restore(
    executor: Executor, row: AlertRow, venue: Venue, found: dict[str, Order | None]
) -> str:
    """A filled entry without its stop (or take-profits): place what is missing, sized to the
    fill. A resting limit entry: arm its protection again."""
    plan = OrderPlan.from_json(row.plan or {})
    if plan.kind not in (AlertKind.ENTRY, AlertKind.ORDER):
        return ""
    entry = found.get(main_role(plan))
    if entry is None:
        return ""
    protection = [
        s
        for s in plan.steps
        if isinstance(s, PlaceOrder)
        and s.reduce_only
        and s.role != "close"
        and found.get(s.role) is None
    ]
    market = venue.exchange.market(row.symbol)
    if entry.filled <= 0:
        if entry.is_open and protection:
            armed = Armed(
                row.id,
                venue,
                market,
                plan,
                protection,
                plan.size or entry.amount,
            )
            executor.watch.arm(armed)
            executor.watch.confirm(armed, {})
            return "; its protection is armed again for the fill"
        return ""
    if not protection:
        return ""
    run = PlanRun(executor.journal, venue, market, row.id, plan)
    outcome = await run.protect(entry, protection, plan.size or entry.amount, entry.filled)
    await run.flush()
    roles = ", ".join(s.role for s in protection if s.role in run.results) or "nothing"
    return (
        f"; protection restored for the filled {entry.filled}: {roles} placed ({outcome.message})"
    )


async def _recover_armed(executor: Executor) -> list[str]:
    """Protection armed before the restart waits again for its entry's fill."""
    notes = []
    rows = await executor.journal.armed_orders()
    for alert_id in dict.fromkeys(r["alert_id"] for r in rows):
        alert_row = await executor.journal.get(alert_id)
        if alert_row is None or alert_row.plan is None:
            continue
        try:
            plan = OrderPlan.from_json(alert_row.plan)
            venue = executor.venues.get(alert_row.account)
            market = venue.exchange.market(alert_row.symbol)
            entry = await venue.exchange.fetch_order(
                client_id_for(alert_id, main_role(plan)), market.symbol
            )
        except BotError as e:
            notes.append(f"{alert_id}: protection not re-armed ({e.message})")
            continue
        if entry is None:
            continue
        roles = {r["role"] for r in rows if r["alert_id"] == alert_id}
        steps = [s for s in plan.steps if isinstance(s, PlaceOrder) and s.role in roles]
        armed = Armed(
            alert_id,
            venue,
            market,
            plan,
            steps,
            plan.size or entry.amount,
        )
        executor.watch.arm(armed)
        executor.watch.on_event(venue, _as_event(entry))
        notes.append(f"{alert_id}: protection re-armed")
    return notes


def _as_event(order: Order):  # type: ignore[no-untyped-def]
    from .exchanges.base import ExchangeEvent

    return ExchangeEvent(kind="order", symbol=order.symbol, order=order)
