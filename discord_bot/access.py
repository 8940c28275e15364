"""Who may do what, where: checked on every command and every interaction, in code."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from .config import BotConfig

NOT_HERE = "I only take orders in the trading desk channels, never in DMs or other channels."
NOT_APPROVER = "Only approvers can do that."


def in_desk(config: BotConfig, channel: object) -> bool:
    if isinstance(channel, discord.Thread):
        return channel.parent_id in config.channel_ids
    return getattr(channel, "id", None) in config.channel_ids and not isinstance(
        channel, discord.DMChannel | discord.GroupChannel
    )


def is_approver(config: BotConfig, user: discord.abc.User) -> bool:
    if user.id in config.approver_user_ids:
        return True
    roles = getattr(user, "roles", ())  # a Member in a guild; a plain User in a DM has none
    return any(role.id in config.approver_role_ids for role in roles)


def refusal(
    config: BotConfig, channel: object, user: discord.abc.User, *, approver: bool
) -> str | None:
    """Why this user may not act here, or None when they may."""
    if not in_desk(config, channel):
        return NOT_HERE
    if approver and not is_approver(config, user):
        return NOT_APPROVER
    return None


def desk(*, approver: bool) -> object:
    """A prefix-command check: in a desk channel (never a DM), and an approver when asked."""

    async def predicate(ctx: commands.Context) -> bool:
        reason = refusal(ctx.bot.config, ctx.channel, ctx.author, approver=approver)
        if reason:
            raise commands.CheckFailure(reason)
        return True

    return commands.check(predicate)


def slash_desk(*, approver: bool) -> object:
    """The same check for slash commands."""

    async def predicate(interaction: discord.Interaction) -> bool:
        reason = refusal(
            interaction.client.config,
            interaction.channel,
            interaction.user,  # type: ignore[attr-defined]
            approver=approver,
        )
        if reason:
            raise app_commands.CheckFailure(reason)
        return True

    return app_commands.check(predicate)


def who(user: discord.abc.User) -> str:
    """How an approver is named in the app's journal: name and Discord id."""
    return f"{user.name} ({user.id})"
