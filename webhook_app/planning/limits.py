"""The risk guard's limits on a plan, before anything is sent: open positions, orders per minute
and the daily loss. They stop new exposure only: closes, cancels and stops always pass."""

from __future__ import annotations

from decimal import Decimal

from ..config import Account
from ..errors import AlertRejected
from ..models import AlertKind, OrderPlan, PlaceOrder
from .facts import HUNDRED, Facts

_OPENS = (AlertKind.ENTRY, AlertKind.ORDER)


def opens(plan: OrderPlan) -> bool:
    """The plan adds exposure: an entry or an order with something that is not reduce-only."""
    places = [s for s in plan.steps if isinstance(s, PlaceOrder)]
    return plan.kind in _OPENS and not all(s.reduce_only for s in places)


def check_limits(plan: OrderPlan, account: Account, facts: Facts) -> None:
    if not opens(plan):
        return
    places = [s for s in plan.steps if isinstance(s, PlaceOrder)]
    name = account.name
    if (
        account.max_open_positions is not None
        and not facts.position
        and facts.open_positions >= account.max_open_positions
    ):
        raise AlertRejected(
            f"max open positions: account {name} already holds {facts.open_positions} "
            f"(max_open_positions {account.max_open_positions})"
        )
    limit = account.max_orders_per_minute
    if limit is not None and facts.orders_last_minute + len(places) > limit:
        raise AlertRejected(
            f"max orders per minute: {facts.orders_last_minute} sent in the last minute, and "
            f"this alert needs {len(places)} more (max_orders_per_minute {limit})"
        )
    pct, start = account.max_daily_loss_pct, facts.day_start_equity
    crossed = daily_loss_crossed(start, facts.equity, pct)
    if crossed is not None:
        loss, allowed = crossed
        raise AlertRejected(
            f"daily loss limit: equity {facts.equity:.2f} is {loss:.2f} below today's start "
            f"{start:.2f}, the limit is {allowed:.2f} (max_daily_loss_pct {pct} %)"
        )


def daily_loss_crossed(
    start: Decimal | None, equity: Decimal, pct: Decimal | None
) -> tuple[Decimal, Decimal] | None:
    """(the day's loss, the loss allowed) once the loss has reached the limit; else None."""
    if pct is None or start is None or start <= 0:
        return None
    loss, allowed = start - equity, start * pct / HUNDRED
    return (loss, allowed) if loss >= allowed else None
