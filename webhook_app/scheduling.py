"""Delayed alerts (seed 001 `delaySeconds`): kept in the journal, run once, even after a restart."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from .journal import ACCEPTED, SCHEDULED, Journal

logger = logging.getLogger(__name__)


class Scheduler:
    """Timers for scheduled alerts. The journal, not the timer, decides: a compare-and-set from
    `scheduled` to `accepted` runs an alert at most once, whoever fires first."""

    def __init__(
        self,
        journal: Journal,
        start: Callable[[str], Awaitable[None]],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.journal, self.start, self.clock = journal, start, clock
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def load(self) -> int:
        """After a restart: every scheduled alert gets its timer; overdue ones run now."""
        rows = await self.journal.scheduled()
        for row in rows:
            self.add(row.id, row.run_at or self.clock())
        return len(rows)

    def add(self, alert_id: str, run_at: float) -> None:
        delay = max(0.0, run_at - self.clock())
        loop = asyncio.get_running_loop()
        self._timers[alert_id] = loop.call_later(delay, self._spawn, alert_id)

    def discard(self, alert_id: str) -> None:
        timer = self._timers.pop(alert_id, None)
        if timer is not None:
            timer.cancel()

    def _spawn(self, alert_id: str) -> None:
        self._timers.pop(alert_id, None)
        task = asyncio.create_task(self._fire(alert_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fire(self, alert_id: str) -> None:
        try:
            if await self.journal.set_status(alert_id, ACCEPTED, "", expect=(SCHEDULED,)):
                await self.start(alert_id)
        except Exception:
            logger.exception(
                "scheduled alert %s could not start; it stays in the journal", alert_id
            )

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
