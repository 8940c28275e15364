"""The event stream: paper fills told in order, management on events, Discord lines, the
websocket with replay, and venues that repeat or reorder themselves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord_webhooks import FakeDiscordWebhooks
from tests.helpers import API_TOKEN, ORDER, alert, fired
from webhook_app.events import CLOSED, FILL, POSITION, StreamEvent
from webhook_app.events import ORDER as ORDER_EVENT

ACCOUNTS = """
default = "Main"
[accounts.Main]
exchange = "paper"
auto_breakeven = true
cleanup_on_close = true
"""


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscordWebhooks]:
    fake = await FakeDiscordWebhooks(limit=50, period_s=1.0).start()
    yield fake
    await fake.close()


async def start(make_client: Any, tmp_path: Path, discord: FakeDiscordWebhooks, **env: str) -> Any:
    (tmp_path / "accounts.toml").write_text(ACCOUNTS)
    return await make_client(
        ACCOUNTS_FILE=str(tmp_path / "accounts.toml"), DISCORD_LOGS_URL=discord.url("logs"), **env
    )


def entry() -> dict[str, Any]:
    """Long 0.5 BTCUSDT at 40,000: SL 39,800, TP1 40,200 (25 %), TP2 40,300 (25 %), TP 41,000."""
    return alert(subaccount="Main", **{"tp Close": 25, "tp1 Mult": 1, "tp2 Mult": 1.5})


async def settle(client: Any) -> None:
    """Let management's alerts (queued on the symbol) and the Discord lines finish."""
    for _ in range(3):
        await asyncio.sleep(0.05)
        await client.core.executor.queues.drain()
        await client.core.management.close()
        await client.core.messenger.close()


def collect(client: Any) -> list[StreamEvent]:
    seen: list[StreamEvent] = []
    client.core.events.listeners.append(seen.append)
    return seen


async def test_a_trade_is_told_fill_by_fill_and_managed(
    make_client: Any, tmp_path: Path, discord: FakeDiscordWebhooks
) -> None:
    client = await start(make_client, tmp_path, discord)
    events = collect(client)
    status, answer = await client.post(ORDER, entry(), wait=2.5)
    assert answer["status"] == "executed", answer
    aid = answer["alert_id"]
    paper = client.core.paper
    await paper.feed_price("BTCUSDT", Decimal(40200))  # TP1
    await settle(client)
    await paper.feed_price("BTCUSDT", Decimal(40300))  # TP2
    await settle(client)
    await paper.feed_price("BTCUSDT", Decimal(39990))  # back through the entry: breakeven stop
    await settle(client)

    fills = [(e.data["role"], e.data["qty"]) for e in events if e.topic == FILL]
    assert fills == [("entry", "0.5"), ("tp1", "0.125"), ("tp2", "0.125"), ("be_stop", "0.25")]
    assert [e.id for e in events] == sorted(e.id for e in events), "numbered in order"
    moves = [e for e in events if e.topic == ORDER_EVENT and e.data["role"] in ("stop", "be_stop")]
    assert [(e.data["role"], e.data["event"]) for e in moves] == [
        ("stop", "placed"),
        ("be_stop", "placed"),  # TP1 filled: the stop went to breakeven at once…
        ("stop", "cancelled"),  # …and the old one was cancelled once the new one was in
        ("be_stop", "closed"),
    ]
    [closed] = [e for e in events if e.topic == CLOSED]
    assert closed.alert_id == aid and closed.data["side"] == "long"
    pnl = Decimal(closed.data["realized_pnl"])
    # 0.125 × 200 + 0.125 × 300 − 0.25 × 10 (the stop fills at 39,990: the price jumped there)
    # less 20 USDT of fees
    assert Decimal(35) < pnl < Decimal(45)
    assert client.core.venues.get("Main").book.open_orders("BTCUSDT") == (), "nothing left"
    rows = await client.core.journal.query("SELECT COUNT(*) AS n FROM events")
    assert rows[0]["n"] == client.core.events.last_id

    await discord.wait_for(
        lambda: any("Closed long" in str(r.payload) for r in discord.delivered("logs"))
    )
    lines = [
        e["description"]
        for r in discord.delivered("logs")
        for e in r.embeds
        if "description" in e and "alert" not in e.get("title", "")
    ]
    assert "TP1 filled 0.125 BTCUSDT @ 40200" in lines
    assert "stop moved to 40000 on BTCUSDT" in lines
    assert "TP2 filled 0.125 BTCUSDT @ 40300" in lines
    assert "Breakeven stop filled 0.25 BTCUSDT @ 39990" in lines
    close_line = next(line for line in lines if line.startswith("Closed long BTCUSDT"))
    assert " R, +" in close_line and close_line.endswith(" USDT")


async def test_management_is_off_by_default(make_client: Any) -> None:
    client = await make_client()
    events = collect(client)
    await client.post(ORDER, alert(**{"tp Close": 25, "tp1 Mult": 1}), wait=2.5)
    await client.core.paper.feed_price("BTCUSDT", Decimal(40200))
    await settle(client)
    assert [e.data["role"] for e in events if e.topic == FILL] == ["entry", "tp1"]
    assert not [e for e in events if e.topic == ORDER_EVENT and e.data["role"] == "be_stop"]


async def test_the_websocket_replays_what_a_client_missed(make_client: Any) -> None:
    client = await make_client()
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    received: list[dict[str, Any]] = []
    async with client.http.ws_connect("/api/stream", headers=headers) as ws:
        await client.post(ORDER, alert(), wait=2.5)
        while not any(m["type"] == "alert" for m in received):
            received.append(await ws.receive_json(timeout=5))
    last = received[-1]["id"]
    # While disconnected: the position moves and closes.
    await client.post(ORDER, alert(message="exit", action="sell", time=fired(1)), wait=2.5)
    await settle(client)
    async with client.http.ws_connect(f"/api/stream?since={last}", headers=headers) as ws:
        await client.post(ORDER, alert(time=fired(2)), wait=2.5)  # live, after the replay
        while not (
            received
            and received[-1]["type"] == "alert"
            and received[-1]["id"] > last
            and received.count(received[-1]) == 1
            and _entries(received) == 2
        ):
            received.append(await ws.receive_json(timeout=5))
    ids = [m["id"] for m in received]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "every event, once, in order"
    topics = {m["type"] for m in received}
    assert {"order_update", "fill_update", "position_update", "position_closed", "alert"} <= topics
    sample = next(m for m in received if m["type"] == "fill_update")["data"]
    assert {"venue", "sym", "side", "qty", "price", "order_id", "time"} <= set(sample)


def _entries(messages: list[dict[str, Any]]) -> int:
    return sum(1 for m in messages if m["type"] == "fill_update" and m["data"]["role"] == "entry")


async def test_the_stream_needs_the_token(make_client: Any) -> None:
    client = await make_client()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.http.ws_connect("/api/stream")
    assert refused.value.status == 401
    status, answer = await client.get(
        "/api/stream?since=abc", headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    assert status == 400 and "since" in answer["message"]


def test_messages_are_valid_json() -> None:
    event = StreamEvent(7, POSITION, "Main", "BTCUSDT", {"size": "0.5"}, 1.0, "a" * 16)
    assert json.loads(json.dumps(event.message()))["data"]["alert_id"] == "a" * 16


async def test_in_a_forum_each_alert_is_a_post_and_its_events_go_into_it(
    make_client: Any, tmp_path: Path, discord: FakeDiscordWebhooks
) -> None:
    discord.forum("logs")  # refuses what a forum refuses
    client = await start(make_client, tmp_path, discord, DISCORD_LOGS_FORUM="true")
    status, answer = await client.post(ORDER, entry(), wait=2.5)
    aid = answer["alert_id"]
    await discord.wait_for(
        lambda: any(r.payload.get("thread_name") for r in discord.delivered("logs"))
    )
    [post] = [r for r in discord.delivered("logs") if r.payload.get("thread_name")]
    assert post.payload["thread_name"] == f"BTCUSDT · {aid}"
    await client.core.paper.feed_price("BTCUSDT", Decimal(40200))
    await settle(client)
    await discord.wait_for(
        lambda: any("TP1 filled" in str(r.payload) for r in discord.delivered("logs"))
    )
    [line] = [r for r in discord.delivered("logs") if "TP1 filled" in str(r.payload)]
    assert line.thread_id == f"thread-{post.message_id}", "into the alert's own post"


def test_the_tracker_forgets_only_its_oldest_finished_orders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory stays flat: past the cap, the oldest finished orders are forgotten; open ones and
    recent finished ones are kept, so their repeated news is still dropped."""
    from webhook_app.events import EventTracker
    from webhook_app.exchanges.base import ExchangeEvent, Order
    from webhook_app.models import OrderType, Side

    monkeypatch.setattr("webhook_app.events.FINAL_KEPT", 3)
    tracker = EventTracker("Testing")

    def news(i: int, status: str) -> list[Any]:
        order = Order(f"o{i}", f"c{i}", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal(1), status)
        return tracker.translate(ExchangeEvent(kind="order", symbol="BTCUSDT", order=order))

    news(0, "open")  # stays open throughout
    for i in range(1, 6):
        news(i, "open")
        news(i, "canceled")
    assert sorted(tracker.orders) == ["o0", "o3", "o4", "o5"]
    assert news(5, "canceled") == []  # recent news repeated: dropped


async def test_in_a_forum_no_line_is_refused_for_want_of_a_post(
    make_client: Any, tmp_path: Path, discord: FakeDiscordWebhooks
) -> None:
    """Discord refuses a forum message that neither opens a post nor goes into one. The stop
    moved by management (auto-breakeven) belongs to an alert whose post is not written yet when
    the stop moves: the line waits for it. A note of no alert opens a post of its own."""
    discord.forum("logs")
    client = await start(make_client, tmp_path, discord, DISCORD_LOGS_FORUM="true")
    await client.post(ORDER, entry(), wait=2.5)
    await client.core.paper.feed_price("BTCUSDT", Decimal(40200))  # TP1: the stop moves
    await settle(client)
    client.core.notifier.note("a line an alert asked to log", "Main")

    def delivered(start: str) -> list[Any]:
        return [
            r
            for r in discord.delivered("logs")
            if any(e.get("description", "").startswith(start) for e in r.embeds)
        ]

    await discord.wait_for(lambda: bool(delivered("stop moved")) and bool(delivered("a line")))
    [moved] = delivered("stop moved")
    posts = {
        f"thread-{r.message_id}": r.payload["thread_name"]
        for r in discord.delivered("logs")
        if r.payload.get("thread_name")
    }
    [managed] = await client.core.journal.query("SELECT id FROM alerts WHERE source='management'")
    assert posts.get(moved.thread_id, "").endswith(managed["id"]), "into its alert's post"
    [note] = delivered("a line")
    assert note.payload["thread_name"] == "📝 Main"
    assert [r for r in discord.received if r.status == 400] == [], "nothing refused"
