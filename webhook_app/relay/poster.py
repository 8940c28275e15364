"""Posts to Discord webhooks in the background: a queue per channel, Discord's rate limits obeyed,
a backlog batched ten embeds to a message, and every message kept in the outbox until delivered."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from ..config import Secret
from ..redaction import Redactor
from .outbox import Outbox

logger = logging.getLogger(__name__)

MAX_EMBEDS = 10  # per message (Discord)
MAX_EMBED_CHARS = 6000  # all embeds of one message together (Discord)
_RETRYABLE = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)
# A payload key: the message waits for its chart, and is queued only once that step rewrites it
# (or at start-up, when the step that would have done so is gone).
HELD = "_held"


@dataclass
class Pending:
    ids: list[int]
    payload: dict[str, Any]


@dataclass
class RateLimit:
    """One webhook's bucket, as Discord's headers and 429s describe it."""

    clock: Callable[[], float]
    blocked_until: float = 0.0

    async def wait(self) -> None:
        delay = self.blocked_until - self.clock()
        if delay > 0:
            await asyncio.sleep(delay)

    def update(self, status: int, headers: Mapping[str, str], body: Mapping[str, Any]) -> None:
        now = self.clock()
        if status == 429:
            retry = body.get("retry_after") or headers.get("Retry-After") or 1.0
            self.blocked_until = max(self.blocked_until, now + float(retry))
        remaining, reset_after = (
            headers.get("X-RateLimit-Remaining"),
            headers.get("X-RateLimit-Reset-After"),
        )
        if remaining is not None and reset_after is not None and int(float(remaining)) <= 0:
            self.blocked_until = max(self.blocked_until, now + float(reset_after))


def embed_chars(embed: Mapping[str, Any]) -> int:
    """Characters Discord counts towards the 6,000 per message."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", "")) + len(
        embed.get("author", {}).get("name", "")
    )
    for f in embed.get("fields", []):
        total += len(f.get("name", "")) + len(f.get("value", ""))
    return total


def mergeable(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    keys = ("content", "files", "_attachments", "thread_name", "_thread_id")
    if any(m.get(k) for m in (a, b) for k in keys):
        return False
    if a.get("username") != b.get("username"):
        return False
    embeds = [*a.get("embeds", []), *b.get("embeds", [])]
    return len(embeds) <= MAX_EMBEDS and sum(embed_chars(e) for e in embeds) <= MAX_EMBED_CHARS


class DiscordPoster:
    """One queue per channel (study, logs, errors); nothing that calls `post` waits on Discord."""

    def __init__(
        self,
        urls: Mapping[str, Secret | None],
        outbox: Outbox,
        redactor: Redactor,
        *,
        usernames: Mapping[str, str] | None = None,
        forums: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.monotonic,
        max_backoff_s: float = 30.0,
        timeout_s: float = 10.0,
        linger_s: float = 0.05,
    ) -> None:
        self.urls = {c: u for c, u in urls.items() if u is not None}
        self.outbox, self.redactor, self.clock = outbox, redactor, clock
        self.usernames = dict(usernames or {})
        self.forums = forums  # forum channels: every message opens a post or goes into one
        self.max_backoff_s, self.timeout_s, self.linger_s = max_backoff_s, timeout_s, linger_s
        self.queues: dict[str, deque[Pending]] = {c: deque() for c in self.urls}
        self.limits: dict[str, RateLimit] = {}
        for url in self.urls.values():
            self.limits.setdefault(url.reveal(), RateLimit(clock))
        self._wake = {c: asyncio.Event() for c in self.urls}
        # Outbox ids queued or in flight. An id leaves only once its delivery is committed, under
        # the channel's lock, so a sync that read the outbox before that cannot queue it again.
        self._known: set[int] = set()
        self._locks = {c: asyncio.Lock() for c in self.urls}
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None

    def enabled(self, channel: str) -> bool:
        return channel in self.urls

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        for channel in self.urls:
            await self.sync_outbox(channel, held=True)
            self._tasks.append(asyncio.create_task(self._drain(channel), name=f"discord-{channel}"))

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._background, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def sync_outbox(self, channel: str, *, held: bool = False) -> None:
        """Queue what the outbox holds for this channel and is not queued yet: messages written
        with an alert, and after a restart everything undelivered (`held` too: nothing is left
        to finish them)."""
        async with self._locks[channel]:
            for item in await self.outbox.pending(channel):
                if item.id not in self._known and (held or not item.payload.get(HELD)):
                    self._enqueue(channel, Pending([item.id], item.payload))

    def _settle(self, channel: str, ids: list[int], written: Any) -> None:
        """Forget ids once the outbox has them as delivered (or failed) for good."""

        async def forget() -> None:
            await written
            async with self._locks[channel]:
                self._known.difference_update(ids)

        self._spawn(forget())

    async def post(
        self, channel: str, payload: dict[str, Any], alert_id: str | None = None
    ) -> None:
        """Redact, keep in the outbox, and queue. Unset channel: the message goes to the log."""
        safe = self.redactor.redact_obj(payload)
        assert isinstance(safe, dict)
        if not self.enabled(channel):
            logger.info("discord %s (no URL set): %s", channel, render_text(safe))
            return
        if channel in self.usernames:
            safe.setdefault("username", self.usernames[channel])
        if channel in self.forums and not (safe.get("thread_name") or safe.get("_thread_id")):
            safe["thread_name"] = _post_title(safe)  # Discord refuses a forum message without
        item_id = await self.outbox.add(channel, safe, alert_id)
        self._enqueue(channel, Pending([item_id], safe))

    async def rewrite(
        self, alert_id: str, channel: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> bool:
        """Change an alert's undelivered message (its chart arrived): the new payload passes the
        redactor like every other message. False if it already left."""

        def redacted(payload: dict[str, Any]) -> dict[str, Any]:
            safe = self.redactor.redact_obj(change(payload))
            assert isinstance(safe, dict)
            return safe

        return await self.outbox.rewrite(alert_id, channel, redacted)

    def post_nowait(
        self, channel: str, payload: dict[str, Any], alert_id: str | None = None
    ) -> None:
        self._spawn(self.post(channel, payload, alert_id))

    def wake(self, channel: str) -> None:
        """Messages were written to the outbox with something else (an alert): queue them."""
        if self.enabled(channel):
            self._spawn(self.sync_outbox(channel))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _enqueue(self, channel: str, item: Pending) -> None:
        self._known.update(item.ids)
        self.queues[channel].append(item)
        self._wake[channel].set()

    async def _drain(self, channel: str) -> None:
        queue, wake = self.queues[channel], self._wake[channel]
        limit = self.limits[self.urls[channel].reveal()]
        failures = 0
        while True:
            if not queue:
                wake.clear()
                await wake.wait()
                await asyncio.sleep(self.linger_s)  # let a burst gather into one message
                continue
            # Wait for the bucket first, then batch all that queued meanwhile.
            await limit.wait()
            batch = self._take_batch(queue)
            try:
                outcome = await self._attempt(channel, limit, batch)
            except asyncio.CancelledError:
                queue.appendleft(batch)
                raise
            except Exception:
                logger.exception(
                    "discord %s: delivery crashed; the messages stay in the outbox", channel
                )
                outcome = "retry"
            if outcome in ("delivered", "dropped"):
                failures = 0
                continue
            queue.appendleft(batch)
            if outcome == "retry":
                failures += 1
                delay = min(self.max_backoff_s, 0.25 * 2**failures) * (0.5 + random.random() / 2)  # noqa: S311
                logger.warning("discord %s unavailable; retry in %.1f s", channel, delay)
                await asyncio.sleep(delay)

    def _take_batch(self, queue: deque[Pending]) -> Pending:
        batch = queue.popleft()
        while queue and mergeable(batch.payload, queue[0].payload):
            nxt = queue.popleft()
            merged = {**batch.payload, "embeds": [*batch.payload["embeds"], *nxt.payload["embeds"]]}
            batch = Pending(batch.ids + nxt.ids, merged)
        return batch

    async def _attempt(self, channel: str, limit: RateLimit, batch: Pending) -> str:
        """One request: delivered, dropped (refused for good), rate_limited, or retry (5xx)."""
        status, body = await self._send(self.urls[channel].reveal(), batch.payload)
        if status is None:
            return "retry"
        limit.update(status, body.pop("_headers", {}), body)
        if status < 300:
            message_id = str(body["id"]) if body.get("id") else None
            thread = (
                str(body["channel_id"])
                if batch.payload.get("thread_name") and body.get("channel_id")
                else None
            )  # a forum post: its thread takes the alert's events
            self._settle(channel, batch.ids, self.outbox.delivered(batch.ids, message_id, thread))
            return "delivered"
        if status == 429:
            return "rate_limited"
        if status >= 500:
            return "retry"
        reason = f"HTTP {status}: {str(body.get('message', ''))[:200]}"
        logger.error("discord %s refused a message (%s); dropped", channel, reason)
        self._settle(channel, batch.ids, self.outbox.failed(batch.ids, reason))
        return "dropped"

    async def _send(self, url: str, payload: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
        assert self._session is not None
        params = {"wait": "true"}
        if payload.get("_thread_id"):  # into an existing thread (a forum post)
            params["thread_id"] = str(payload["_thread_id"])
        body_kw = _request_body(payload)
        try:
            async with self._session.post(url, params=params, **body_kw) as response:
                text = await response.text()
                try:
                    body = json.loads(text) if text else {}
                except ValueError:
                    body = {}
                if not isinstance(body, dict):
                    body = {}
                body["_headers"] = dict(response.headers)
                return response.status, body
        except _RETRYABLE as e:
            logger.warning("discord post failed: %s", e.__class__.__name__)
            return None, {}


def _post_title(payload: dict[str, Any]) -> str:
    """A forum post's name for a message that belongs to no alert's post: its first words."""
    embeds = payload.get("embeds") or [{}]
    text = embeds[0].get("title") or embeds[0].get("description") or payload.get("content")
    return (str(text or "message").splitlines() or ["message"])[0][:100]


def _request_body(payload: dict[str, Any]) -> dict[str, Any]:
    """JSON, or multipart when the message carries files (a chart): Discord's payload_json plus
    files[n], the embed pointing at attachment://name. A file gone from disk is left out."""
    attachments = payload.get("_attachments") or []
    files = [(a, Path(a["path"])) for a in attachments if Path(a["path"]).is_file()]
    message = {k: v for k, v in payload.items() if k not in ("_attachments", "_thread_id", HELD)}
    if not files:
        if attachments:  # the image it points at is gone: drop the reference
            message["embeds"] = [
                {k: v for k, v in e.items() if k != "image"} for e in message.get("embeds", [])
            ]
        return {"json": message}
    message["attachments"] = [
        {"id": n, "filename": a["filename"]} for n, (a, _) in enumerate(files)
    ]
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps(message), content_type="application/json")
    for n, (a, path) in enumerate(files):
        form.add_field(
            f"files[{n}]", path.read_bytes(), filename=a["filename"], content_type="image/png"
        )
    return {"data": form}


def render_text(payload: Mapping[str, Any]) -> str:
    """A plain-text rendering, for the log when a channel has no URL."""
    parts = [str(payload.get("content", ""))] if payload.get("content") else []
    for embed in payload.get("embeds", []):
        parts.append(embed.get("title", ""))
        if embed.get("description"):
            parts.append(embed["description"])
        parts.extend(f"{f['name']}: {f['value']}" for f in embed.get("fields", []))
    return " | ".join(p.replace("\n", " ") for p in parts if p)
