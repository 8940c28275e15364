"""The durable journal: every accepted alert, its plan and each order, written before it is sent."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .storage import SqliteWorker

# Alert statuses. "Final" ones never change again.
ACCEPTED, EXECUTING, EXECUTED = "accepted", "executing", "executed"
FAILED, REJECTED, IGNORED, NEEDS_REVIEW = "failed", "rejected", "ignored", "needs_review"
PENDING_APPROVAL, DECLINED, EXPIRED = "pending_approval", "declined", "expired"
HALTED, SCHEDULED, CANCELLED = "halted", "scheduled", "cancelled"
FINAL = frozenset(
    {EXECUTED, FAILED, REJECTED, IGNORED, NEEDS_REVIEW, DECLINED, EXPIRED, HALTED, CANCELLED}
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    received_at REAL NOT NULL,
    route TEXT NOT NULL,
    source TEXT NOT NULL,
    account TEXT NOT NULL,
    symbol TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    alert TEXT NOT NULL,
    plan TEXT,
    message TEXT NOT NULL DEFAULT '',
    warnings TEXT NOT NULL DEFAULT '[]',
    flags TEXT NOT NULL DEFAULT '[]',
    updated_at REAL NOT NULL,
    expires_at REAL,
    ref TEXT,
    run_at REAL
);
CREATE INDEX IF NOT EXISTS alerts_idem ON alerts(idem_key, received_at);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts(status);
CREATE TABLE IF NOT EXISTS orders(
    client_id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    account TEXT NOT NULL,
    symbol TEXT NOT NULL,
    role TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    amount TEXT NOT NULL,
    price TEXT,
    trigger_price TEXT,
    reduce_only INTEGER NOT NULL,
    phase INTEGER NOT NULL,
    status TEXT NOT NULL,
    exchange_id TEXT,
    filled TEXT,
    average TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_alert ON orders(alert_id, seq);
CREATE INDEX IF NOT EXISTS orders_status ON orders(status);
CREATE TABLE IF NOT EXISTS outbox(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    alert_id TEXT,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at REAL,
    message_id TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(channel, id) WHERE delivered_at IS NULL
    AND error IS NULL;
CREATE TABLE IF NOT EXISTS decisions(
    alert_id TEXT PRIMARY KEY,
    decision TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at REAL NOT NULL,
    edits TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS settings(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""

# Columns added after the first release, so an older data dir is upgraded in place.
_ADDED_COLUMNS = {"alerts": {"expires_at": "REAL", "ref": "TEXT", "run_at": "REAL"}}
_ADDED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS alerts_ref ON alerts(account, ref) WHERE ref IS NOT NULL",
)


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    for table, columns in _ADDED_COLUMNS.items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in present:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    for statement in _ADDED_INDEXES:
        conn.execute(statement)


# Order statuses in the journal (beyond the venue's open/closed/canceled/rejected/expired).
PLANNED, ARMED, SKIPPED, UNKNOWN = "planned", "armed", "skipped", "unknown"
ORDER_COLUMNS = (
    "status",
    "exchange_id",
    "filled",
    "average",
    "error",
    "amount",
    "trigger_price",
    "price",
)


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
                return _alert_row(first), False
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
            return _alert_row(row), True

        return await self.worker.run(job)

    async def save_plan(
        self,
        alert_id: str,
        plan: dict[str, Any],
        orders: Iterable[dict[str, Any]],
        status: str = EXECUTING,
    ) -> None:
        now = self.clock()
        rows = [
            (
                o["client_id"],
                alert_id,
                i,
                o["account"],
                o["symbol"],
                o["role"],
                o["side"],
                o["type"],
                o["amount"],
                o.get("price"),
                o.get("trigger_price"),
                int(o["reduce_only"]),
                o["phase"],
                o["status"],
                now,
                now,
            )
            for i, o in enumerate(orders)
        ]

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
        rows = [
            (
                o["client_id"],
                alert_id,
                o.get("seq", 100),
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
            for o in orders
        ]
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
        return self.worker.submit(_orders_writer([(client_id, values)], self.clock()))

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

    async def get_setting(self, key: str) -> str | None:
        row = await self.worker.run(
            lambda conn: conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        )
        return row[0] if row else None

    async def settings_like(self, prefix: str) -> dict[str, str]:
        rows = await self.worker.run(
            lambda conn: conn.execute(
                "SELECT key, value FROM settings WHERE key LIKE ?", (prefix + "%",)
            ).fetchall()
        )
        return {r[0]: r[1] for r in rows}

    async def set_setting(self, key: str, value: str) -> None:
        now = self.clock()
        await self.worker.run(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO settings VALUES (?,?,?)", (key, value, now)
            )
        )

    async def update_orders(self, updates: list[tuple[str, dict[str, Any]]]) -> None:
        await self.worker.run(_orders_writer(updates, self.clock()))

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
        write_orders = _orders_writer(updates, now)
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
        return _alert_row(row) if row else None

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
        return [_alert_row(r) for r in rows]

    async def find_by_ref(self, account: str, ref: str) -> AlertRow | None:
        """The latest alert of the account that placed (or will place) an order with this ref."""
        row = await self.worker.run(
            lambda conn: conn.execute(
                "SELECT * FROM alerts WHERE account=? AND ref=? ORDER BY seq DESC LIMIT 1",
                (account, ref),
            ).fetchone()
        )
        return _alert_row(row) if row else None

    async def scheduled(self, account: str | None = None) -> list[AlertRow]:
        sql, params = "SELECT * FROM alerts WHERE status=?", (SCHEDULED,)
        if account is not None:
            sql, params = sql + " AND account=?", (SCHEDULED, account)
        rows = await self.worker.run(
            lambda conn: conn.execute(sql + " ORDER BY run_at", params).fetchall()
        )
        return [_alert_row(r) for r in rows]

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


def _orders_writer(
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


def _alert_row(r: sqlite3.Row) -> AlertRow:
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
