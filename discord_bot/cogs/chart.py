"""`!chart SYMBOL [interval]` and `/chart`: the symbol's candles with the account's position and
open orders drawn on them, as the app renders them."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from .. import access, render

if TYPE_CHECKING:
    from ..bot import DeskBot


class ChartCog(commands.Cog):
    def __init__(self, bot: DeskBot) -> None:
        self.bot = bot

    async def picture(
        self, symbol: str, interval: str | None, account: str | None
    ) -> tuple[str, discord.File | None]:
        answer = await self.bot.app.chart(symbol, interval, account)
        png = answer.png
        if png is None:
            return render.outcome(answer), None
        name = f"{symbol.replace('/', '-').replace(':', '-')}.png"
        return f"**{symbol}** {interval or ''}".strip(), discord.File(io.BytesIO(png), name)

    @commands.command(name="chart", help="!chart SYMBOL [interval] [account]: candles and orders")
    @access.desk(approver=False)
    async def chart(
        self,
        ctx: commands.Context,
        symbol: str,
        interval: str | None = None,
        account: str | None = None,
    ) -> None:
        text, image = await self.picture(symbol, interval, account)
        if image is None:
            await ctx.reply(text, mention_author=False)
        else:
            await ctx.reply(text, file=image, mention_author=False)

    @app_commands.command(name="chart", description="Candles with the position and open orders")
    @app_commands.guild_only()
    @app_commands.describe(symbol="e.g. BTCUSDT", interval="1h, 4h, 1d, 60 …", account="account")
    @access.slash_desk(approver=False)
    async def chart_slash(
        self,
        interaction: discord.Interaction,
        symbol: str,
        interval: str | None = None,
        account: str | None = None,
    ) -> None:
        await interaction.response.defer()
        text, image = await self.picture(symbol, interval, account)
        if image is None:
            await interaction.followup.send(text)
        else:
            await interaction.followup.send(text, file=image)


async def setup(bot: DeskBot) -> None:
    await bot.add_cog(ChartCog(bot))
