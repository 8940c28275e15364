"""The app on its own event loop in a thread, so a synchronous test (hypothesis) can drive it over
real HTTP, and ask its core questions on its own loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from webhook_app.config import Settings
from webhook_app.core import Core
from webhook_app.web.app import init_app, serve_on_loopback
from webhook_app.web.keys import CORE

T = TypeVar("T")


class ThreadedApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.base = ""
        self.core: Core | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> ThreadedApp:
        self._thread.start()
        self.run(self._start)
        return self

    async def _start(self) -> None:
        app = init_app(self.settings)
        self._runner, self.base = await serve_on_loopback(app)
        self.core = app[CORE]

    def run(self, factory: Callable[[], Awaitable[T]], timeout: float = 120) -> T:
        """Run a coroutine on the app's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(factory(), self.loop).result(timeout)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self._runner is not None:
            self.run(self._runner.cleanup)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextmanager
def threaded_app(settings: Settings) -> Iterator[ThreadedApp]:
    app = ThreadedApp(settings).start()
    try:
        yield app
    finally:
        app.stop()


async def post_all(
    base: str, requests: list[tuple[str, bytes]], headers: dict[str, str] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """Post them all at once (a client loop of the test's own), answers in order."""
    async with aiohttp.ClientSession(headers=headers) as http:

        async def one(path: str, body: bytes) -> tuple[int, dict[str, Any]]:
            async with http.post(base + path, data=body) as response:
                return response.status, await response.json(content_type=None)

        return list(await asyncio.gather(*(one(p, b) for p, b in requests)))
