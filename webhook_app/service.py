"""The alert service: what transports call. Intake → journal → execution, and the answers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .config import Settings
from .errors import AlertRejected, ApprovalExpired, Conflict, NotFound
from .exchanges.base import Market
from .execution import Executor, Job
from .guard import TradingSwitch
from .intake import Dialect, Intake
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
    NewAlert,
)
from .models import Alert, AlertKind, OrderPlan
from .planning import Facts, plan_alert
from .redaction import Redactor
from .relay.messages import study_message
from .relay.notifier import Notifier
from .scheduling import Scheduler
from .venues import Venue, Venues

logger = logging.getLogger(__name__)

MAX_WAIT_S = 2.5
FUTURE_SKEW_S = 10.0  # a clock this far ahead is tolerated
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


def new_alert_id() -> str:
    """16 hex characters: unguessable, and short enough to fit in every venue's client id."""
    return secrets.token_hex(8)


def idempotency_key(source: str, route: str, account: str, intake: Intake) -> str:
    if intake.alert.explicit_id:
        return f"id:{account}:{intake.alert.explicit_id}"
    canonical = json.dumps(intake.fields, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(f"{source}|{route}|{account}|{canonical}".encode()).hexdigest()
    return f"sha256:{digest[:32]}"


@dataclass(frozen=True)
class Checked:
    """An alert that passed intake: where it goes, and what the planner would do now."""

    intake: Intake
    venue: Venue
    market: Market
    preview: OrderPlan | None


class AlertService:
    def __init__(
        self,
        settings: Settings,
        journal: Journal,
        venues: Venues,
        executor: Executor,
        redactor: Redactor,
        notifier: Notifier,
        switch: TradingSwitch,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self.journal, self.venues = settings, journal, venues
        self.executor, self.redactor, self.notifier = executor, redactor, notifier
        self.switch, self.clock = switch, clock
        self._sweeper: asyncio.Task[None] | None = None
        self.scheduler = Scheduler(journal, self._start_scheduled, clock=clock)
        executor.listeners.append(notifier.finished)

    async def start(self) -> list[str]:
        await self.switch.load()
        notes = await self.executor.recover()
        waiting = await self.scheduler.load()
        if waiting:
            notes.append(f"{waiting} delayed alert(s) rescheduled")
        await self.expire_approvals()
        self._sweeper = asyncio.create_task(self._sweep_expired(), name="approval-expiry")
        return notes

    async def close(self) -> None:
        await self.scheduler.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)

    async def submit(
        self,
        raw: bytes,
        *,
        dialect: Dialect,
        route: str,
        query: Mapping[str, str] | None = None,
        wait: float | None = None,
    ) -> Answer:
        """Validate, journal and schedule one alert; answer once it is durable (or has finished)."""
        data = dialect.open(raw, query or {}, self.settings)
        study = route == "study"
        checked = self.check(data, dialect, guard=not study)  # a relay informs; approval checks
        alert = checked.intake.alert
        if alert.log:  # seed 001: a message for the log channel
            self.notifier.note(alert.log, checked.venue.account.name)
        if not study and alert.explicit_id:
            pending = await self.journal.get(alert.explicit_id)
            if pending is not None and pending.route == "study":
                return await self._approve(pending, checked, _approver(data), wait)
        flags = self._check_fresh(alert)  # approvals (above) are exempt up to their expiry
        if data.get("approval") is True:  # the bot's buttons: only ever for a relayed alert
            raise Conflict(f"alert {alert.explicit_id} is not a relayed alert waiting for approval")
        checked, done = await self._resolve_cancels(checked)
        status = _initial_status(checked.intake.alert, study, done)
        new = replace(self._new_alert(checked, route, status, done), flags=tuple(flags))
        row, created = await self.journal.record_alert(new, self.settings.dedupe_window_s)
        if not created:
            answer = await self._duplicate(row, wait)
            self.notifier.outcome(answer.body)
            return answer
        if status == ACCEPTED:
            self.executor.submit(Job(row.id, checked.intake.alert, checked.venue, checked.market))
        elif status == SCHEDULED:
            self.scheduler.add(row.id, new.run_at or self.clock())
        elif status in (IGNORED, EXECUTED):
            self.notifier.outcome((await self.answer(row, fresh=True)).body)
        elif study:
            self._relay(new)
        if wait and status == ACCEPTED:
            return await self.wait(row.id, wait)
        return await self.answer(row, fresh=True)

    def check(self, data: dict[str, Any], dialect: Dialect, *, guard: bool = True) -> Checked:
        """Intake rules for an authenticated body; refusals go to the trader's channels too."""
        symbol = str(data.get("ticker", ""))[:40]
        try:
            intake = dialect.parse(data, self.settings)
            venue = self.venues.get(intake.alert.account)
            market = self.venues.resolve(venue, intake.alert.ticker)
            if guard:
                self.switch.check_alert(intake.alert, venue.account.name)
            preview = None
            if intake.alert.kind in (AlertKind.ENTRY, AlertKind.ORDER):
                # Refuse what can never be placed now, before journaling. Execution plans again.
                preview = plan_alert(
                    intake.alert, venue.account, _as_seen(intake.alert, venue.book.facts(market))
                )
        except ArithmeticError:  # Decimal overflow: numbers no market could trade
            error = AlertRejected("the alert's numbers are out of any tradable range")
            self.notifier.refused(error.status, error.message, symbol=symbol)
            raise error from None
        except AlertRejected as e:
            self.notifier.refused(e.status, e.message, symbol=symbol)
            raise
        return Checked(intake, venue, market, preview)

    def _check_fresh(self, alert: Alert) -> list[str]:
        """Refuse a late delivery or a time in the future; flag an alert that has no time."""
        if alert.fired_at is None:
            return ["no time in the alert: its age was not checked"]
        age = self.clock() - alert.fired_at.timestamp()
        fired = alert.fired_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        limit = self.settings.max_alert_age_s
        if age > limit:
            error = AlertRejected(
                f"stale: fired at {fired}, {age:.0f} s ago (MAX_ALERT_AGE is {limit:.0f} s): "
                "not traded"
            )
        elif age < -FUTURE_SKEW_S:
            error = AlertRejected(
                f"its time {fired} is {-age:.0f} s in the future: check the alert's time and "
                "this server's clock"
            )
        else:
            return []
        self.notifier.refused(error.status, error.message, symbol=alert.ticker)
        raise error

    def _new_alert(
        self, checked: Checked, route: str, status: str, done: str | None = None
    ) -> NewAlert:
        alert, venue = checked.intake.alert, checked.venue
        alert_id = new_alert_id()
        expires_at = run_at = None
        outbox: tuple[tuple[str, str], ...] = ()
        message = done or ""
        if status == IGNORED:
            message = f"{alert.message!r} is informational: recorded, nothing to do"
        if status == SCHEDULED:
            run_at = self.clock() + float(alert.delay_seconds or 0)
            at = datetime.fromtimestamp(run_at, UTC)
            message = f"delayed by {alert.delay_seconds} s: runs at {at:%H:%M:%S} UTC"
        if status == PENDING_APPROVAL:
            expires_at = self.clock() + self.settings.approval_ttl_s
            relay = study_message(
                alert_id=alert_id,
                alert=alert,
                fields=checked.intake.fields,
                plan=checked.preview,
                account=venue.account.name,
                currency=venue.account.currency,
                expires_at=expires_at,
            )
            relay = self.redactor.redact_obj(relay)  # type: ignore[assignment]
            if self.notifier.poster.enabled("study"):
                outbox = (("study", json.dumps(relay)),)  # durable with the alert itself
            else:
                self.notifier.poster.post_nowait("study", relay, alert_id)  # to the log
            message = "relayed to Discord for approval"
        return NewAlert(
            id=alert_id,
            route=route,
            source=alert.source,
            account=venue.account.name,
            symbol=checked.market.symbol,
            idem_key=idempotency_key(alert.source, route, venue.account.name, checked.intake),
            status=status,
            # The body as parsed, its secrets already removed (and redacted again, to be sure).
            body=self.redactor.redact(json.dumps(checked.intake.fields, default=str)),
            alert=alert.to_json(),
            message=message,
            warnings=tuple(checked.intake.warnings),
            expires_at=expires_at,
            outbox=outbox,
            ref=alert.client_order_id if alert.kind in (AlertKind.ORDER, AlertKind.CLOSE) else None,
            run_at=run_at,
        )

    # --- cancels and delayed orders (seed 001) ---------------------------------------------------

    async def _resolve_cancels(self, checked: Checked) -> tuple[Checked, str | None]:
        """A cancel by clientOrderId finds its order; a delayed one is removed before it runs."""
        alert, account = checked.intake.alert, checked.venue.account.name
        if alert.kind is AlertKind.CANCEL_ALL:
            dropped = [
                row.id
                for row in await self.journal.scheduled(account)
                if await self._unschedule(row.id, "cancelled by cancelAll before it ran")
            ]
            if dropped:
                checked.intake.warnings.append(f"{len(dropped)} delayed order(s) cancelled")
            return checked, None
        if alert.kind is not AlertKind.CANCEL:
            return checked, None
        ref = alert.client_order_id or ""
        target = await self.journal.find_by_ref(account, ref)
        if target is None:
            self.notifier.refused("rejected", f"no order with clientOrderId {ref}", symbol="")
            raise AlertRejected(f"no order with clientOrderId {ref} on account {account}")
        moved = replace(alert, ticker=target.symbol)
        if await self._unschedule(target.id, f"cancelled by clientOrderId {ref} before it ran"):
            done = f"cancelled the delayed order {ref} before it ran: nothing was placed"
            return _with_alert(
                checked, moved, self.venues.resolve(checked.venue, target.symbol)
            ), done
        orders = await self.journal.orders_for(target.id)
        ids = tuple(
            o["exchange_id"]
            for o in orders
            if o["role"] == "order" and o["exchange_id"] and o["status"] == "open"
        )
        moved = replace(moved, target_ids=ids)
        return _with_alert(checked, moved, self.venues.resolve(checked.venue, target.symbol)), None

    async def _unschedule(self, alert_id: str, message: str) -> bool:
        if await self.journal.set_status(alert_id, CANCELLED, message, expect=(SCHEDULED,)):
            self.scheduler.discard(alert_id)
            self.notifier.finished(alert_id)
            return True
        return False

    async def _start_scheduled(self, alert_id: str) -> None:
        row = await self._row(alert_id)
        venue = self.venues.get(row.account)
        market = venue.exchange.market(row.symbol)
        self.executor.submit(Job(row.id, Alert.from_json(row.alert), venue, market))

    def _relay(self, new: NewAlert) -> None:
        if new.outbox:
            self.notifier.poster.wake("study")

    # --- approvals of relayed study alerts ------------------------------------------------------

    async def _approve(
        self, pending: AlertRow, checked: Checked, approver: str, wait: float | None
    ) -> Answer:
        """Approve (or approve edited) a relayed alert: one compare-and-set decides, once."""
        alert = checked.intake.alert
        if checked.venue.account.name != pending.account:
            raise AlertRejected(f"alert {pending.id} belongs to account {pending.account}")
        proposed = alert.to_json()
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
            return await self._already_decided(pending.id, wait)
        self.executor.submit(Job(pending.id, alert, checked.venue, checked.market, approval=True))
        if wait:
            return await self.wait(pending.id, wait)
        return await self.answer(await self._row(pending.id))

    async def decline(self, alert_id: str, by: str) -> Answer:
        """Reject a relayed alert from Discord: nothing is placed."""
        row = await self._row(alert_id)
        if row.route != "study":
            raise Conflict(f"alert {alert_id} was not relayed for approval")
        if not await self.journal.decide(alert_id, status=DECLINED, decision="reject", by=by):
            answer = await self._already_decided(alert_id, None)
            raise Conflict(answer.body["message"])
        await self.journal.set_status(alert_id, DECLINED, f"rejected by {by}: nothing was placed")
        self.notifier.finished(alert_id)
        return await self.answer(await self._row(alert_id))

    async def _already_decided(self, alert_id: str, wait: float | None) -> Answer:
        row = await self._row(alert_id)
        if row.status in (PENDING_APPROVAL, EXPIRED):  # the compare-and-set failed on the expiry
            await self.expire_approvals()
            raise ApprovalExpired(
                f"the approval window of alert {alert_id} has expired: nothing was placed"
            )
        first = await (self.wait(alert_id, wait) if wait else self.answer(row))
        decision = await self.journal.decision(alert_id) or {}
        by = decision.get("decided_by", "someone")
        at = datetime.fromtimestamp(decision.get("decided_at", row.updated_at), UTC)
        body = dict(first.body)
        body.update(
            success=True,
            status="duplicate",
            first_status=first.body["status"],
            message=f"already decided by {by} at {at:%H:%M:%S} UTC "
            f"({decision.get('decision', '?')}): {first.body['message']}",
        )
        return Answer(200, body)

    async def expire_approvals(self) -> None:
        for alert_id in await self.journal.expire_approvals():
            self.notifier.finished(alert_id)

    async def _sweep_expired(self, every_s: float = 15.0) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.expire_approvals()
            except Exception:
                logger.exception("could not expire approvals")

    async def wait(self, alert_id: str, seconds: float) -> Answer:
        task = self.executor.tasks.get(alert_id)
        if task is not None:
            await asyncio.wait([task], timeout=min(seconds, MAX_WAIT_S))
        return await self.answer(await self._row(alert_id))

    async def status(self, alert_id: str) -> Answer:
        """GET /alerts/{id}: the alert's state; the request itself succeeded, so HTTP 200."""
        answer = await self.answer(await self._row(alert_id))
        return Answer(200, answer.body)

    async def _row(self, alert_id: str) -> AlertRow:
        row = await self.journal.get(alert_id)
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        return row

    async def _duplicate(self, first: AlertRow, wait: float | None) -> Answer:
        if wait:
            first_answer = await self.wait(first.id, wait)
        else:
            first_answer = await self.answer(first)
        body = dict(first_answer.body)
        body.update(
            success=True,
            status="duplicate",
            first_status=first_answer.body["status"],
            message=f"duplicate of alert {first.id}, received "
            f"{self.clock() - first.received_at:.1f} s ago: nothing placed again. "
            f"First result: {first_answer.body['message']}",
        )
        return Answer(200, body)

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


def _initial_status(alert: Alert, study: bool, done: str | None) -> str:
    if study:
        return PENDING_APPROVAL
    if done is not None:
        return EXECUTED  # decided at intake (a cancel of a delayed order): nothing to send
    if alert.kind is AlertKind.INFO:
        return IGNORED
    return SCHEDULED if alert.delay_seconds else ACCEPTED


def _as_seen(alert: Alert, facts: Facts) -> Facts:
    """An alert arriving now carries the market's price: the preview plans with it."""
    seen = alert.reference_price if alert.reference_price is not None else alert.price
    return replace(facts, last_price=seen) if seen is not None else facts


def _with_alert(checked: Checked, alert: Alert, market: Market) -> Checked:
    return replace(checked, intake=replace(checked.intake, alert=alert), market=market)


# Fields of an alert that a decision can change; the rest (ids, times) are not edits.
_NOT_EDITS = frozenset({"explicit_id", "source", "chart_url", "fired_at"})
# What an approval must leave as relayed: it decides on this trade, not another one.
_NOT_EDITABLE = frozenset({"ticker", "side", "kind", "account", "exchange"})


def _edits(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What an approver changed: {field: [before, after]}."""
    keys = (set(before) | set(after)) - _NOT_EDITS
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}


def _approver(data: dict[str, Any]) -> str:
    value = data.get("approver")
    if isinstance(value, str) and value.strip():
        return value.strip()[:100]
    return "the passphrase holder (no approver named)"


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
