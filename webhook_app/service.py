"""The alert service: what transports call. Intake → journal → execution, and the answers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .answers import Answer, Answers
from .approvals import Approvals
from .cancels import Cancels
from .charts import ChartRenderer
from .config import Settings
from .errors import AlertRejected, Conflict
from .exchanges.base import Market
from .execution import Executor, Job
from .guard import TradingSwitch
from .intake import Dialect, Intake
from .journal import (
    ACCEPTED,
    EXECUTED,
    IGNORED,
    PENDING_APPROVAL,
    SCHEDULED,
    Journal,
    NewAlert,
)
from .models import Alert, AlertKind, OrderPlan
from .plan_rows import new_alert_id
from .planning import Facts, plan_alert
from .redaction import Redactor
from .relay.messages import study_message
from .relay.notifier import Notifier
from .relay.poster import HELD
from .relay.study_chart import chart_for_alert, save_chart, with_chart
from .scheduling import Scheduler
from .venues import Venue, Venues

logger = logging.getLogger(__name__)

FUTURE_SKEW_S = 10.0  # a clock this far ahead is tolerated


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
        charts: ChartRenderer,
    ) -> None:
        self.settings, self.journal, self.venues = settings, journal, venues
        self.charts = charts
        self._relays: set[asyncio.Task[None]] = set()
        self.executor, self.redactor, self.notifier = executor, redactor, notifier
        self.switch, self.clock = switch, clock
        self.answers = Answers(journal, executor, clock=clock)
        self.approvals = Approvals(journal, executor, notifier, self.answers, self.redactor)
        self.scheduler = Scheduler(journal, self._start_scheduled, clock=clock)
        self.cancels = Cancels(journal, venues, executor, notifier, self.scheduler)
        executor.listeners.append(notifier.finished)

    async def start(self) -> list[str]:
        await self.switch.load()
        notes = await self.executor.recover()
        waiting = await self.scheduler.load()
        if waiting:
            notes.append(f"{waiting} delayed alert(s) rescheduled")
        await self.approvals.start()
        return notes

    async def close(self) -> None:
        await self.scheduler.close()
        await self.approvals.close()
        if self._relays:
            await asyncio.gather(*self._relays, return_exceptions=True)
        self.charts.close()

    # --- what transports call besides submit ------------------------------------------------------

    async def status(self, alert_id: str) -> Answer:
        return await self.answers.status(alert_id)

    async def decline(self, alert_id: str, by: str) -> Answer:
        return await self.approvals.decline(alert_id, by)

    async def _start_scheduled(self, alert_id: str) -> None:
        await self.cancels.start_scheduled(alert_id)

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
                return await self.approvals.approve(pending, checked, _approver(data), wait)
        flags = self._check_fresh(alert)  # approvals (above) are exempt up to their expiry
        if data.get("approval") is True:  # the bot's buttons: only ever for a relayed alert
            raise Conflict(f"alert {alert.explicit_id} is not a relayed alert waiting for approval")
        checked, done = await self.cancels.resolve(checked)
        status = _initial_status(checked.intake.alert, study, done)
        new = replace(self._new_alert(checked, route, status, done), flags=tuple(flags))
        row, created = await self.journal.record_alert(new, self.settings.dedupe_window_s)
        if not created:
            answer = await self.answers.duplicate(row, wait)
            self.notifier.outcome(answer.body)
            return answer
        if status == ACCEPTED:
            self.executor.submit(Job(row.id, checked.intake.alert, checked.venue, checked.market))
        elif status == SCHEDULED:
            self.scheduler.add(row.id, new.run_at or self.clock())
        elif status in (IGNORED, EXECUTED):
            self.notifier.outcome((await self.answers.answer(row, fresh=True)).body)
        elif study:
            self._relay(new, checked)
        if wait and status == ACCEPTED:
            return await self.answers.wait(row.id, wait)
        return await self.answers.answer(row, fresh=True)

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
                # Durable with the alert itself, and held until its chart step finishes.
                outbox = (("study", json.dumps({**relay, HELD: True})),)
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
            alert=self.redactor.redact_obj(alert.to_json()),  # type: ignore[arg-type]
            message=message,
            warnings=tuple(checked.intake.warnings),
            expires_at=expires_at,
            outbox=outbox,
            ref=alert.client_order_id if alert.kind in (AlertKind.ORDER, AlertKind.CLOSE) else None,
            run_at=run_at,
        )

    def _relay(self, new: NewAlert, checked: Checked) -> None:
        """The study message leaves once its chart is drawn, or the chart budget is spent."""
        task = asyncio.create_task(self._relay_with_chart(new, checked))
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)

    async def _relay_with_chart(self, new: NewAlert, checked: Checked) -> None:
        alert = checked.intake.alert
        path, why = None, "the chart step failed"
        try:
            png, why = await chart_for_alert(
                self.charts,
                checked.venue,
                checked.market,
                alert,
                checked.preview,
                candles=self.settings.chart_candles,
            )
            path = save_chart(self.settings.data_dir, new.id, png) if png else None
            logger.info("alert %s chart: %s", new.id, path or why)
        except Exception:  # the message must go, picture or not
            logger.exception("alert %s: the chart step failed", new.id)
        if not new.outbox:
            return

        def release(payload: dict[str, Any]) -> dict[str, Any]:
            drawn = with_chart(payload, path, why, alert.chart_url)
            return {k: v for k, v in drawn.items() if k != HELD}

        try:
            await self.notifier.poster.rewrite(new.id, "study", release)
        finally:  # a message still held goes at the next start-up, without its picture
            self.notifier.poster.wake("study")


def _approver(data: dict[str, Any]) -> str:
    value = data.get("approver")
    if isinstance(value, str) and value.strip():
        return value.strip()[:100]
    return "the passphrase holder (no approver named)"


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
    seen = alert.seen_price
    return replace(facts, last_price=seen) if seen is not None else facts
