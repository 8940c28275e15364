"""Answers: the JSON an alert route or GET /alerts/{id} returns for an alert's state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import NotFound
from .execution import Executor
from .journal import (
    ACCEPTED,
    CANCELLED,
    DECLINED,
    EXECUTED,
    EXECUTING,
    EXPIRED,
    FAILED,
    HALTED,
    IGNORED,
    NEEDS_REVIEW,
    PENDING_APPROVAL,
    REJECTED,
    SCHEDULED,
    AlertRow,
    Journal,
)

MAX_WAIT_S = 2.5
HTTP_FOR_STATUS = {
    EXECUTED: 200,
    IGNORED: 200,
    ACCEPTED: 202,
    EXECUTING: 202,
    PENDING_APPROVAL: 202,
    SCHEDULED: 202,
    CANCELLED: 200,
    DECLINED: 200,
    EXPIRED: 200,
    REJECTED: 422,
    HALTED: 503,
    FAILED: 502,
    NEEDS_REVIEW: 502,
}
SUCCESSFUL = frozenset(
    {EXECUTED, IGNORED, ACCEPTED, EXECUTING, PENDING_APPROVAL, DECLINED, SCHEDULED, CANCELLED}
)


@dataclass(frozen=True)
class Answer:
    http_status: int
    body: dict[str, Any]


def repeated(first: Answer, why: str) -> Answer:
    """A repeat is answered 200 'duplicate', with the first delivery's result and orders."""
    body = dict(first.body)
    body.update(
        success=True,
        status="duplicate",
        first_status=first.body["status"],
        message=f"{why}: {first.body['message']}",
    )
    return Answer(200, body)


class Answers:
    def __init__(
        self, journal: Journal, executor: Executor, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.journal, self.executor, self.clock = journal, executor, clock

    async def wait(self, alert_id: str, seconds: float) -> Answer:
        task = self.executor.tasks.get(alert_id)
        if task is not None:
            await asyncio.wait([task], timeout=min(seconds, MAX_WAIT_S))
        return await self.answer(await self.row(alert_id))

    async def status(self, alert_id: str) -> Answer:
        """GET /alerts/{id}: the alert's state; the request itself succeeded, so HTTP 200."""
        answer = await self.answer(await self.row(alert_id))
        return Answer(200, answer.body)

    async def row(self, alert_id: str) -> AlertRow:
        row = await self.journal.get(alert_id)
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        return row

    async def duplicate(self, first: AlertRow, wait: float | None) -> Answer:
        if wait:
            first_answer = await self.wait(first.id, wait)
        else:
            first_answer = await self.answer(first)
        ago = self.clock() - first.received_at
        return repeated(
            first_answer,
            f"duplicate of alert {first.id}, received {ago:.1f} s ago: "
            "nothing placed again. First result",
        )

    async def answer(self, row: AlertRow, *, fresh: bool = False) -> Answer:
        """The JSON answer for an alert's current state (`fresh`: just journaled, no orders yet)."""
        orders = [] if fresh else await self.journal.orders_for(row.id)
        message = row.message or {
            ACCEPTED: "accepted: journaled and queued for execution",
            EXECUTING: "executing",
        }.get(row.status, row.status)
        body: dict[str, Any] = {
            "success": row.status in SUCCESSFUL,
            "status": row.status,
            "message": message,
            "alert_id": row.id,
            "account": row.account,
            "symbol": row.symbol,
        }
        if orders:
            body["orders"] = [_order_view(o) for o in orders]
        if row.warnings:
            body["warnings"] = row.warnings
        if row.flags:
            body["flags"] = row.flags
        if row.expires_at is not None:
            body["expires_at"] = datetime.fromtimestamp(row.expires_at, UTC).isoformat()
            decision = await self.journal.decision(row.id)
            if decision is not None:
                at = datetime.fromtimestamp(decision["decided_at"], UTC).isoformat()
                body.update(
                    decision=decision["decision"],
                    decided_by=decision["decided_by"],
                    decided_at=at,
                    edits=decision["edits"],
                )
        return Answer(HTTP_FOR_STATUS.get(row.status, 200), body)


def _order_view(row: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "role",
        "client_id",
        "exchange_id",
        "side",
        "type",
        "amount",
        "price",
        "trigger_price",
        "reduce_only",
        "status",
        "filled",
        "average",
        "error",
    )
    view = {k: row[k] for k in keys if row.get(k) is not None}
    view["reduce_only"] = bool(row["reduce_only"])
    return view
