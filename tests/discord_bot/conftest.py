"""The desk under test: a real webhook_app on loopback (paper exchange), the bot in simcord, and
the app's Discord relay captured by a fake webhook and replayed into simcord's channel."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord
from aiohttp import ClientSession

from discord_bot.bot import DeskBot
from discord_bot.config import BotConfig
from tests.fakes.discord_webhooks import FakeDiscordWebhooks
from tests.helpers import API_TOKEN, PASSPHRASE, alert, make_settings
from webhook_app.config import Secret
from webhook_app.web.app import init_app, serve_on_loopback
from webhook_app.web.keys import CORE

STUDY = "/tradingview-to-discord-study"


@dataclass
class App:
    url: str
    data_dir: Path
    discord: FakeDiscordWebhooks
    offset: list[float]  # seconds added to the app's clock (to reach an expiry)
    core: Any = None  # the app's core, to feed the paper market

    def paper_orders(self) -> list[dict[str, Any]]:
        with sqlite3.connect(f"file:{self.data_dir / 'paper.sqlite3'}?mode=ro", uri=True) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM paper_orders ORDER BY timestamp")]

    async def relay(self, **fields: Any) -> dict[str, Any]:
        """Post a study alert to the app; return the Discord payload it relayed."""
        chart = "https://www.tradingview.com/chart/x"
        body = alert(**{"type": "limit", "chart_url": chart, **fields})
        before = len(self.discord.delivered("study"))
        async with ClientSession() as http, http.post(self.url + STUDY, data=json.dumps(body)) as r:
            assert r.status == 202, await r.text()
        await self.discord.wait_for(lambda: len(self.discord.delivered("study")) > before)
        return self.discord.delivered("study")[-1].payload


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    fake = await FakeDiscordWebhooks(limit=50, period_s=1.0).start()
    offset = [0.0]
    settings = make_settings(
        tmp_path / "data", DISCORD_STUDY_URL=fake.url("study"), PAPER_LATENCY_MS="50"
    )
    app = init_app(settings, clock=lambda: time.time() + offset[0])
    runner, base = await serve_on_loopback(app)
    yield App(base, settings.data_dir, fake, offset, app[CORE])
    await runner.cleanup()
    await fake.close()


@dataclass
class Desk:
    env: simcord.Env
    bot: DeskBot
    guild: Any
    desk: Any  # the trading channel
    other: Any  # a channel the bot must ignore
    webhook: Any  # the study webhook, as Discord would deliver its messages
    alice: Any  # approver
    bob: Any  # approver
    mallory: Any  # not an approver
    app: App

    async def deliver(self, payload: dict[str, Any]) -> discord.Message:
        """The app's relay arrives in the channel, posted by the study webhook."""
        embeds = [discord.Embed.from_dict(e) for e in payload["embeds"]]
        await self.webhook.send("", embeds=embeds, username="TradingView alert")
        return self.desk.history()[-1]

    def approval_message(self) -> discord.Message:
        return next(m for m in reversed(self.desk.history()) if m.components)


def bot_config(app_url: str, **ids: Any) -> BotConfig:
    return BotConfig(
        token=Secret("discord-token-xyz123"),
        passphrase=Secret(PASSPHRASE),
        app_url=app_url,
        api_token=Secret(API_TOKEN),
        **ids,
    )


@pytest.fixture
async def desk(app: App) -> AsyncIterator[Desk]:
    bot = DeskBot(bot_config(app.url, channel_ids=frozenset({0})))
    env = simcord.Env(bot, settle_timeout=10.0)
    guild = env.create_guild("Trading", id=900_000_000_000_000_001)
    channel, other = guild.create_text_channel("desk"), guild.create_text_channel("chat")
    approvers = guild.create_role("Approver")
    members = [
        guild.add_member(env.create_user(n), roles=[approvers] if n != "mallory" else [])
        for n in ("alice", "bob", "mallory")
    ]
    webhook = guild.create_webhook(channel, name="TradingView alert")
    bot.config = replace(
        bot.config,
        channel_ids=frozenset({channel.id}),
        approver_role_ids=frozenset({approvers.id}),
        study_webhook_id=webhook.id,
    )
    await env.start()
    yield Desk(env, bot, guild, channel, other, webhook, *members, app=app)
    await env.shutdown()
    await bot.app.close()
