"""Account commands: positions, balance, orders, and the kill switch (halt, resume)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from .. import access, render

if TYPE_CHECKING:
    from ..bot import DeskBot

VIEWS = {
    "positions": ("/api/positions", render.POSITION_COLUMNS, "No open positions."),
    "balance": ("/api/balances", render.BALANCE_COLUMNS, "No balances."),
    "orders": ("/api/orders", render.ORDER_COLUMNS, "No open orders."),
}
HALT_HELP = (
    "`!halt` stops new orders (closes and cancels still pass); `!halt full` stops all but cancels."
)


class AccountCog(commands.Cog):
    def __init__(self, bot: DeskBot) -> None:
        self.bot = bot

    async def show(self, what: str, account: str | None) -> str:
        path, columns, empty = VIEWS[what]
        answer = await self.bot.app.api("GET", path, params={"venue": account} if account else None)
        if not answer.ok:
            return render.outcome(answer)
        venue = answer.body.get("venue") or account or ""
        return f"**{what.title()}** · {venue}\n" + render.table(
            answer.body.get("data") or [], columns, empty
        )

    async def switch(self, user: discord.abc.User, args: list[str], *, resume: bool) -> str:
        words = [a for a in args if a]
        mode = (
            "halted"
            if any(w.lower() in ("full", "all-orders", "halted") for w in words)
            else "reducing"
        )
        names = [w for w in words if w.lower() not in ("full", "all-orders", "halted", "all")]
        body = {"by": access.who(user), "venue": names[0] if names else "all"}
        if resume:
            answer = await self.bot.app.api("POST", "/api/resume", json=body)
            return f"▶️ {answer.message}" if answer.ok else render.outcome(answer)
        answer = await self.bot.app.api("POST", "/api/halt", json={**body, "mode": mode})
        return f"⛔ {answer.message}" if answer.ok else render.outcome(answer)

    @commands.command(name="positions")
    @access.desk(approver=False)
    async def positions(self, ctx: commands.Context, account: str | None = None) -> None:
        await ctx.reply(await self.show("positions", account), mention_author=False)

    @commands.command(name="balance", aliases=["balances"])
    @access.desk(approver=False)
    async def balance(self, ctx: commands.Context, account: str | None = None) -> None:
        await ctx.reply(await self.show("balance", account), mention_author=False)

    @commands.command(name="orders")
    @access.desk(approver=False)
    async def orders(self, ctx: commands.Context, account: str | None = None) -> None:
        await ctx.reply(await self.show("orders", account), mention_author=False)

    @commands.command(name="halt", help=HALT_HELP)
    @access.desk(approver=True)
    async def halt(self, ctx: commands.Context, *args: str) -> None:
        await ctx.reply(
            await self.switch(ctx.author, list(args), resume=False), mention_author=False
        )

    @commands.command(name="resume")
    @access.desk(approver=True)
    async def resume(self, ctx: commands.Context, *args: str) -> None:
        await ctx.reply(
            await self.switch(ctx.author, list(args), resume=True), mention_author=False
        )

    @app_commands.command(name="positions", description="Open positions of an account")
    @app_commands.guild_only()
    @access.slash_desk(approver=False)
    async def positions_slash(
        self, interaction: discord.Interaction, account: str | None = None
    ) -> None:
        await interaction.response.defer()
        await interaction.followup.send(await self.show("positions", account))

    @app_commands.command(name="balance", description="Balances of an account")
    @app_commands.guild_only()
    @access.slash_desk(approver=False)
    async def balance_slash(
        self, interaction: discord.Interaction, account: str | None = None
    ) -> None:
        await interaction.response.defer()
        await interaction.followup.send(await self.show("balance", account))

    @app_commands.command(name="orders", description="Open orders of an account")
    @app_commands.guild_only()
    @access.slash_desk(approver=False)
    async def orders_slash(
        self, interaction: discord.Interaction, account: str | None = None
    ) -> None:
        await interaction.response.defer()
        await interaction.followup.send(await self.show("orders", account))

    @app_commands.command(name="halt", description="Kill switch: stop new orders")
    @app_commands.guild_only()
    @app_commands.describe(
        mode="reducing: closes and cancels pass; halted: only cancels pass",
        account="one account; empty: all",
    )
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="reducing", value="reducing"),
            app_commands.Choice(name="halted", value="halted"),
        ]
    )
    @access.slash_desk(approver=True)
    async def halt_slash(
        self,
        interaction: discord.Interaction,
        mode: app_commands.Choice[str] | None = None,
        account: str | None = None,
    ) -> None:
        await interaction.response.defer()
        args = ["full" if mode and mode.value == "halted" else "", account or ""]
        await interaction.followup.send(await self.switch(interaction.user, args, resume=False))

    @app_commands.command(name="resume", description="Kill switch off: trade again")
    @app_commands.guild_only()
    @access.slash_desk(approver=True)
    async def resume_slash(
        self, interaction: discord.Interaction, account: str | None = None
    ) -> None:
        await interaction.response.defer()
        await interaction.followup.send(
            await self.switch(interaction.user, [account or ""], resume=True)
        )


async def setup(bot: DeskBot) -> None:
    await bot.add_cog(AccountCog(bot))
