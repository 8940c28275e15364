"""The journal's records: an alert row, a new alert, and how order updates are written."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .journal_schema import FINAL, ORDER_COLUMNS


@dataclass(frozen=True)
class AlertRow:
    id: str
    seq: int
    received_at: float
    route: str
    source: str
    account: str
    symbol: str
    status: str
    body: str
    alert: dict[str, Any]
    plan: dict[str, Any] | None
    message: str
    warnings: list[str]
    flags: list[str]
    updated_at: float
    expires_at: float | None = None
    ref: str | None = None  # the sender's own order id (seed 001 clientOrderId)
    run_at: float | None = None  # a delayed alert runs then

    @property
    def final(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class NewAlert:
    id: str
    route: str
    source: str
    account: str
    symbol: str
    idem_key: str
    status: str
    body: str
    alert: dict[str, Any]
    message: str = ""
    warnings: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    expires_at: float | None = None
    outbox: tuple[tuple[str, str], ...] = ()  # (channel, payload JSON) written with the alert
    ref: str | None = None
    run_at: float | None = None


def orders_writer(
    updates: list[tuple[str, dict[str, Any]]], now: float
) -> Callable[[sqlite3.Connection], None]:
    statements: list[tuple[str, tuple[Any, ...]]] = []
    for client_id, values in updates:
        unknown = set(values) - set(ORDER_COLUMNS)
        if unknown:
            raise ValueError(f"unknown order columns {unknown}")
        names = ", ".join(f"{k}=?" for k in values)
        sql = f"UPDATE orders SET {names}, updated_at=? WHERE client_id=?"  # noqa: S608
        statements.append((sql, (*(_sql_value(v) for v in values.values()), now, client_id)))

    def write(conn: sqlite3.Connection) -> None:
        for sql, params in statements:
            conn.execute(sql, params)

    return write


def _sql_value(value: Any) -> Any:
    return value if value is None or isinstance(value, int | str) else str(value)


def alert_row(r: sqlite3.Row) -> AlertRow:
    return AlertRow(
        id=r["id"],
        seq=r["seq"],
        received_at=r["received_at"],
        route=r["route"],
        source=r["source"],
        account=r["account"],
        symbol=r["symbol"],
        status=r["status"],
        body=r["body"],
        alert=json.loads(r["alert"]),
        plan=json.loads(r["plan"]) if r["plan"] else None,
        message=r["message"],
        warnings=json.loads(r["warnings"]),
        flags=json.loads(r["flags"]),
        updated_at=r["updated_at"],
        expires_at=r["expires_at"],
        ref=r["ref"],
        run_at=r["run_at"],
    )
