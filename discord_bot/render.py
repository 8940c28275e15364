"""How the bot shows the app's answers: one line of outcome, orders and tables in code blocks."""

from __future__ import annotations

from typing import Any

from .app_client import AppAnswer

MAX_MESSAGE = 1900  # Discord allows 2,000 characters; keep room for the code fences


def _fit(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def emoji(answer: AppAnswer) -> str:
    if answer.status == "duplicate":
        return "♻️"
    if answer.status in ("accepted", "executing", "pending_approval"):
        return "⏳"
    if answer.status == "declined":
        return "🚫"
    return "✅" if answer.ok else "❌"


def orders_block(orders: list[dict[str, Any]]) -> str:
    if not orders:
        return ""
    lines = []
    for o in orders:
        level = o.get("trigger_price") or o.get("price") or ""
        filled = f" filled {o['filled']} @ {o['average']}" if o.get("average") else ""
        lines.append(
            f"{o['role']:<8} {o['side']:<4} {o['type']:<11} {o['amount']:>10} "
            f"{level:>10} {o['status']}{filled}"
        )
    return "```\n" + "\n".join(lines) + "\n```"


def outcome(answer: AppAnswer) -> str:
    """✅ with the orders placed, or ❌ with the app's reason."""
    head = f"{emoji(answer)} {answer.message or answer.status}"
    if answer.status == "halted":
        head = f"⛔ {answer.message}"
    return _fit(head + ("\n" + orders_block(answer.body.get("orders") or []) if answer.ok else ""))


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], empty: str) -> str:
    """A compact monospace table of `columns` ((key, title) pairs)."""
    if not rows:
        return empty
    cells = [[_cell(r.get(key)) for key, _ in columns] for r in rows]
    widths = [max(len(title), *(len(c[i]) for c in cells)) for i, (_, title) in enumerate(columns)]
    head = "  ".join(title.ljust(w) for (_, title), w in zip(columns, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return _fit("```\n" + "\n".join([head, *body]) + "\n```")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.8f}".rstrip("0").rstrip(".")
    return str(value)


POSITION_COLUMNS = [
    ("sym", "symbol"),
    ("side", "side"),
    ("pos_size", "size"),
    ("entry_price", "entry"),
    ("unrealized_pnl", "uPnL"),
]
BALANCE_COLUMNS = [
    ("asset", "asset"),
    ("amount", "balance"),
    ("equity", "equity"),
    ("free", "free"),
]
ORDER_COLUMNS = [
    ("sym", "symbol"),
    ("side", "side"),
    ("order_type", "type"),
    ("order_size", "size"),
    ("order_price", "price"),
    ("client_id", "client id"),
]
