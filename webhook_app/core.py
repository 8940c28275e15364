"""Assembles the core once (journal, venues, executor, service), for the server, demo and tests."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .config import Settings
from .exchanges.paper import PaperVenue
from .execution import Executor
from .journal import Journal
from .redaction import Redactor, install_log_redaction
from .service import AlertService
from .venues import Venues

logger = logging.getLogger(__name__)


class Core:
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
        self.executor: Executor | None = None
        self.service: AlertService | None = None

    async def start(self) -> Core:
        install_log_redaction(self.redactor)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await self.journal.start()
        await self.venues.start()
        self.executor = Executor(
            self.journal,
            self.venues,
            clock=self.clock,
            resume_max_age_s=self.settings.resume_max_age_s,
        )
        self.service = AlertService(
            self.settings, self.journal, self.venues, self.executor, self.redactor, clock=self.clock
        )
        for note in await self.service.start():
            logger.warning("recovery: %s", note)
        return self

    async def close(self) -> None:
        if self.executor is not None:
            await self.executor.close()
        await self.venues.close()
        await self.paper.close()
        await self.journal.close()

    async def __aenter__(self) -> Core:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
