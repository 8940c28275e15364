"""Discord under pressure: a burst of study relays against a tight rate limit loses nothing and
never sends inside a retry_after; clicks and commands from non-approvers place nothing."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.discord_bot.conftest import Desk, app, desk  # noqa: F401  (fixtures)
from tests.fakes.discord_webhooks import FakeDiscordWebhooks
from tests.helpers import PASSPHRASE, SECRETS, alert

STUDY = "/tradingview-to-discord-study"
RELAYS = 500
SPREAD_S = 10.0


@pytest.fixture
async def tight_discord() -> AsyncIterator[FakeDiscordWebhooks]:
    fake = await FakeDiscordWebhooks(limit=5, period_s=1.0).start()
    fake.shared_429 = 0.2  # besides the bucket the headers announce
    yield fake
    await fake.close()


async def test_500_relays_in_10_s_lose_nothing_and_wait_out_every_429(
    make_client: Any, tight_discord: FakeDiscordWebhooks, figure: Any
) -> None:
    discord = tight_discord
    client = await make_client(
        DISCORD_STUDY_URL=discord.url("study"), DISCORD_LOGS_URL=discord.url("logs")
    )
    chart = "https://www.tradingview.com/chart/x"

    async def one(i: int) -> dict[str, Any]:
        await asyncio.sleep(i * SPREAD_S / RELAYS)
        body = alert(type="limit", chart_url=chart, comment=f"relay {i}")
        code, answer = await client.post(STUDY, body)
        assert code == 202, answer
        return answer

    started = time.monotonic()
    answers = await asyncio.gather(*(one(i) for i in range(RELAYS)))
    sent_in = time.monotonic() - started
    await discord.wait_for(lambda: len(discord.embeds("study")) >= RELAYS, limit_s=120)
    took = time.monotonic() - started

    footers = [e["footer"]["text"] for e in discord.embeds("study")]
    delivered = [re.match(r"alert (\w+)", f).group(1) for f in footers]  # type: ignore[union-attr]
    expected = sorted(a["alert_id"] for a in answers)
    lost = len(set(expected) - set(delivered))
    doubled = len(delivered) - len(set(delivered))
    throttled = sum(r.status == 429 for r in discord.received)
    assert (lost, doubled) == (0, 0)
    assert discord.violations == []
    assert throttled > 0  # the limit was really reached
    for request in discord.received:
        for secret in (*SECRETS, PASSPHRASE):
            assert secret.encode() not in request.raw
    figure(
        "discord relays",
        f"{RELAYS} study alerts in {sent_in:.1f} s → all delivered in {took:.1f} s, "
        f"{len(discord.delivered('study'))} messages, lost {lost}, doubled {doubled}, "
        f"429s {throttled}, inside retry_after {len(discord.violations)}",
    )


async def test_unauthorized_clicks_and_commands_place_no_order(desk: Desk, figure: Any) -> None:  # noqa: F811
    attempts = 0
    refusals = 0
    refused = "Only approvers can do that."
    for i in range(5):
        relayed = await desk.app.relay(comment=f"panel {i}")
        await desk.deliver(relayed)
        panel = desk.approval_message()
        for label in ("Approve", "Edit", "Reject"):
            result = await desk.mallory.click(panel, label=label)
            attempts += 1
            refusals += result.ephemeral and result.response.content == refused
        line = re.search(r"(!payload .*)\n", relayed["embeds"][0]["description"]).group(1)  # type: ignore[union-attr]
        await desk.mallory.send(desk.desk, line)
        attempts += 1
        refusals += desk.desk.last_message.content == refused
        await desk.alice.send(desk.other, line)  # an approver, in the wrong channel
        attempts += 1
        refusals += "only take orders in the trading desk" in desk.other.last_message.content
        await desk.alice.send_dm(line)  # an approver, in a DM
        attempts += 1
        refusals += "never in DMs" in desk.alice.user.dm_channel.history()[-1].content
    for command in ("!halt", "!resume"):
        await desk.mallory.send(desk.desk, command)
        attempts += 1
        refusals += desk.desk.last_message.content == "Only approvers can do that."

    orders = desk.app.paper_orders()
    assert orders == [] and refusals == attempts
    # The panels are still live for the people who may decide.
    await desk.alice.click(desk.approval_message(), label="Approve")
    assert len(desk.app.paper_orders()) > 0
    figure(
        "unauthorized",
        f"{attempts} clicks and commands from a non-approver, in other channels and DMs → "
        f"{refusals} refused, 0 orders; an approver's click afterwards still trades",
    )
