"""A loopback stand-in for Discord webhooks: records each request, enforces a rate limit the way
Discord does (429 with retry_after, X-RateLimit-* headers), and fails with 5xx on demand."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from webhook_app.web.app import serve_on_loopback


@dataclass
class Received:
    at: float
    webhook: str
    status: int
    raw: bytes
    payload: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    thread_id: str | None = None  # ?thread_id=: posted into that thread
    message_id: str | None = None  # what the fake answered

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.payload.get("embeds", [])


@dataclass
class Bucket:
    started: float = 0.0
    count: int = 0
    blocked_until: float = 0.0


class FakeDiscordWebhooks:
    def __init__(self, limit: int = 5, period_s: float = 2.0) -> None:
        self.limit, self.period_s = limit, period_s
        self.received: list[Received] = []
        self.violations: list[Received] = []  # requests sent inside a retry_after
        self.fail_with: int | None = None
        # Probability that a request meets a 429 its headers gave no warning of (a shared bucket,
        # as other bots' traffic on the same channel causes), with this retry_after.
        self.shared_429 = 0.0
        self.shared_retry_after = 0.3
        self.buckets: dict[str, Bucket] = {}
        self.forums: set[str] = set()  # webhooks of forum channels (see forum())
        self._ids = itertools.count(1_000_000)
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> FakeDiscordWebhooks:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_post("/api/webhooks/{id}/{token}", self._handle)
        self._runner, self.base = await serve_on_loopback(app)
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, name: str) -> str:
        """A webhook URL; each name is its own webhook with its own bucket."""
        return f"{self.base}/api/webhooks/{abs(hash(name)) % 10**12}/tok-{name}-secret"

    def forum(self, name: str) -> None:
        """Make a webhook a forum channel's: like Discord, it then refuses a message that neither
        opens a post (thread_name) nor goes into one (?thread_id=)."""
        self.forums.add(self.url(name).split("/api/webhooks/")[1])

    def delivered(self, name: str) -> list[Received]:
        webhook = self.url(name).split("/api/webhooks/")[1]
        return [r for r in self.received if r.webhook == webhook and r.status < 300]

    def embeds(self, name: str) -> list[dict[str, Any]]:
        return [e for r in self.delivered(name) for e in r.embeds]

    async def wait_for(self, condition: Callable[[], bool], limit_s: float = 15.0) -> None:
        deadline = time.monotonic() + limit_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Discord never saw what the test waited for")
            await asyncio.sleep(0.02)

    async def _handle(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        webhook = f"{request.match_info['id']}/{request.match_info['token']}"
        raw = await request.read()
        payload, files = _parse(request.content_type, raw, request)
        bucket = self.buckets.setdefault(webhook, Bucket())
        record = Received(now, webhook, 0, raw, payload, files, request.query.get("thread_id"))
        if now < bucket.blocked_until:
            self.violations.append(record)
        if self.fail_with is not None:
            record.status = self.fail_with
            self.received.append(record)
            return web.json_response({"message": "server error"}, status=self.fail_with)
        if self.shared_429 and random.random() < self.shared_429:  # noqa: S311
            retry = self.shared_retry_after
            bucket.blocked_until = max(bucket.blocked_until, now + retry)
            record.status = 429
            self.received.append(record)
            body = {"message": "rate limited", "retry_after": retry, "global": False}
            headers = {"Retry-After": f"{retry:.3f}", "X-RateLimit-Scope": "shared"}
            return web.json_response(body, status=429, headers=headers)
        if now - bucket.started >= self.period_s:
            bucket.started, bucket.count = now, 0
        reset_after = bucket.started + self.period_s - now
        if bucket.count >= self.limit:
            bucket.blocked_until = now + reset_after
            record.status = 429
            self.received.append(record)
            body = {"message": "rate limited", "retry_after": reset_after, "global": False}
            headers = {"Retry-After": f"{reset_after:.3f}", **self._headers(0, reset_after)}
            return web.json_response(body, status=429, headers=headers)
        bucket.count += 1
        if webhook in self.forums and not (payload.get("thread_name") or record.thread_id):
            record.status = 400
            self.received.append(record)
            body = {
                "message": "Webhooks posted to forum channels must have a thread_name or thread_id",
                "code": 220001,
            }
            return web.json_response(body, status=400)
        record.status = 200
        self.received.append(record)
        message_id = record.message_id = str(next(self._ids))
        # A forum channel: thread_name opens a post, whose thread id is the message's channel.
        channel = (
            f"thread-{message_id}"
            if payload.get("thread_name")
            else (record.thread_id or "channel-1")
        )
        message = {"id": message_id, "channel_id": channel, **payload}
        headers = self._headers(self.limit - bucket.count, reset_after)
        return web.json_response(message, headers=headers)

    def _headers(self, remaining: int, reset_after: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": "fake-bucket",
        }


Parsed = tuple[dict[str, Any], dict[str, bytes]]


def _parse(content_type: str, raw: bytes, request: web.Request) -> Parsed:
    if content_type == "application/json":
        return json.loads(raw), {}
    if content_type.startswith("multipart/"):
        return _parse_multipart(raw, request.headers["Content-Type"])
    return {}, {}


def _parse_multipart(raw: bytes, content_type: str) -> Parsed:
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    payload: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if name == "payload_json":
            payload = json.loads(data)
        else:
            files[part.get_filename() or str(name)] = data
    return payload, files
