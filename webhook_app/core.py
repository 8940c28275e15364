"""Assembles the core once (journal, venues, executor, service), for the server, demo and tests."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .charts import ChartRenderer
from .config import Settings
from .event_hub import EventHub
from .events import APPROVAL, Draft
from .exchanges.base import ExchangeEvent
from .exchanges.paper import PaperVenue
from .execution import Executor, Job
from .guard import TradingSwitch
from .journal import Journal
from .management import Management
from .manual import ManualActions
from .placement import Outcome
from .reconcile import reconcile
from .redaction import Redactor, install_log_redaction
from .relay.event_messages import EventMessenger
from .relay.notifier import Notifier
from .relay.outbox import Outbox
from .relay.poster import DiscordPoster
from .risk import RiskMeter
from .service import AlertService
from .venues import Venue, Venues

logger = logging.getLogger(__name__)


class Core:
    """Everything behind the transports, built once; `start` opens it, `close` shuts it."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.redactor = Redactor(settings.secrets())
        # The paper venue stands in for a remote exchange: its state survives a crash of this
        # process (WAL, synchronous=NORMAL) without an fsync per call. The journal is ours and
        # stays as durable as JOURNAL_SYNC says.
        self.paper = PaperVenue(
            settings.data_dir,
            latency_ms=settings.paper_latency_ms,
            synchronous="normal",
            clock=clock,
        )
        self.journal = Journal(settings.data_dir, synchronous=settings.journal_sync, clock=clock)
        self.venues = Venues(settings, self.paper)
        self.switch = TradingSwitch(self.journal, clock)
        self.poster = DiscordPoster(
            {
                "study": settings.discord_study_url,
                "logs": settings.discord_logs_url,
                "errors": settings.discord_errors_url,
            },
            Outbox(self.journal),
            self.redactor,
            forums=frozenset({"logs"}) if settings.discord_logs_forum else frozenset(),
            usernames={
                "study": "TradingView alert",
                "logs": "Bridge logs",
                "errors": "Bridge errors",
            },
        )
        self.notifier = Notifier(self.poster, self._describe, forum=settings.discord_logs_forum)
        self.risk = RiskMeter(self.journal, self.switch, self.notifier, clock)
        self.executor = Executor(
            self.journal,
            self.venues,
            self.switch,
            self.risk,
            clock=clock,
            resume_max_age_s=settings.resume_max_age_s,
        )
        self.charts = ChartRenderer(settings.chart_budget_s)
        self.manual = ManualActions(self.executor, self.switch)
        # The event stream: order, fill and position events, journaled, told in Discord, acted
        # on (per account, off by default), and served to websocket clients.
        self.events = EventHub(self.journal, clock)
        self.management = Management(self.journal, self.venues, self.executor, clock)
        self.messenger = EventMessenger(
            self.poster,
            self._risk_of,
            lambda account: settings.accounts[account].currency,
            forum=settings.discord_logs_forum,
        )
        self.events.listeners += [self.management.on_event, self.messenger.on_event]
        self.executor.on_outcome.append(self._alert_event)
        self.service = AlertService(
            settings,
            self.journal,
            self.venues,
            self.executor,
            self.redactor,
            self.notifier,
            self.switch,
            clock=clock,
            charts=self.charts,
        )
        self.service.approvals.on_decision.append(self._approval_event)

    async def _describe(self, alert_id: str) -> dict[str, Any]:
        return (await self.service.status(alert_id)).body

    async def _risk_of(self, alert_id: str) -> Decimal | None:
        """What the alert risked (its plan's risk amount): a close's PnL in R."""
        row = await self.journal.get(alert_id)
        risk = (row.plan or {}).get("risk_amount") if row is not None else None
        return Decimal(risk) if risk else None

    def _risk_on_venue(self, venue: Venue, event: ExchangeEvent) -> None:
        """A price move, a fill, a position or a balance may cross the daily loss limit between
        two alerts (the book has taken the event already: it subscribed first)."""
        if event.kind != "order" or event.order is None or event.order.filled:
            self.management.spawn(self.risk.check_loss(venue))

    def _approval_event(self, alert_id: str, account: str, decision: str, by: str) -> None:
        self.events.publish(
            Draft(APPROVAL, account, None, {"decision": decision, "by": by}, alert_id)
        )

    def _alert_event(self, job: Job, outcome: Outcome) -> None:
        data = {"status": outcome.status, "message": outcome.message, "kind": job.alert.kind.value}
        self.events.alert(job.venue.account.name, job.market.symbol, data, job.alert_id)

    async def start(self) -> Core:
        install_log_redaction(self.redactor)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await self.journal.start()
        problems = await self.venues.start()
        await self.events.start(self.venues)
        await self.risk.load()
        for venue in self.venues:
            if venue.account.max_daily_loss_pct is not None:
                venue.exchange.subscribe(functools.partial(self._risk_on_venue, venue))
        await self.poster.start()
        if self.poster.enabled("study"):
            self.charts.warm_up()  # import mplfinance now, not on the first alert's budget
        for note in await self.service.start():
            logger.warning("recovery: %s", note)
        problems += await reconcile(self.journal, self.venues)
        if problems:
            self.notifier.problems("Start-up: the venues and the journal", problems)
        return self

    async def close(self) -> None:
        await self.service.close()
        await self.executor.close()
        await self.management.close()
        await self.messenger.close()
        await self.notifier.close()
        await self.poster.close()
        await self.venues.close()
        await self.paper.close()
        await self.journal.close()

    async def __aenter__(self) -> Core:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
