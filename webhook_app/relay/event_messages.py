"""One short line in the logs channel per fill and per close, under the alert it belongs to:
"TP1 filled 0.075 BTCUSDT @ 40150", "stop moved to 40080 on BTCUSDT", "Closed +1.80 R, +36.20
USDT". With DISCORD_LOGS_FORUM the logs channel is a forum: each alert is a post (a thread) and
its events go into it; otherwise each line names its alert."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from ..events import CLOSED, FILL, ORDER, StreamEvent
from .messages import GREEN, GREY, RED
from .poster import DiscordPoster

logger = logging.getLogger(__name__)

LABELS = {
    "tp1": "TP1",
    "tp2": "TP2",
    "tp3": "TP3",
    "tp": "TP",
    "stop": "Stop",
    "be_stop": "Breakeven stop",
    "close": "Close",
    "flatten": "Safety close",
}
RiskOf = Callable[[str], Awaitable[Decimal | None]]
THREAD_WAIT_S = 10.0  # forum: how long a line waits for its alert's post to exist


def event_line(event: StreamEvent, risk: Decimal | None, currency: str) -> str | None:
    """The text for one event, or None when it is not worth a message."""
    data, sym = event.data, event.sym
    if event.topic == FILL and data.get("role") in LABELS:
        return f"{LABELS[data['role']]} filled {_num(data['qty'])} {sym} @ {_num(data['price'])}"
    new_stop = data.get("role") == "be_stop" and data.get("event") == "placed"
    amended_stop = data.get("event") == "amended" and data.get("type") == "stop"
    if event.topic == ORDER and (new_stop or amended_stop):
        return f"stop moved to {_num(data['trigger_price'])} on {sym}"
    if event.topic == CLOSED:
        pnl = data.get("realized_pnl")
        if pnl is None:
            return f"Closed {data['side']} {sym} (PnL not reported by the venue)"
        value = Decimal(pnl)
        r = f"{value / risk:+.2f} R, " if risk else ""
        return f"Closed {data['side']} {sym}: {r}{value:+,.2f} {currency}"
    return None


class EventMessenger:
    def __init__(
        self,
        poster: DiscordPoster,
        risk_of: RiskOf,
        currency_of: Callable[[str], str],
        *,
        forum: bool = False,
    ) -> None:
        self.poster, self.risk_of, self.currency_of = poster, risk_of, currency_of
        self.forum = forum
        self._tasks: set[asyncio.Task[None]] = set()
        self._last: dict[str, asyncio.Task[None]] = {}  # alert id → its latest line's task

    def on_event(self, event: StreamEvent) -> None:
        if event.topic not in (FILL, ORDER, CLOSED):
            return
        # An alert's lines go out in the order of its events, each after the one before.
        before = self._last.get(event.alert_id) if event.alert_id else None
        task = asyncio.create_task(self._post(event, before))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if event.alert_id:
            self._last[event.alert_id] = task
            task.add_done_callback(
                lambda done, key=event.alert_id: (
                    self._last.pop(key, None) if self._last.get(key) is done else None
                )
            )

    async def _thread(self, alert_id: str) -> str | None:
        """The alert's forum post, once it exists: an event can come before its alert's
        outcome is delivered (the entry fills while the alert is still being answered)."""
        deadline = asyncio.get_running_loop().time() + THREAD_WAIT_S
        while True:
            thread = await self.poster.outbox.thread_of(alert_id, "logs")
            if thread or asyncio.get_running_loop().time() >= deadline:
                return thread
            await asyncio.sleep(0.1)

    async def _post(self, event: StreamEvent, before: asyncio.Task[None] | None = None) -> None:
        if before is not None:
            await asyncio.gather(before, return_exceptions=True)
        try:
            risk = (
                await self.risk_of(event.alert_id)
                if event.topic == CLOSED and event.alert_id
                else None
            )
            line = event_line(event, risk, self.currency_of(event.venue))
            if line is None:
                return
            payload: dict[str, Any] = {"embeds": [{"description": line, "color": _color(event)}]}
            thread = await self._thread(event.alert_id) if event.alert_id and self.forum else None
            if thread:
                payload["_thread_id"] = thread
            elif event.alert_id:  # a line of its own (in a forum, a post of its own)
                payload["embeds"][0]["footer"] = {"text": f"alert {event.alert_id}"}
            await self.poster.post("logs", payload, event.alert_id)
        except Exception:
            logger.exception("event %s: the Discord line failed", event.id)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _color(event: StreamEvent) -> int:
    if event.topic == CLOSED and event.data.get("realized_pnl") is not None:
        return GREEN if Decimal(event.data["realized_pnl"]) >= 0 else RED
    return GREY


def _num(text: Any) -> str:
    return f"{Decimal(str(text)).normalize():f}"
