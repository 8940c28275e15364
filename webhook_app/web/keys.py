"""Typed keys for what the application holds (aiohttp: no singletons)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ..config import Settings
from ..core import Core

SETTINGS = web.AppKey("settings", Settings)
CORE = web.AppKey("core", Core)
CLOCK = web.AppKey("clock", Callable[[], float])  # type: ignore[arg-type]
