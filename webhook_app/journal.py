"""The durable journal: every accepted alert, its plan and each order, written before it is sent."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .journal_rows import AlertRow, NewAlert, alert_row, orders_writer
from .journal_schema import (  # the statuses are part of the journal's interface
    ACCEPTED,
    ARMED,
    ATTACHED,
    CANCELLED,
    DECLINED,
    EXECUTED,
    EXECUTING,
    EXPIRED,
    FAILED,
    FINAL,
    HALTED,
    IGNORED,
    NEEDS_REVIEW,
    PENDING_APPROVAL,
    PLANNED,
    REJECTED,
    SCHEDULED,
    SKIPPED,
    UNKNOWN,
    create_schema,
)
from .storage import SqliteWorker

__all__ = [
    "ACCEPTED",
    "ARMED",
    "ATTACHED",
    "CANCELLED",
    "DECLINED",
    "EXECUTED",
    "EXECUTING",
    "EXPIRED",
    "FAILED",
    "FINAL",
    "HALTED",
    "IGNORED",
    "NEEDS_REVIEW",
    "PENDING_APPROVAL",
    "PLANNED",
    "REJECTED",
    "SCHEDULED",
    "SKIPPED",
    "UNKNOWN",
    "AlertRow",
    "Journal",
    "NewAlert",
]


class Journal:
    def __init__(
        self, data_dir: Path, *, synchronous: str = "full", clock: Callable[[], float] = time.time
    ) -> None:
        self.worker = SqliteWorker(
            data_dir / "journal.sqlite3",
            synchronous=synchronous,
            setup=create_schema,
        )
        self.clock = clock

    async def start(self) -> None:
        await self.worker.start()

    async def close(self) -> None:
        await self.worker.close()

    async def record_alert(self, new: NewAlert, dedupe_window_s: float) -> tuple[AlertRow, bool]:
        """Insert the alert unless the same key arrived within the window.

        Returns (row, True) for a new alert, or (the first delivery's row, False) for a repeat.
        The look-up and the insert run in one transaction, so concurrent repeats insert once.
        """
        now = self.clock()

        def job(conn: sqlite3.Connection) -> tuple[AlertRow, bool]:
            first = conn.execute(
                "SELECT * FROM alerts WHERE idem_key=? AND received_at>=? ORDER BY seq LIMIT 1",
                (new.idem_key, now - dedupe_window_s),
            ).fetchone()
            if first is not None:
                return alert_row(first), False
            conn.execute(
                "INSERT INTO alerts(id, received_at, route, source, account, symbol, idem_key,"
                " status, body, alert, message, warnings, flags, updated_at, expires_at, ref,"
                " run_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    new.id,
                    now,
                    new.route,
                    new.source,
                    new.account,
                    new.symbol,
                    new.idem_key,
                    new.status,
                    new.body,
                    json.dumps(new.alert),
                    new.message,
                    json.dumps(list(new.warnings)),
                    json.dumps(list(new.flags)),
                    now,
                    new.expires_at,
                    new.ref,
                    new.run_at,
                ),
            )
            conn.executemany(
                "INSERT INTO outbox(channel, payload, alert_id, created_at) VALUES (?,?,?,?)",
                [(channel, payload, new.id, now) for channel, payload in new.outbox],
            )
            row = conn.execute("SELECT * FROM alerts WHERE id=?", (new.id,)).fetchone()
            return alert_row(row), True

        return await self.worker.run(job)

    async def save_plan(
        self,
        alert_id: str,
        plan: dict[str, Any],
        orders: Iterable[dict[str, Any]],
        status: str = EXECUTING,
    ) -> None:
        now = self.clock()
        rows = [_order_row(alert_id, i, o, now) for i, o in enumerate(orders)]

        def job(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE alerts SET plan=?, status=?, updated_at=? WHERE id=?",
                (json.dumps(plan), status, now, alert_id),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO orders(client_id, alert_id, seq, account, symbol, role,"
                " side, type, amount, price, trigger_price, reduce_only, phase, status, created_at,"
                " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )

        await self.worker.run(job)

    async def add_orders(self, alert_id: str, orders: Iterable[dict[str, Any]]) -> None:
        """Journal orders that were not in the plan (a safety close), before they are sent."""
        now = self.clock()
        rows = [_order_row(alert_id, o.get("seq", 100), o, now) for o in orders]
        await self.worker.run(
            lambda conn: conn.executemany(
                "INSERT OR IGNORE INTO orders(client_id, alert_id, seq, account, symbol, role,"
                " side, type, amount, price, trigger_price, reduce_only, phase, status, created_at,"
                " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        )

    def update_order(self, client_id: str, **values: Any) -> Any:
        """Queue one order update; returns the future (the caller may await it or not)."""
        return self.worker.submit(orders_writer([(client_id, values)], self.clock()))

    async def decide(
        self,
        alert_id: str,
        *,
        status: str,
        decision: str,
        by: str,
        edits: dict[str, Any] | None = None,
        alert: dict[str, Any] | None = None,
    ) -> bool:
        """The one compare-and-set that turns a pending study alert into a decision.

        True for the first decision; False when it was already decided or its approval expired.
        """
        now = self.clock()
        edited = json.dumps(alert) if alert is not None else None

        def job(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(
                "UPDATE alerts SET status=?, updated_at=?, alert=COALESCE(?, alert) WHERE id=?"
                " AND status=? AND (expires_at IS NULL OR expires_at>?)",
                (status, now, edited, alert_id, PENDING_APPROVAL, now),
            ).rowcount
            if changed:
                conn.execute(
                    "INSERT INTO decisions VALUES (?,?,?,?,?)",
                    (alert_id, decision, by, now, json.dumps(edits or {}, default=str)),
                )
            return changed == 1

        return await self.worker.run(job)

    async def decision(self, alert_id: str) -> dict[str, Any] | None:
        row = await self.worker.run(
            lambda conn: conn.execute(
                "SELECT * FROM decisions WHERE alert_id=?", (alert_id,)
            ).fetchone()
        )
        if row is None:
            return None
        return {
            "decision": row["decision"],
            "decided_by": row["decided_by"],
            "decided_at": row["decided_at"],
            "edits": json.loads(row["edits"]),
        }

    async def expire_approvals(self) -> list[str]:
        """Mark pending study alerts past their expiry as expired; returns their ids."""
        now = self.clock()

        def job(conn: sqlite3.Connection) -> list[str]:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM alerts WHERE status=? AND expires_at<=?",
                    (PENDING_APPROVAL, now),
                )
            ]
            conn.executemany(
                "UPDATE alerts SET status=?, updated_at=?, message=? WHERE id=? AND status=?",
                [
                    (
                        EXPIRED,
                        now,
                        "approval window expired: nothing was placed",
                        i,
                        PENDING_APPROVAL,
                    )
                    for i in ids
                ],
            )
            return ids

        return await self.worker.run(job)

    async def settings_like(self, prefix: str) -> dict[str, str]:
        rows = await self.worker.run(
            lambda conn: conn.execute(
                "SELECT key, value FROM settings WHERE key LIKE ?", (prefix + "%",)
            ).fetchall()
        )
        return {r[0]: r[1] for r in rows}

    def set_setting(self, key: str, value: str) -> Any:
        """Queue the write; await what it returns, or leave it to commit in the background."""
        now = self.clock()
        return self.worker.submit(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO settings VALUES (?,?,?)", (key, value, now)
            )
        )

    async def update_orders(self, updates: list[tuple[str, dict[str, Any]]]) -> None:
        await self.worker.run(orders_writer(updates, self.clock()))

    async def finish(
        self,
        alert_id: str,
        status: str,
        message: str,
        warnings: Iterable[str],
        updates: list[tuple[str, dict[str, Any]]],
    ) -> None:
        """The final status and the orders' results, in one transaction (warnings are added to
        those intake recorded)."""
        now = self.clock()
        write_orders = orders_writer(updates, now)
        added = list(warnings)

        def job(conn: sqlite3.Connection) -> None:
            write_orders(conn)
            row = conn.execute("SELECT warnings FROM alerts WHERE id=?", (alert_id,)).fetchone()
            kept = json.loads(row[0]) if row else []
            merged = kept + [w for w in added if w not in kept]
            conn.execute(
                "UPDATE alerts SET status=?, updated_at=?, message=?, warnings=? WHERE id=?",
                (status, now, message, json.dumps(merged), alert_id),
            )

        await self.worker.run(job)

    async def set_status(
        self,
        alert_id: str,
        status: str,
        message: str | None = None,
        *,
        expect: Iterable[str] | None = None,
        flags: Iterable[str] | None = None,
        warnings: Iterable[str] | None = None,
    ) -> bool:
        """Set an alert's status; with `expect`, only from one of those (compare-and-set)."""
        now = self.clock()
        expected = tuple(expect) if expect is not None else None

        def job(conn: sqlite3.Connection) -> bool:
            sql = "UPDATE alerts SET status=?, updated_at=?"
            params: list[Any] = [status, now]
            if message is not None:
                sql += ", message=?"
                params.append(message)
            if flags is not None:
                sql += ", flags=?"
                params.append(json.dumps(list(flags)))
            if warnings is not None:
                sql += ", warnings=?"
                params.append(json.dumps(list(warnings)))
            sql += " WHERE id=?"
            params.append(alert_id)
            if expected is not None:
                sql += f" AND status IN ({','.join('?' * len(expected))})"
                params.extend(expected)
            return conn.execute(sql, params).rowcount == 1

        return await self.worker.run(job)

    async def get(self, alert_id: str) -> AlertRow | None:
        row = await self.worker.run(
            lambda conn: conn.execute("SELECT * FROM alerts WHERE id=?", (alert_id,)).fetchone()
        )
        return alert_row(row) if row else None

    async def orders_for(self, alert_id: str) -> list[dict[str, Any]]:
        rows = await self.worker.run(
            lambda conn: conn.execute(
                "SELECT * FROM orders WHERE alert_id=? ORDER BY seq", (alert_id,)
            ).fetchall()
        )
        return [dict(r) for r in rows]

    async def unfinished(self) -> list[AlertRow]:
        rows = await self.worker.run(
            lambda conn: conn.execute(
                "SELECT * FROM alerts WHERE status IN (?, ?) ORDER BY seq", (ACCEPTED, EXECUTING)
            ).fetchall()
        )
        return [alert_row(r) for r in rows]

    async def find_by_ref(self, account: str, ref: str) -> AlertRow | None:
        """The latest alert of the account that placed (or will place) an order with this ref."""
        row = await self.worker.run(
            lambda conn: conn.execute(
                "SELECT * FROM alerts WHERE account=? AND ref=? ORDER BY seq DESC LIMIT 1",
                (account, ref),
            ).fetchone()
        )
        return alert_row(row) if row else None

    async def scheduled(self, account: str | None = None) -> list[AlertRow]:
        sql, params = "SELECT * FROM alerts WHERE status=?", (SCHEDULED,)
        if account is not None:
            sql, params = sql + " AND account=?", (SCHEDULED, account)
        rows = await self.worker.run(
            lambda conn: conn.execute(sql + " ORDER BY run_at", params).fetchall()
        )
        return [alert_row(r) for r in rows]

    async def armed_orders(self) -> list[dict[str, Any]]:
        rows = await self.worker.run(
            lambda conn: conn.execute(
                "SELECT * FROM orders WHERE status=? ORDER BY alert_id, seq", (ARMED,)
            ).fetchall()
        )
        return [dict(r) for r in rows]

    async def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        rows = await self.worker.run(lambda conn: conn.execute(sql, params).fetchall())
        return [dict(r) for r in rows]


def _order_row(alert_id: str, seq: int, o: dict[str, Any], now: float) -> tuple[Any, ...]:
    return (
        o["client_id"],
        alert_id,
        seq,
        o["account"],
        o["symbol"],
        o["role"],
        o["side"],
        o["type"],
        o["amount"],
        o.get("price"),
        o.get("trigger_price"),
        int(o["reduce_only"]),
        o.get("phase", 99),
        o["status"],
        now,
        now,
    )
