"""Approving relayed study alerts: one compare-and-set per alert decides, once; expiry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .answers import Answer, Answers, repeated
from .errors import AlertRejected, ApprovalExpired, Conflict
from .execution import Executor, Job
from .journal import ACCEPTED, DECLINED, EXPIRED, PENDING_APPROVAL, AlertRow, Journal
from .redaction import Redactor
from .relay.notifier import Notifier

if TYPE_CHECKING:
    from .service import Checked

logger = logging.getLogger(__name__)


class Approvals:
    def __init__(
        self,
        journal: Journal,
        executor: Executor,
        notifier: Notifier,
        answers: Answers,
        redactor: Redactor,
    ) -> None:
        self.journal, self.executor, self.notifier, self.answers = (
            journal,
            executor,
            notifier,
            answers,
        )
        self.redactor = redactor
        self._sweeper: asyncio.Task[None] | None = None
        # (alert id, account, decision, by): the event stream's "approval" topic.
        self.on_decision: list[Callable[[str, str, str, str], None]] = []

    async def start(self) -> None:
        await self.expire()
        self._sweeper = asyncio.create_task(self._sweep_expired(), name="approval-expiry")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)

    async def approve(
        self, pending: AlertRow, checked: Checked, approver: str, wait: float | None
    ) -> Answer:
        """Approve (or approve edited) a relayed alert: one compare-and-set decides, once."""
        alert = checked.intake.alert
        if checked.venue.account.name != pending.account:
            raise AlertRejected(f"alert {pending.id} belongs to account {pending.account}")
        # Journaled as the relayed alert was: secrets masked (and so compared like with like).
        proposed = self.redactor.redact_obj(alert.to_json())
        assert isinstance(proposed, dict)
        edits = _edits(pending.alert, proposed)
        fixed = sorted(set(edits) & _NOT_EDITABLE)
        if fixed:
            raise AlertRejected(
                f"an approval may change the type, price, stop, take-profits and risk of alert "
                f"{pending.id}, not its {', '.join(fixed)}"
            )
        won = await self.journal.decide(
            pending.id,
            status=ACCEPTED,
            decision="edit" if edits else "approve",
            by=approver,
            edits=edits,
            alert=proposed,
        )
        if not won:
            return await self.already_decided(pending.id, wait)
        self._decided(pending.id, pending.account, "edit" if edits else "approve", approver)
        self.executor.submit(Job(pending.id, alert, checked.venue, checked.market, approval=True))
        if wait:
            return await self.answers.wait(pending.id, wait)
        return await self.answers.answer(await self.answers.row(pending.id))

    async def decline(self, alert_id: str, by: str) -> Answer:
        """Reject a relayed alert from Discord: nothing is placed."""
        row = await self.answers.row(alert_id)
        if row.route != "study":
            raise Conflict(f"alert {alert_id} was not relayed for approval")
        if not await self.journal.decide(alert_id, status=DECLINED, decision="reject", by=by):
            answer = await self.already_decided(alert_id, None)
            raise Conflict(answer.body["message"])
        await self.journal.set_status(alert_id, DECLINED, f"rejected by {by}: nothing was placed")
        self._decided(alert_id, row.account, "reject", by)
        self.notifier.finished(alert_id)
        return await self.answers.answer(await self.answers.row(alert_id))

    async def already_decided(self, alert_id: str, wait: float | None) -> Answer:
        row = await self.answers.row(alert_id)
        if row.status in (PENDING_APPROVAL, EXPIRED):  # the compare-and-set failed on the expiry
            await self.expire()
            raise ApprovalExpired(
                f"the approval window of alert {alert_id} has expired: nothing was placed"
            )
        first = await (self.answers.wait(alert_id, wait) if wait else self.answers.answer(row))
        decision = await self.journal.decision(alert_id) or {}
        by = decision.get("decided_by", "someone")
        at = datetime.fromtimestamp(decision.get("decided_at", row.updated_at), UTC)
        return repeated(
            first, f"already decided by {by} at {at:%H:%M:%S} UTC ({decision.get('decision', '?')})"
        )

    async def expire(self) -> None:
        for alert_id in await self.journal.expire_approvals():
            self.notifier.finished(alert_id)
            row = await self.journal.get(alert_id)
            self._decided(alert_id, row.account if row else "", "expired", "the clock")

    def _decided(self, alert_id: str, account: str, decision: str, by: str) -> None:
        for hook in self.on_decision:
            try:
                hook(alert_id, account, decision, by)
            except Exception:
                logger.exception("alert %s: a decision hook failed", alert_id)

    async def _sweep_expired(self, every_s: float = 15.0) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.expire()
            except Exception:
                logger.exception("could not expire approvals")


# Fields of an alert that a decision can change; the rest (ids, times) are not edits.
_NOT_EDITS = frozenset({"explicit_id", "source", "chart_url", "fired_at"})
# What an approval must leave as relayed: it decides on this trade, not another one.
_NOT_EDITABLE = frozenset({"ticker", "side", "kind", "account", "exchange"})


def _edits(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What an approver changed: {field: [before, after]}."""
    keys = (set(before) | set(after)) - _NOT_EDITS
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}
