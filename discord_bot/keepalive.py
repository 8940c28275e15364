"""An optional HTTP endpoint in the bot process, for uptime pings (Replit and the like)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from discord.ext import commands


class KeepAlive:
    def __init__(self, bot: commands.Bot, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104
        self.bot, self.port, self.host = bot, port, host
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._ping)
        app.router.add_get("/health", self._ping)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _ping(self, request: web.Request) -> web.Response:
        ready = self.bot.is_ready()
        return web.json_response(
            {
                "success": ready,
                "status": "ok" if ready else "starting",
                "message": f"discord bot {'ready' if ready else 'connecting'}",
            },
            status=200 if ready else 503,
        )
