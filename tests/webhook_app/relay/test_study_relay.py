"""The study route: journaled as pending approval, relayed as one embed, never the passphrase."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.discord_webhooks import FakeDiscordWebhooks
from tests.helpers import ORDER, PASSPHRASE, SECRETS, Client, alert

STUDY = "/tradingview-to-discord-study"
CHART = "https://www.tradingview.com/chart/jbSLq0oe"


def study(**fields: Any) -> dict[str, Any]:
    return alert(**{"type": "limit", "chart_url": CHART, **fields})


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscordWebhooks]:
    fake = await FakeDiscordWebhooks(limit=5, period_s=2.0).start()
    yield fake
    await fake.close()


@pytest.fixture
async def relay_client(make_client: Any, discord: FakeDiscordWebhooks) -> Client:
    return await make_client(
        DISCORD_STUDY_URL=discord.url("study"),
        DISCORD_LOGS_URL=discord.url("logs"),
        DISCORD_ERRORS_URL=discord.url("errors"),
    )


async def test_study_alert_is_pending_and_relayed_once_without_the_passphrase(
    relay_client: Client, discord: FakeDiscordWebhooks
) -> None:
    before = time.time()
    code, answer = await relay_client.post(STUDY, study())
    assert (code, answer["status"], answer["success"]) == (202, "pending_approval", True)
    alert_id = answer["alert_id"]
    await discord.wait_for(lambda: len(discord.delivered("study")) == 1)

    (request,) = discord.delivered("study")
    for secret in (*SECRETS, PASSPHRASE):
        assert secret.encode() not in request.raw
    (embed,) = request.embeds
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert embed["title"] == "🟢 LONG BTCUSDT · entry" and embed["url"] == CHART
    assert (fields["Side"], fields["Type"], fields["Price"]) == ("buy", "limit", "40000")
    assert fields["Stop-loss"] == "39800"
    assert fields["Take-profits"].splitlines() == [
        "TP1 40150 · 0.75 R · 0.075",
        "TP2 40300 · 1.50 R · 0.075",
        "TP 41000 · 5 R · 0.35",
    ]
    assert fields["R multiple"] == "5 R"
    # What the planner would use now: 10,000 × 1 % / 200 = 0.5; 0.5 × 40,000 = 20,000
    assert fields["Size now"] == "0.5 BTCUSDT"
    assert fields["Notional"] == "20,000.00 USDT"
    assert fields["Risk"] == "100.00 USDT (1.00 % of equity)"
    expires = int(re.search(r"<t:(\d+):R>", fields["Expires"]).group(1))  # type: ignore[union-attr]
    assert before + 899 <= expires <= time.time() + 901  # APPROVAL_TTL, 15 minutes
    assert f"[Open the chart]({CHART})" in embed["description"]
    assert embed["footer"]["text"] == f"alert {alert_id} · account Testing"

    line = re.search(r"```\n(!payload .*)\n```", embed["description"]).group(1)  # type: ignore[union-attr]
    payload = json.loads(line.removeprefix("!payload "))
    assert payload["alert_id"] == alert_id and "passphrase" not in payload
    assert payload["long SL"] == 39800 and payload["chart_url"] == CHART

    code, state = await relay_client.get(f"/alerts/{alert_id}")
    assert (code, state["status"]) == (200, "pending_approval") and "expires_at" in state
    assert discord.delivered("logs") == []  # nothing happened yet: no outcome to log


async def test_a_secret_in_the_chart_url_is_masked_in_the_message_its_chart_step_rewrites(
    relay_client: Client, discord: FakeDiscordWebhooks
) -> None:
    """The chart step rewrites the held message (no candles: a line saying why, with the link):
    that rewrite passes the redactor too."""
    await relay_client.post(STUDY, study(chart_url=f"{CHART}?p={PASSPHRASE}"))
    await discord.wait_for(lambda: len(discord.delivered("study")) == 1)
    (request,) = discord.delivered("study")
    fields = {f["name"]: f["value"] for f in request.embeds[0]["fields"]}
    assert "chart" in fields["Chart"] and PASSPHRASE.encode() not in request.raw
    stored = await relay_client.core.journal.query("SELECT payload FROM outbox")
    assert all(PASSPHRASE not in row["payload"] for row in stored)


async def test_the_payload_line_executes_once_then_is_a_duplicate(
    relay_client: Client, discord: FakeDiscordWebhooks
) -> None:
    await relay_client.post(STUDY, study())
    await discord.wait_for(lambda: len(discord.delivered("study")) == 1)
    description = discord.embeds("study")[0]["description"]
    line = re.search(r"!payload (.*)\n", description).group(1)  # type: ignore[union-attr]
    body = {**json.loads(line), "passphrase": PASSPHRASE}
    first = await relay_client.post(ORDER, body, wait=2.5)
    second = await relay_client.post(ORDER, body, wait=2.5)
    assert first[1]["status"] == "executed" and second[1]["status"] == "duplicate"


async def test_study_alert_refused_like_the_execution_route(relay_client: Client) -> None:
    code, answer = await relay_client.post(STUDY, study(**{"long SL": 40100}))
    assert (code, answer["status"]) == (422, "rejected")
    code, answer = await relay_client.post(STUDY, study(passphrase="wrong"))
    assert (code, answer["status"]) == (401, "unauthorized")
    code, answer = await relay_client.post(STUDY, study(chart_url="javascript:alert(1)"))
    assert (code, answer["status"]) == (400, "malformed") and "chart_url" in answer["message"]


async def test_without_a_study_url_the_relay_goes_to_the_log(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        code, answer = await client.post(STUDY, study())
        await client.core.poster.close()  # let the background post finish
    assert (code, answer["status"]) == (202, "pending_approval")
    logged = [
        r.getMessage() for r in caplog.records if "discord study (no URL set)" in r.getMessage()
    ]
    assert len(logged) == 1 and "LONG BTCUSDT" in logged[0] and answer["alert_id"] in logged[0]
