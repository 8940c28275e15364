"""Shared fixtures: a running app on a temp data dir, and leak checks around every test."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SECRETS, Client, make_settings
from webhook_app.config import Settings
from webhook_app.web.app import init_app


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_text:
            text += record.exc_text
        self.texts.append(text)


@pytest.fixture(autouse=True)
def no_secret_leaks(tmp_path: Path) -> Iterator[None]:
    """Across the suite: no secret in any log record, nor in any file a test's app wrote."""
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
    for secret in SECRETS:
        leaked = [t for t in capture.texts if secret in t]
        assert not leaked, f"secret in a log record: {leaked[0][:200]}"
        for path in tmp_path.rglob("*"):
            if path.is_file() and path.suffix in {".sqlite3", ".sqlite3-wal", ".log", ".json"}:
                assert secret.encode() not in path.read_bytes(), f"secret written to {path}"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
async def make_client(aiohttp_client: Any, tmp_path: Path) -> Callable[..., Any]:
    """Start a real app (paper exchange, journal in tmp) and return a checked client."""

    async def start(
        settings: Settings | None = None, *, clock: Callable[[], float] | None = None, **env: str
    ) -> Client:
        chosen = settings or make_settings(tmp_path / "data", **env)
        app = init_app(chosen, clock=clock) if clock else init_app(chosen)
        return Client(await aiohttp_client(app))

    return start


@pytest.fixture
async def client(make_client: Callable[..., Any]) -> Client:
    return await make_client()
