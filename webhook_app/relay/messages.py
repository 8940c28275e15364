"""What the Discord channels say: the study alert to approve, and one line per alert outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..models import Alert, AlertKind, OrderPlan, Side, r_multiple

GREEN, RED, GREY, AMBER = 0x2ECC71, 0xE74C3C, 0x95A5A6, 0xF39C12
_OUTCOME_STYLE = {
    "executed": ("✅", GREEN),
    "ignored": ("ℹ️", GREY),
    "duplicate": ("♻️", GREY),
    "rejected": ("❌", RED),
    "malformed": ("❌", RED),
    "failed": ("⚠️", AMBER),
    "needs_review": ("⚠️", AMBER),
    "declined": ("🚫", GREY),
    "expired": ("⌛", GREY),
    "accepted": ("⏳", GREY),
    "executing": ("⏳", GREY),
}


def payload_line(fields: dict[str, Any], alert_id: str) -> str:
    """The ready-to-copy `!payload` line: the alert's fields and its id, never the passphrase."""
    data = {k: _plain(v) for k, v in fields.items() if k.lower() != "passphrase"}
    data["alert_id"] = alert_id
    return "!payload " + json.dumps(data, separators=(", ", ": "))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _money(value: Decimal | None, currency: str) -> str:
    return "—" if value is None else f"{value:,.2f} {currency}"


def _r(value: Decimal) -> str:
    return f"{value.normalize():f} R" if value == value.to_integral_value() else f"{value:.2f} R"


def take_profit_lines(plan: OrderPlan | None, alert: Alert) -> list[str]:
    """Each TP with its price, its R multiple and what it closes."""
    if plan is None or plan.entry_price is None or plan.stop_price is None:
        return [str(alert.take_profit)] if alert.take_profit else []
    lines = []
    for step in plan.take_profits():
        assert step.trigger_price is not None
        r_mult = r_multiple(step.trigger_price, plan.entry_price, plan.stop_price)
        name = "TP" if step.role == "tp" else step.role.upper()
        r_text = _r(r_mult) if r_mult is not None else "— R"
        lines.append(f"{name} {step.trigger_price} · {r_text} · {step.amount}")
    return sorted(lines, key=lambda line: (line.startswith("TP "), line))


def study_message(
    *,
    alert_id: str,
    alert: Alert,
    fields: dict[str, Any],
    plan: OrderPlan | None,
    account: str,
    currency: str,
    expires_at: float,
) -> dict[str, Any]:
    """The relayed study alert: the setup, the size the planner would use now, how to approve."""
    side = alert.side
    direction = side.direction.upper() if side else alert.kind.value.upper()
    emoji = "🟢" if side is Side.BUY else "🔴" if side is Side.SELL else "⚪"
    expires = int(expires_at)
    lines = []
    if alert.chart_url:
        lines.append(f"[Open the chart]({alert.chart_url})")
    lines.append(f"Expires <t:{expires}:R> (<t:{expires}:t>). Approve with the buttons, or copy:")
    lines.append(f"```\n{payload_line(fields, alert_id)}\n```")
    embed: dict[str, Any] = {
        "title": f"{emoji} {direction} {alert.ticker} · {alert.message}",
        "description": "\n".join(lines),
        "color": GREEN if side is Side.BUY else RED if side is Side.SELL else GREY,
        "fields": _study_fields(alert, plan, currency, expires),
        "footer": {"text": f"alert {alert_id} · account {account}"},
        "timestamp": (alert.fired_at or datetime.now(UTC)).isoformat(),
    }
    if alert.chart_url:
        embed["url"] = alert.chart_url
    return {"embeds": [embed]}


def _study_fields(alert: Alert, plan: OrderPlan | None, currency: str, expires: int) -> list[dict]:
    fields = [
        {"name": "Side", "value": str(alert.side or "—"), "inline": True},
        {"name": "Type", "value": str(alert.order_type), "inline": True},
        {"name": "Price", "value": str(alert.price or "market"), "inline": True},
    ]
    if alert.kind is AlertKind.ENTRY:
        fields.append({"name": "Stop-loss", "value": str(alert.stop_loss), "inline": True})
        tps = take_profit_lines(plan, alert)
        fields.append({"name": "Take-profits", "value": "\n".join(tps) or "none", "inline": True})
        if plan is not None and plan.entry_price and plan.stop_price and alert.take_profit:
            reward = r_multiple(alert.take_profit, plan.entry_price, plan.stop_price)
            if reward is not None:
                fields.append({"name": "R multiple", "value": _r(reward), "inline": True})
    if alert.kind is AlertKind.BREAKEVEN:
        fields.append({"name": "Breakeven", "value": str(alert.breakeven), "inline": True})
    if plan is not None and plan.size is not None:
        fields.append({"name": "Size now", "value": f"{plan.size} {plan.symbol}", "inline": True})
        fields.append(
            {"name": "Notional", "value": _money(plan.notional, currency), "inline": True}
        )
        risk = _money(plan.risk_amount, currency)
        if plan.equity:
            risk += (
                f" ({plan.risk_amount / plan.equity * 100:.2f} % of equity)"
                if plan.risk_amount
                else ""
            )
        fields.append({"name": "Risk", "value": risk, "inline": True})
    fields.append({"name": "Expires", "value": f"<t:{expires}:R>", "inline": True})
    return fields


def outcome_message(answer: dict[str, Any]) -> dict[str, Any]:
    """One line per alert outcome for the logs channel (and the errors channel when it failed)."""
    status = answer.get("status", "")
    emoji, color = _OUTCOME_STYLE.get(status, ("•", GREY))
    symbol = answer.get("symbol", "")
    embed: dict[str, Any] = {
        "title": f"{emoji} {status} · {symbol}".strip(" ·"),
        "description": str(answer.get("message", ""))[:3500],
        "color": color,
    }
    orders = answer.get("orders") or []
    if orders:
        embed["fields"] = [
            {"name": "Orders", "value": "\n".join(_order_line(o) for o in orders)[:1000]}
        ]
    if answer.get("warnings"):
        embed.setdefault("fields", []).append(
            {"name": "Warnings", "value": "\n".join(answer["warnings"])[:1000]}
        )
    if answer.get("alert_id"):
        embed["footer"] = {"text": f"alert {answer['alert_id']}"}
    return {"embeds": [embed]}


def _order_line(order: dict[str, Any]) -> str:
    level = order.get("trigger_price") or order.get("price") or order.get("average") or "market"
    done = f" → {order['filled']} @ {order['average']}" if order.get("average") else ""
    what = f"{order['side']} {order['type']} {order['amount']} @ {level}"
    return f"`{order['role']:<8}` {what} · {order['status']}{done}"
