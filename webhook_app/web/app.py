"""The aiohttp application factory: state on typed AppKeys, the core opened in cleanup_ctx."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ..config import Settings
from ..core import Core
from .api import api, bearer_auth
from .keys import CLOCK, CORE, SETTINGS
from .middleware import error_middleware
from .routes import routes
from .sources import SourceControls
from .stream import stream


def init_app(settings: Settings, *, clock: Callable[[], float] = time.time) -> web.Application:
    sources = SourceControls(
        settings.ip_allowlist, settings.trusted_proxies, settings.auth_fail_limit
    )
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[error_middleware, sources.middleware, bearer_auth],
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app.cleanup_ctx.append(_core_context)
    app.add_routes(routes)
    app.add_routes(api)
    app.add_routes(stream)
    return app


async def _core_context(app: web.Application) -> AsyncIterator[None]:
    core = Core(app[SETTINGS], clock=app[CLOCK])
    await core.start()
    app[CORE] = core
    yield
    await core.close()


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log without query strings: seed-000 alerts carry their keys in the URL."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.1fms',
            request.remote,
            request.method,
            request.path,
            response.status,
            time * 1000,
        )


def run(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    web.run_app(
        init_app(settings),
        host=settings.host,
        port=settings.port,
        access_log_class=PathOnlyAccessLogger,
    )


async def serve_on_loopback(
    app: web.Application, *, shutdown_timeout: float = 60.0
) -> tuple[web.AppRunner, str]:
    """Serve an app on a free loopback port (the replay, tests, fakes): its runner, to clean up,
    and its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    return runner, f"http://127.0.0.1:{port}"
