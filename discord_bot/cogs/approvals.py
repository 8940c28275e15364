"""Relayed study alerts get Approve / Edit / Reject buttons, live until the approval expires."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from .. import access
from ..payloads import study_alerts
from ..views import ExpiringView, approval_view

if TYPE_CHECKING:
    from ..bot import DeskBot

logger = logging.getLogger(__name__)
DEFAULT_TTL_S = 900.0


class ApprovalsCog(commands.Cog):
    def __init__(self, bot: DeskBot) -> None:
        self.bot = bot

    def is_relay(self, message: discord.Message) -> bool:
        """Posted by the study webhook (when its id is set; else any webhook) in a desk channel."""
        if message.webhook_id is None or not access.in_desk(self.bot.config, message.channel):
            return False
        expected = self.bot.config.study_webhook_id
        return expected is None or message.webhook_id == expected

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if not self.is_relay(message):
            return
        for alert_id, _, expires in study_alerts(message):
            await self.offer(message, alert_id, expires)

    async def offer(self, message: discord.Message, alert_id: str, expires: int | None) -> None:
        """One reply with the buttons per relayed alert, live until its approval window closes."""
        ttl = (expires - time.time()) if expires else DEFAULT_TTL_S
        if ttl <= 0:
            await message.reply(
                f"⌛ Alert `{alert_id}` arrived after its approval window closed.",
                view=approval_view(alert_id, disabled=True),
                mention_author=False,
            )
            return
        view = ExpiringView(self.bot, alert_id, ttl)
        when = f" · expires <t:{expires}:R>" if expires else ""
        view.message = await message.reply(
            f"Decision for alert `{alert_id}`{when}", view=view, mention_author=False
        )
        self.bot.live_views[alert_id] = view


async def setup(bot: DeskBot) -> None:
    await bot.add_cog(ApprovalsCog(bot))
