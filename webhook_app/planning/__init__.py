"""Planning: Alert + account + market facts → OrderPlan. Pure functions, no I/O.

One module per responsibility: `entry` (risk sizing, stop, take-profit ladder), `exits` (exit,
breakeven), `orders` (plain orders, partial closes and cancels of the other dialects).
"""

from __future__ import annotations

from ..config import Account
from ..models import Alert, AlertKind, OrderPlan
from .entry import plan_entry, resize_for_fill, size_by_risk, take_profit_ladder
from .exits import plan_breakeven, plan_exit
from .facts import Facts
from .limits import check_limits
from .orders import plan_cancel, plan_cancel_all, plan_close, plan_order

__all__ = ["Facts", "plan_alert", "resize_for_fill", "size_by_risk", "take_profit_ladder"]

_PLANNERS = {
    AlertKind.ENTRY: plan_entry,
    AlertKind.EXIT: plan_exit,
    AlertKind.BREAKEVEN: plan_breakeven,
    AlertKind.ORDER: plan_order,
    AlertKind.CLOSE: plan_close,
    AlertKind.CANCEL: plan_cancel,
    AlertKind.CANCEL_ALL: plan_cancel_all,
}


def plan_alert(alert: Alert, account: Account, facts: Facts) -> OrderPlan:
    """The one entry point: dispatch on the alert's kind."""
    planner = _PLANNERS.get(alert.kind)
    if planner is None:
        return OrderPlan(
            kind=alert.kind,
            account=account.name,
            symbol=facts.market.symbol,
            notes=(f"{alert.message!r} is informational: nothing to do",),
        )
    plan = planner(alert, account, facts)
    check_limits(plan, account, facts)
    return plan
