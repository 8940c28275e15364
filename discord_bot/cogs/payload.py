"""`!payload {json}` and `/payload`: check, add the passphrase, post, and answer ✅ or ❌."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from .. import access, render
from ..payloads import PayloadError, contains_secret, read_payload
from ..views import approval_view

if TYPE_CHECKING:
    from ..bot import DeskBot

logger = logging.getLogger(__name__)

PROCESSING = "Payload received, now processing…"
# A notice about the passphrase, not the passphrase.
SECRET_DELETED = "".join(
    (  # noqa: S105
        "{mention} I deleted your message: it contained the webhook passphrase. ",
        "Never post it here; I add it myself. ",
        "If this channel is not private, change WEBHOOK_PASSPHRASE.",
    )
)

Send = Callable[[str], Awaitable[discord.Message | discord.WebhookMessage]]


async def run_payload(
    bot: DeskBot, text: str, user: discord.abc.User, send: Send, prefix: str = ""
) -> None:
    """Check the payload with the app's rules, post it, then edit the reply with the outcome."""
    try:
        payload = read_payload(text)
    except PayloadError as e:
        await send(f"{prefix}❌ {e}")
        return
    reply = await send(prefix + PROCESSING)
    answer = await bot.app.order(payload, approver=access.who(user), wait_s=bot.config.wait_s)
    await reply.edit(content=prefix + render.outcome(answer))
    alert_id = payload.get("alert_id")
    live = bot.live_views.pop(str(alert_id), None) if alert_id else None
    if live is not None and live.message is not None and answer.status != "duplicate":
        live.stop()  # decided here: the buttons under the relayed alert say so
        await live.message.edit(
            content=f"Decided with !payload by {user.mention}\n{render.outcome(answer)}",
            view=approval_view(str(alert_id), disabled=True),
        )


class PayloadModal(discord.ui.Modal, title="Send an order payload"):
    payload = discord.ui.TextInput(
        label="Payload JSON (I add the passphrase)",
        custom_id="payload",
        style=discord.TextStyle.paragraph,
        max_length=4000,
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot: DeskBot = interaction.client  # type: ignore[assignment]
        await interaction.response.defer(thinking=True)

        async def send(content: str) -> discord.WebhookMessage:
            return await interaction.followup.send(content, wait=True)

        await run_payload(bot, self.payload.value, interaction.user, send)


class PayloadCog(commands.Cog):
    def __init__(self, bot: DeskBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Any message carrying the passphrase is deleted, wherever the bot can see it."""
        if message.author.id == getattr(self.bot.user, "id", None) or message.guild is None:
            return
        if contains_secret(message.content, self.bot.config.passphrase.reveal()):
            try:
                await message.delete()
            except discord.HTTPException:
                logger.warning("could not delete a message that holds the passphrase")
            await message.channel.send(SECRET_DELETED.format(mention=message.author.mention))

    @commands.command(name="payload")
    @access.desk(approver=True)
    async def payload(self, ctx: commands.Context, *, text: str = "") -> None:
        secret = contains_secret(ctx.message.content, self.bot.config.passphrase.reveal())

        async def send(content: str) -> discord.Message:
            if secret:  # the message is being deleted: do not reply to it
                return await ctx.send(content)
            return await ctx.reply(content, mention_author=False)

        prefix = f"{ctx.author.mention} " if secret else ""
        await run_payload(self.bot, text, ctx.author, send, prefix)

    @app_commands.command(name="payload", description="Send an order payload (opens a form)")
    @app_commands.guild_only()
    @access.slash_desk(approver=True)
    async def payload_slash(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(PayloadModal())


async def setup(bot: DeskBot) -> None:
    await bot.add_cog(PayloadCog(bot))
