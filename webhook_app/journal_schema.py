"""The journal's SQLite schema, its in-place upgrades, and the statuses it records."""

from __future__ import annotations

import sqlite3

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
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    venue TEXT NOT NULL,
    sym TEXT,
    alert_id TEXT,
    data TEXT NOT NULL,
    time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS settings(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""

# Columns added after the first release, so an older data dir is upgraded in place.
_ADDED_COLUMNS = {
    "alerts": {"expires_at": "REAL", "ref": "TEXT", "run_at": "REAL"},
    "outbox": {"thread_id": "TEXT"},  # the channel (a forum post's thread) it was delivered to
}
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
ATTACHED = "attached"  # sent with the entry; the venue arms it on the fill
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
