"""Tells the logs and errors channels what became of each alert, without ever delaying one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .messages import GREY, outcome_message
from .poster import DiscordPoster

logger = logging.getLogger(__name__)

# Outcomes a trader must act on also go to the errors channel.
ERROR_STATUSES = frozenset({"rejected", "malformed", "failed", "needs_review"})


class Notifier:
    def __init__(
        self,
        poster: DiscordPoster,
        describe: Callable[[str], Awaitable[dict[str, Any]]],
        *,
        forum: bool = False,
    ) -> None:
        self.poster = poster
        self.describe = describe
        self.forum = forum
        self._tasks: set[asyncio.Task[None]] = set()

    def outcome(self, answer: dict[str, Any]) -> None:
        """Post one outcome: to logs always, to errors when it needs a trader."""
        message = outcome_message(answer)
        alert_id = answer.get("alert_id")
        logs = dict(message)
        if self.forum and alert_id:  # a post of its own, where its fills and close will follow
            logs["thread_name"] = f"{answer.get('symbol') or ''} · {alert_id}".strip(" ·")[:100]
        self.poster.post_nowait("logs", logs, alert_id)
        if answer.get("status") in ERROR_STATUSES:
            self.poster.post_nowait("errors", message, alert_id)

    def finished(self, alert_id: str) -> None:
        """An alert reached its final state: describe it (from the journal) and post it. With
        neither channel set there is nobody to tell (the executor logs every outcome): the
        journal is not read again for nothing."""
        if not (self.poster.enabled("logs") or self.poster.enabled("errors")):
            return
        task = asyncio.create_task(self._finished(alert_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finished(self, alert_id: str) -> None:
        try:
            self.outcome(await self.describe(alert_id))
        except Exception:
            logger.exception("could not describe alert %s for Discord", alert_id)

    def note(self, text: str, account: str) -> None:
        """A line the alert asked to log (seed 001's `log`)."""
        embed = {"title": f"📝 {account}", "description": text[:3500], "color": GREY}
        self.poster.post_nowait("logs", {"embeds": [embed]})

    def problems(self, title: str, lines: list[str]) -> None:
        """Differences a human must look at (start-up reconcile): to the errors channel."""
        text = "\n".join(f"• {line}" for line in lines)
        embed = {"title": f"⚠️ {title}", "description": text[:3900], "color": 0xE67E22}
        self.poster.post_nowait("errors", {"embeds": [embed]})

    def refused(self, status: str, message: str, *, symbol: str = "") -> None:
        """An authenticated alert refused before journaling (malformed or not tradable)."""
        self.outcome({"status": status, "message": message, "symbol": symbol})

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
