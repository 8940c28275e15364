"""How a plan's orders are named (client ids), recorded (journal rows) and described to a trader."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from .exchanges.base import Order
from .journal_schema import PLANNED
from .models import AlertKind, OrderPlan, PlaceOrder

ROLE_CODES = {
    "close": "cx",
    "stop": "sl",
    "entry": "en",
    "tp": "tp",
    "be_stop": "be",
    "order": "od",
    "flatten": "fx",
    **{f"tp{n}": f"t{n}" for n in range(1, 10)},
}


_ROLES = {code: role for role, code in ROLE_CODES.items()}
ALERT_ID_BYTES = 8
ALERT_ID_LEN = 2 * ALERT_ID_BYTES  # hex


def new_alert_id() -> str:
    """16 hex characters: unguessable, and short enough to fit in every venue's client id."""
    return secrets.token_hex(ALERT_ID_BYTES)


def main_role(plan: OrderPlan) -> str:
    """The role of the plan's main order: the one its protection protects."""
    return "entry" if plan.kind is AlertKind.ENTRY else "order"


def client_id_for(alert_id: str, role: str) -> str:
    """Our id on every order: the alert id plus a role code, alphanumeric and under 32 chars."""
    return f"{alert_id}{ROLE_CODES[role]}"


def role_of(client_id: str) -> str | None:
    """The role a client id of ours names (`…sl` a stop, `…t1` TP1); None if not one of ours."""
    return _ROLES.get(client_id[ALERT_ID_LEN:]) if len(client_id) > ALERT_ID_LEN else None


def alert_of(client_id: str) -> str | None:
    return client_id[:ALERT_ID_LEN] if role_of(client_id) else None


def order_rows(alert_id: str, plan: OrderPlan) -> list[dict[str, Any]]:
    rows = []
    for step in plan.steps:
        if isinstance(step, PlaceOrder):
            rows.append(
                {
                    "client_id": client_id_for(alert_id, step.role),
                    "account": plan.account,
                    "symbol": plan.symbol,
                    "role": step.role,
                    "side": str(step.side),
                    "type": str(step.type),
                    "amount": str(step.amount),
                    "price": _s(step.price),
                    "trigger_price": _s(step.trigger_price),
                    "reduce_only": step.reduce_only,
                    "phase": step.phase,
                    "status": PLANNED,
                }
            )
    return rows


def describe(plan: OrderPlan, results: dict[str, Order]) -> str:
    """One line a trader reads: what was done."""
    sym = plan.symbol
    if plan.kind is AlertKind.ENTRY and "entry" in results:
        entry = results["entry"]
        price = entry.average or entry.price or plan.entry_price
        parts = [
            f"{plan.side.direction if plan.side else ''} {entry.filled or entry.amount} {sym} "
            f"@ {price}"
        ]
        if "stop" in results:
            parts.append(f"stop {results['stop'].trigger_price}")
        tps = [o for r, o in results.items() if r.startswith("tp")]
        if tps:
            parts.append("TP " + ", ".join(f"{o.amount}@{o.trigger_price}" for o in tps))
        if plan.risk_amount is not None:
            parts.append(f"risk {plan.risk_amount:.2f}")
        return "entry " + "; ".join(parts)
    if plan.kind is AlertKind.ORDER and "order" in results:
        order = results["order"]
        done = f"{order.filled} @ {order.average}" if order.average else f"{order.amount} resting"
        extra = f"; stop {results['stop'].trigger_price}" if "stop" in results else ""
        extra += f"; TP {results['tp'].trigger_price}" if "tp" in results else ""
        return f"order {order.side} {order.type} {sym}: {done}{extra}"
    if plan.kind is AlertKind.CLOSE and "close" in results:
        close = results["close"]
        return f"closed {close.filled or close.amount} {sym} @ {close.average or close.price}"
    if plan.kind in (AlertKind.CANCEL, AlertKind.CANCEL_ALL):
        return "; ".join(plan.notes) or f"{plan.kind.value.replace('_', ' ')} done on {sym}"
    if plan.kind is AlertKind.EXIT:
        close = results.get("close")
        done = f"closed {close.filled} {sym} @ {close.average}" if close else "no position to close"
        return f"exit: {done}; {sym} orders cancelled"
    if plan.kind is AlertKind.BREAKEVEN:
        if "be_stop" in results:
            return f"breakeven: stop moved to {results['be_stop'].trigger_price} on {sym}"
    return "; ".join(plan.notes) or f"{plan.kind} done on {sym}"


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
