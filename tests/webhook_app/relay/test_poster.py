"""The Discord poster against a rate-limited fake: bursts, 5xx, restarts, refusals, redaction."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.discord_webhooks import FakeDiscordWebhooks
from tests.helpers import API_TOKEN, ORDER, PASSPHRASE, alert, make_settings
from tests.webhook_app.relay.test_study_relay import STUDY, study
from webhook_app.config import Secret
from webhook_app.journal import Journal
from webhook_app.redaction import Redactor
from webhook_app.relay.outbox import Outbox
from webhook_app.relay.poster import (
    HELD,
    MAX_EMBED_CHARS,
    MAX_EMBEDS,
    DiscordPoster,
    embed_chars,
)


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscordWebhooks]:
    fake = await FakeDiscordWebhooks(limit=5, period_s=2.0).start()
    yield fake
    await fake.close()


def relay_env(discord: FakeDiscordWebhooks) -> dict[str, str]:
    return {
        "DISCORD_STUDY_URL": discord.url("study"),
        "DISCORD_LOGS_URL": discord.url("logs"),
        "DISCORD_ERRORS_URL": discord.url("errors"),
    }


def alert_ids(embeds: list[dict[str, Any]]) -> list[str]:
    return [re.match(r"alert (\w+)", e["footer"]["text"]).group(1) for e in embeds]  # type: ignore[union-attr]


async def test_burst_of_100_study_alerts_is_batched_and_never_sent_inside_retry_after(
    make_client: Any, discord: FakeDiscordWebhooks
) -> None:
    client = await make_client(**relay_env(discord))
    started = time.monotonic()
    answers = await asyncio.gather(
        *(client.post(STUDY, study(comment=f"burst {i}")) for i in range(100))
    )
    assert {a["status"] for _, a in answers} == {"pending_approval"}
    await discord.wait_for(lambda: len(discord.embeds("study")) >= 100, limit_s=30)
    took = discord.delivered("study")[-1].at - started

    delivered = alert_ids(discord.embeds("study"))
    assert sorted(delivered) == sorted(a["alert_id"] for _, a in answers)  # all 100, each once
    assert discord.violations == []  # nothing sent inside a retry_after
    messages = discord.delivered("study")
    # Discord takes at most 10 embeds and 6,000 embed characters per message.
    # (embeds differ by a character or two, so a full message holds at least this many)
    per_message = min(MAX_EMBEDS, MAX_EMBED_CHARS // max(map(embed_chars, discord.embeds("study"))))
    assert max(len(m.embeds) for m in messages) >= per_message > 1  # batching used
    assert all(sum(map(embed_chars, m.embeds)) <= MAX_EMBED_CHARS for m in messages)
    # The fastest the limit allows: full messages, `limit` per period, the first at once.
    fewest = math.ceil(100 / per_message)
    fastest = (math.ceil(fewest / discord.limit) - 1) * discord.period_s
    print(
        f"\nburst: 100 study alerts in {len(messages)} messages (fewest {fewest}), {took:.2f} s; "
        f"theoretical minimum {fastest:.2f} s; ratio {took / fastest:.2f}; "
        f"429s {sum(r.status == 429 for r in discord.received)}, inside retry_after 0"
    )


async def test_5xx_then_restart_then_back_delivers_every_message_once(
    make_client: Any, discord: FakeDiscordWebhooks, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", **relay_env(discord))
    discord.fail_with = 503
    first = await make_client(settings)
    ids = []
    for i in range(3):
        _, answer = await first.post(STUDY, study(comment=f"down {i}"))
        ids.append(answer["alert_id"])
    await discord.wait_for(lambda: sum(r.status == 503 for r in discord.received) >= 2)
    await first.http.close()  # the app stops with the messages undelivered

    discord.fail_with = None
    second = await make_client(settings)
    await discord.wait_for(lambda: len(discord.embeds("study")) >= 3)
    await asyncio.sleep(0.3)  # nothing more arrives
    assert sorted(alert_ids(discord.embeds("study"))) == sorted(ids)
    pending = await Outbox(second.core.journal).pending()
    assert pending == []


async def test_a_message_discord_refuses_is_dropped_not_retried(tmp_path: Path) -> None:
    fake = await FakeDiscordWebhooks().start()
    fake.fail_with = 400
    journal = Journal(tmp_path)
    await journal.start()
    poster = DiscordPoster(
        {"logs": Secret(fake.url("logs"))}, Outbox(journal), Redactor(), linger_s=0
    )
    await poster.start()
    await poster.post("logs", {"embeds": [{"title": "x"}]})
    await fake.wait_for(lambda: len(fake.received) == 1)
    await asyncio.sleep(0.3)
    assert len(fake.received) == 1
    rows = await journal.query("SELECT error FROM outbox")
    assert rows == [{"error": "HTTP 400: server error"}]
    await poster.close()
    await journal.close()
    await fake.close()


async def test_held_messages_wait_for_release_and_syncs_never_send_twice(tmp_path: Path) -> None:
    """A message written with its alert waits for its chart step; many syncs racing deliveries
    (one per alert in a burst) queue each message once; a restart sends what is still held."""
    fake = await FakeDiscordWebhooks(limit=1000, period_s=1.0).start()
    journal = Journal(tmp_path)
    await journal.start()
    outbox = Outbox(journal)
    poster = DiscordPoster({"study": Secret(fake.url("study"))}, outbox, Redactor(), linger_s=0)
    await poster.start()
    held = await outbox.add("study", {"embeds": [{"title": "held"}], HELD: True}, "a1")
    ids = [await outbox.add("study", {"embeds": [{"title": f"m{i}"}]}) for i in range(60)]
    for _ in range(60):  # a wake per alert, while the first ones are being delivered
        poster.wake("study")
        await asyncio.sleep(0.002)
    await fake.wait_for(lambda: len(fake.embeds("study")) >= len(ids))
    await asyncio.sleep(0.3)
    titles = [e["title"] for e in fake.embeds("study")]
    assert sorted(titles) == sorted(f"m{i}" for i in range(60))  # each once, "held" not yet

    assert await outbox.rewrite("a1", "study", lambda p: {"embeds": p["embeds"]})  # released
    poster.wake("study")
    await fake.wait_for(lambda: "held" in [e["title"] for e in fake.embeds("study")])
    await poster.close()

    await outbox.add("study", {"embeds": [{"title": "orphan"}], HELD: True}, "a2")
    restarted = DiscordPoster({"study": Secret(fake.url("study"))}, outbox, Redactor())
    await restarted.start()  # its chart step died with the last process: send it as it is
    await fake.wait_for(lambda: "orphan" in [e["title"] for e in fake.embeds("study")])
    assert all(HELD.encode() not in r.raw for r in fake.received)
    assert held not in [i.id for i in await outbox.pending()]
    await restarted.close()
    await journal.close()
    await fake.close()


async def test_nothing_secret_passes_the_poster(tmp_path: Path) -> None:
    fake = await FakeDiscordWebhooks().start()
    journal = Journal(tmp_path)
    await journal.start()
    key = "binance-key-XYZ12345"
    redactor = Redactor([PASSPHRASE, API_TOKEN, key])
    poster = DiscordPoster({"errors": Secret(fake.url("errors"))}, Outbox(journal), redactor)
    await poster.start()
    await poster.post(
        "errors",
        {
            "embeds": [
                {
                    "title": f"failed with {PASSPHRASE}",
                    "description": (
                        f'{{"passphrase": "{PASSPHRASE}"}} Bearer {API_TOKEN} apiKey={key}'
                    ),
                    "fields": [
                        {
                            "name": "raw",
                            "value": f"https://api.binance.com/x?signature=1&api_key={key}",
                        }
                    ],
                }
            ]
        },
    )
    await fake.wait_for(lambda: len(fake.received) == 1)
    raw = fake.received[0].raw
    for secret in (PASSPHRASE, API_TOKEN, key):
        assert secret.encode() not in raw
    stored = await journal.query("SELECT payload FROM outbox")
    assert all(secret not in stored[0]["payload"] for secret in (PASSPHRASE, API_TOKEN, key))
    await poster.close()
    await journal.close()
    await fake.close()


async def test_executed_rejected_and_duplicate_alerts_each_get_their_message(
    make_client: Any, discord: FakeDiscordWebhooks
) -> None:
    client = await make_client(**relay_env(discord))
    body = alert()
    _, executed = await client.post(ORDER, body, wait=2.5)
    await client.post(ORDER, body, wait=2.5)  # duplicate
    await client.post(ORDER, alert(**{"long SL": 41000}))  # rejected at intake
    await client.post(ORDER, alert(passphrase="nope"))  # a stranger: not told to the channel
    await discord.wait_for(lambda: len(discord.embeds("logs")) >= 3)
    await asyncio.sleep(0.3)
    logs = [e["title"] for e in discord.embeds("logs")]
    assert sorted(logs) == sorted(
        ["✅ executed · BTCUSDT", "♻️ duplicate · BTCUSDT", "❌ rejected · BTCUSDT"]
    )
    executed_log = next(e for e in discord.embeds("logs") if e["title"].startswith("✅"))
    orders = executed_log["fields"][0]["value"]
    assert "`stop    ` sell stop 0.5 @ 39800 · open" in orders
    assert executed_log["footer"]["text"] == f"alert {executed['alert_id']}"
    (error,) = discord.embeds("errors")
    assert error["title"] == "❌ rejected · BTCUSDT"
    assert "long SL 41000 must be below the price 40000" in error["description"]
