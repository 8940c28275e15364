"""The outbox: Discord messages not yet delivered, kept in the journal so a restart sends them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..journal import Journal


@dataclass(frozen=True)
class OutboxItem:
    id: int
    channel: str
    payload: dict[str, Any]
    alert_id: str | None


class Outbox:
    """Discord messages not yet delivered, kept in the journal so a restart sends them."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def add(self, channel: str, payload: dict[str, Any], alert_id: str | None = None) -> int:
        text, now = json.dumps(payload), self.journal.clock()
        return await self.journal.worker.run(
            lambda conn: (
                conn.execute(
                    "INSERT INTO outbox(channel, payload, alert_id, created_at) VALUES (?,?,?,?)",
                    (channel, text, alert_id, now),
                ).lastrowid
            )
        )

    async def pending(self, channel: str | None = None) -> list[OutboxItem]:
        sql = "SELECT * FROM outbox WHERE delivered_at IS NULL AND error IS NULL"
        params: tuple[Any, ...] = ()
        if channel is not None:
            sql, params = sql + " AND channel=?", (channel,)
        rows = await self.journal.worker.run(
            lambda conn: conn.execute(sql + " ORDER BY id", params).fetchall()
        )
        return [
            OutboxItem(r["id"], r["channel"], json.loads(r["payload"]), r["alert_id"]) for r in rows
        ]

    def delivered(
        self, ids: list[int], message_id: str | None, thread_id: str | None = None
    ) -> Any:
        now = self.journal.clock()
        return self.journal.worker.submit(
            lambda conn: conn.executemany(
                "UPDATE outbox SET delivered_at=?, message_id=?, thread_id=?,"
                " attempts=attempts+1 WHERE id=?",
                [(now, message_id, thread_id, i) for i in ids],
            )
        )

    async def thread_of(self, alert_id: str, channel: str) -> str | None:
        """Where the alert's message went (a forum post's thread): its events go there too."""
        row = await self.journal.worker.run(
            lambda conn: conn.execute(
                "SELECT thread_id FROM outbox WHERE alert_id=? AND channel=?"
                " AND thread_id IS NOT NULL ORDER BY id LIMIT 1",
                (alert_id, channel),
            ).fetchone()
        )
        return row[0] if row else None

    def failed(self, ids: list[int], error: str) -> Any:
        return self.journal.worker.submit(
            lambda conn: conn.executemany(
                "UPDATE outbox SET error=?, attempts=attempts+1 WHERE id=?",
                [(error, i) for i in ids],
            )
        )

    async def rewrite(
        self, alert_id: str, channel: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> bool:
        """Change an alert's undelivered message (its chart arrived): False if already sent."""

        def job(conn: Any) -> bool:
            row = conn.execute(
                "SELECT id, payload FROM outbox WHERE alert_id=? AND channel=?"
                " AND delivered_at IS NULL AND error IS NULL ORDER BY id LIMIT 1",
                (alert_id, channel),
            ).fetchone()
            if row is None:
                return False
            payload = json.dumps(change(json.loads(row["payload"])))
            conn.execute("UPDATE outbox SET payload=? WHERE id=?", (payload, row["id"]))
            return True

        return bool(await self.journal.worker.run(job))
