"""Approve / Edit / Reject under each relayed alert: persistent buttons, an Edit modal, expiry."""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

import discord

from . import access, render
from .app_client import AppAnswer
from .payloads import PayloadError, apply_edits, sl_tp_names, study_alerts

if TYPE_CHECKING:
    from .bot import DeskBot

logger = logging.getLogger(__name__)

ACTIONS = {
    "approve": ("Approve", discord.ButtonStyle.success),
    "edit": ("Edit", discord.ButtonStyle.secondary),
    "reject": ("Reject", discord.ButtonStyle.danger),
}


def approval_view(alert_id: str, *, disabled: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(ApprovalButton(action, alert_id, disabled=disabled))
    return view


class ExpiringView(discord.ui.View):
    """The live view under a fresh alert: when the approval window closes, its buttons go grey."""

    def __init__(self, bot: DeskBot, alert_id: str, timeout: float) -> None:
        super().__init__(timeout=max(timeout, 1.0))
        self.bot, self.alert_id = bot, alert_id
        self.message: discord.Message | None = None
        for action in ACTIONS:
            self.add_item(ApprovalButton(action, alert_id))

    async def on_timeout(self) -> None:
        self.bot.live_views.pop(self.alert_id, None)
        if self.message is None:
            return
        state = await self.bot.app.alert(self.alert_id)
        closed = f"⌛ Approval window closed <t:{int(time.time())}:R>"
        if state.http_status == 0:  # no answer: say so, not what we cannot know
            text = f"{closed}; the app did not answer, check `/alerts/{self.alert_id}`."
        elif state.status in ("pending_approval", "expired"):
            text = f"{closed}: nothing was placed."
        else:
            text = f"{render.emoji(state)} Decided: {state.message}"
        await self.message.edit(content=text, view=approval_view(self.alert_id, disabled=True))


class ApprovalButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"tvb:(?P<action>approve|edit|reject):(?P<alert_id>[0-9a-f]{16})",
):
    def __init__(self, action: str, alert_id: str, *, disabled: bool = False) -> None:
        label, style = ACTIONS[action]
        button = discord.ui.Button(
            label=label, style=style, custom_id=f"tvb:{action}:{alert_id}", disabled=disabled
        )
        super().__init__(button)
        self.action, self.alert_id = action, alert_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> ApprovalButton:
        return cls(match["action"], match["alert_id"])

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Checked on every click, in code: role and channel rights can change at any time.
        bot: DeskBot = interaction.client  # type: ignore[assignment]
        reason = access.refusal(bot.config, interaction.channel, interaction.user, approver=True)
        if reason:
            await interaction.response.send_message(reason, ephemeral=True)
            return False
        return True

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: DeskBot = interaction.client  # type: ignore[assignment]
        if self.action == "edit":
            payload = await relayed_payload(interaction, self.alert_id)
            if payload is not None:
                await interaction.response.send_modal(EditModal(self.alert_id, payload))
            else:
                await interaction.response.send_message(MISSING, ephemeral=True)
            return
        await interaction.response.defer()  # Discord wants an answer within 3 s
        if self.action == "reject":
            answer = await bot.app.reject(self.alert_id, by=access.who(interaction.user))
        else:
            payload = await relayed_payload(interaction, self.alert_id)
            if payload is None:
                await interaction.followup.send(MISSING, ephemeral=True)
                return
            answer = await bot.send_decision(payload, self.alert_id, interaction.user)
        await finish(interaction, self.action, answer)


MISSING = "I cannot find the relayed alert this decision belongs to."


async def relayed_payload(interaction: discord.Interaction, alert_id: str) -> dict[str, Any] | None:
    """The alert's payload, read from the relayed message the buttons answer."""
    message = interaction.message
    reference = message.reference if message else None
    if reference is None or reference.message_id is None or interaction.channel is None:
        return None
    relayed = reference.resolved if isinstance(reference.resolved, discord.Message) else None
    if relayed is None:
        relayed = await interaction.channel.fetch_message(reference.message_id)  # type: ignore[union-attr]
    for found_id, payload, _ in study_alerts(relayed):
        if found_id == alert_id:
            return payload
    return None


async def finish(interaction: discord.Interaction, action: str, answer: AppAnswer) -> None:
    """Show who decided, when and the result, buttons disabled. A late click is told who won; a
    refusal for now (halted, rejected, app down) is told privately and the buttons stay live."""
    bot: DeskBot = interaction.client  # type: ignore[assignment]
    alert_id = str(answer.body.get("alert_id") or _id_of(interaction))
    if answer.status in ("duplicate", "conflict"):  # someone else decided first
        await interaction.followup.send(f"♻️ {answer.message}", ephemeral=True)
        return
    if answer.status == "expired":
        line = f"⌛ Approval window closed: {answer.message}"
    elif answer.ok:  # executed (or still executing), or declined
        verb = {"approve": "Approved", "edit": "Edited and approved", "reject": "Rejected"}[action]
        when = f"<t:{int(time.time())}:T>"
        line = f"{verb} by {interaction.user.mention} {when}\n{render.outcome(answer)}"
    else:
        await interaction.followup.send(render.outcome(answer), ephemeral=True)
        return
    live = bot.live_views.pop(alert_id, None)
    if live is not None:
        live.stop()
    disabled = approval_view(alert_id, disabled=True)
    await interaction.edit_original_response(content=line, view=disabled)


def _id_of(interaction: discord.Interaction) -> str:
    custom_id = (interaction.data or {}).get("custom_id", "")
    return str(custom_id).rsplit(":", 1)[-1]


class EditModal(discord.ui.Modal, title="Edit the order, then approve"):
    def __init__(self, alert_id: str, payload: dict[str, Any]) -> None:
        super().__init__(timeout=600)
        self.alert_id, self.payload = alert_id, payload
        sl, tp = sl_tp_names(payload)
        self.inputs: dict[str, discord.ui.TextInput] = {}
        for key, label, default in (
            ("type", "Type (market or limit)", payload.get("type", "market")),
            ("price", "Price", payload.get("price")),
            ("SL", f"Stop-loss ({sl})", payload.get(sl)),
            ("TP", f"Take-profit ({tp})", payload.get(tp)),
            ("risk", "Risk % of equity (empty: the account's)", payload.get("risk")),
        ):
            text = discord.ui.TextInput(
                label=label,
                custom_id=key,
                required=key in ("type", "SL"),
                default=None if default is None else str(default),
                max_length=30,
            )
            self.inputs[key] = text
            self.add_item(text)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot: DeskBot = interaction.client  # type: ignore[assignment]
        reason = access.refusal(bot.config, interaction.channel, interaction.user, approver=True)
        if reason:
            await interaction.response.send_message(reason, ephemeral=True)
            return
        try:
            edited = apply_edits(self.payload, {k: t.value for k, t in self.inputs.items()})
        except PayloadError as e:
            await interaction.response.send_message(f"❌ {e}", ephemeral=True)
            return
        await interaction.response.defer()
        answer = await bot.send_decision(edited, self.alert_id, interaction.user)
        await finish(interaction, "edit", answer)
