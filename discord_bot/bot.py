"""The Discord desk: a Bot subclass with cogs, one session to the app and one error handler."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from webhook_app.redaction import Redactor, install_log_redaction

from .access import who
from .app_client import AppAnswer, AppClient
from .config import BotConfig
from .keepalive import KeepAlive
from .views import ApprovalButton, ExpiringView

logger = logging.getLogger(__name__)

COGS = (
    "discord_bot.cogs.payload",
    "discord_bot.cogs.approvals",
    "discord_bot.cogs.account",
    "discord_bot.cogs.chart",
)


def desk_intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = True  # privileged: needed to read `!payload {...}`
    return intents


class DeskBot(commands.Bot):
    def __init__(self, config: BotConfig, *, app: AppClient | None = None) -> None:
        super().__init__(command_prefix="!", intents=desk_intents(), help_command=None)
        self.config = config
        self.app = app or AppClient(config.app_url, config.passphrase, config.api_token)
        self.live_views: dict[str, ExpiringView] = {}  # alert id → its live buttons
        self.keepalive: KeepAlive | None = None
        install_log_redaction(Redactor(config.secrets()))

    async def setup_hook(self) -> None:
        await self.app.open()
        for cog in COGS:
            await self.load_extension(cog)
        # Buttons carry the alert id in their custom_id: one registration answers every old one.
        self.add_dynamic_items(ApprovalButton)
        self.tree.on_error = self.on_app_command_error
        await self.tree.sync()
        if self.config.keepalive_port is not None:
            self.keepalive = KeepAlive(self, self.config.keepalive_port)
            await self.keepalive.start()

    async def close(self) -> None:
        if self.keepalive is not None:
            await self.keepalive.stop()
        await self.app.close()
        await super().close()

    async def send_decision(
        self, payload: dict[str, Any], alert_id: str, user: discord.abc.User
    ) -> AppAnswer:
        """Approve a relayed alert (as sent, or edited) in the app, in the approver's name."""
        body = {**payload, "alert_id": alert_id, "approval": True}
        return await self.app.order(body, approver=who(user), wait_s=self.config.wait_s)

    async def on_command_error(self, ctx: commands.Context, error: commands.CommandError) -> None:
        """The one place a command's failure is answered: a short reason, never a traceback."""
        if isinstance(error, commands.CommandNotFound):
            return
        if isinstance(error, commands.CheckFailure | commands.UserInputError):
            await ctx.reply(str(error) or "You cannot do that here.", mention_author=False)
            return
        logger.error("command %s failed", ctx.command, exc_info=error)
        await ctx.reply(
            "Something went wrong on my side; it is in the bot's log.", mention_author=False
        )

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CheckFailure):
            text = str(error) or "You cannot do that here."
        else:
            logger.error("slash command failed", exc_info=error)
            text = "Something went wrong on my side; it is in the bot's log."
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
