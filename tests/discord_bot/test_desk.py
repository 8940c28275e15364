"""The desk end to end: Discord (simcord) → the bot → real HTTP → webhook_app → paper orders."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import simcord

from discord_bot.bot import DeskBot
from tests.discord_bot.conftest import App, Desk, bot_config
from tests.helpers import PASSPHRASE, fired


def buttons(message: Any) -> dict[str, bool]:
    """label → disabled, for every button on a message."""
    return {b.label: b.disabled for row in message.components for b in row.children}


async def test_relayed_alert_gets_buttons_and_approve_places_one_order(desk: Desk) -> None:
    relayed = await desk.app.relay()
    await desk.deliver(relayed)
    panel = desk.approval_message()
    alert_id = re.search(r"alert `(\w+)`", panel.content).group(1)  # type: ignore[union-attr]
    assert buttons(panel) == {"Approve": False, "Edit": False, "Reject": False}

    started = time.time()
    result = await desk.alice.click(panel, label="Approve")
    assert result.acknowledged
    orders = desk.app.paper_orders()
    assert {o["client_id"][:16] for o in orders} == {alert_id} and len(orders) == 5
    entry = next(o for o in orders if o["client_id"].endswith("en"))
    print(
        f"\nclick → paper entry accepted: {(entry['timestamp'] / 1000 - started) * 1000:.1f} ms "
        "(PAPER_LATENCY_MS=50)"
    )
    panel = desk.approval_message()
    assert panel.content.startswith(f"Approved by {desk.alice.mention} <t:")
    assert "✅ entry long 0.5 BTCUSDT @ 40000" in panel.content
    assert buttons(panel) == {"Approve": True, "Edit": True, "Reject": True}


async def test_two_approvers_at_once_and_a_payload_give_one_order(desk: Desk) -> None:
    relayed = await desk.app.relay()
    await desk.deliver(relayed)
    panel = desk.approval_message()
    gate = asyncio.Event()
    order = desk.bot.app.order
    calls = 0

    async def parked_order(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # alice's click waits here, mid-flight, while bob clicks
            await desk.env.external_wait(gate.wait(), reason="alice's request in flight")
        return await order(*args, **kwargs)

    desk.bot.app.order = parked_order  # type: ignore[method-assign]
    await desk.alice.click(panel, label="Approve")
    bob = await desk.bob.click(panel, label="Approve")  # the buttons are still live
    gate.set()
    await desk.env.settle()
    line = re.search(r"(!payload .*)\n", relayed["embeds"][0]["description"]).group(1)  # type: ignore[union-attr]
    await desk.alice.send(desk.desk, line)  # and someone pastes the !payload line too

    assert len(desk.app.paper_orders()) == 5  # one order set in total
    assert bob.acknowledged
    panel = desk.approval_message()
    assert panel.content.startswith(f"Approved by {desk.bob.mention}")
    alice_sees = [m.content for m in desk.desk.history(viewer=desk.alice)]
    assert any("already decided by bob" in text for text in alice_sees)
    assert "♻️ already decided by bob" in desk.desk.last_message.content


async def test_non_approvers_dms_and_other_channels_are_refused(desk: Desk) -> None:
    relayed = await desk.app.relay()
    await desk.deliver(relayed)
    result = await desk.mallory.click(desk.approval_message(), label="Approve")
    assert result.ephemeral and result.response.content == "Only approvers can do that."
    payload = (
        '!payload {"ticker": "BTCUSDT", "action": "buy", "message": "entry", '
        '"price": 40000, "long SL": 39800}'
    )
    await desk.mallory.send(desk.desk, payload)
    assert desk.desk.last_message.content == "Only approvers can do that."
    await desk.alice.send(desk.other, payload)
    assert "only take orders in the trading desk channels" in desk.other.last_message.content
    await desk.alice.send_dm(payload)
    dm = desk.alice.user.dm_channel.history()[-1]
    assert "never in DMs" in dm.content
    assert desk.app.paper_orders() == []


async def test_edit_through_the_modal_changes_the_stop(desk: Desk) -> None:
    relayed = await desk.app.relay()
    await desk.deliver(relayed)
    shown = await desk.alice.click(desk.approval_message(), label="Edit")
    fields = {
        c["components"][0]["custom_id"]: c["components"][0].get("value")
        for c in shown.modal["components"]
    }
    assert fields == {"type": "limit", "price": "40000", "SL": "39800", "TP": "41000", "risk": None}
    await desk.alice.submit_modal(
        shown, {"type": "market", "price": "40000", "SL": "39700", "TP": "41000", "risk": "0.5"}
    )
    stop = next(o for o in desk.app.paper_orders() if o["client_id"].endswith("sl"))
    assert stop["trigger_price"] == "39700" and stop["amount"] == "0.166666"  # 50 / 300
    edited = desk.approval_message().content
    assert edited.startswith(f"Edited and approved by {desk.alice.mention}")


async def test_reject_places_nothing(desk: Desk) -> None:
    relayed = await desk.app.relay()
    await desk.deliver(relayed)
    await desk.bob.click(desk.approval_message(), label="Reject")
    panel = desk.approval_message()
    assert panel.content.startswith(f"Rejected by {desk.bob.mention}")
    assert "🚫 rejected by bob" in panel.content and buttons(panel)["Approve"]
    assert desk.app.paper_orders() == []


async def test_expiry_disables_the_buttons_and_the_app_refuses(desk: Desk) -> None:
    relayed = await desk.app.relay()
    await desk.deliver(relayed)
    desk.app.offset[0] = 901  # the app's clock passes the 15-minute window...
    await desk.env.advance_time(901)  # ...and so does Discord's
    panel = desk.approval_message()
    assert buttons(panel) == {"Approve": True, "Edit": True, "Reject": True}
    assert "Approval window closed" in panel.content
    line = re.search(r"(!payload .*)\n", relayed["embeds"][0]["description"]).group(1)  # type: ignore[union-attr]
    await desk.alice.send(desk.desk, line)
    assert "has expired: nothing was placed" in desk.desk.last_message.content
    assert desk.app.paper_orders() == []


async def test_old_buttons_still_work_after_a_restart(desk: Desk) -> None:
    relayed = await desk.app.relay()
    await desk.deliver(relayed)
    old_panel = desk.approval_message()
    config = desk.bot.config
    await desk.bot.app.close()
    desk.bot = DeskBot(replace(config))
    await desk.env.restart_bot(desk.bot)
    result = await desk.alice.click(old_panel, label="Approve")
    assert result.acknowledged
    assert len(desk.app.paper_orders()) == 5
    assert desk.approval_message().content.startswith(f"Approved by {desk.alice.mention}")


async def test_payload_answers_bad_json_missing_fields_and_leaked_passphrases(desk: Desk) -> None:
    await desk.alice.send(desk.desk, '!payload {"ticker": "BTCUSDT",, }')
    assert desk.desk.last_message.content == (
        "❌ Invalid JSON at line 1, column 22: Expecting property name enclosed in double quotes."
    )
    await desk.alice.send(
        desk.desk,
        '!payload {"ticker": "BTCUSDT", "action": "buy", "message": "entry", "price": 40000}',
    )
    assert desk.desk.last_message.content == "❌ Field 'long SL' is required for a buy entry."
    body = {
        "ticker": "BTCUSDT",
        "action": "buy",
        "message": "entry",
        "price": 40000,
        "long SL": 39800,
        "long TP": 41000,
        "passphrase": PASSPHRASE,
    }
    sent = await desk.alice.send(desk.desk, "!payload " + json.dumps(body))
    history = desk.desk.history()
    assert sent.id not in [m.id for m in history]  # deleted
    texts = [m.content for m in history]
    assert any("I deleted your message: it contained the webhook passphrase" in t for t in texts)
    assert any(t.startswith(f"{desk.alice.mention} ✅ entry long 0.5 BTCUSDT") for t in texts)
    assert all(PASSPHRASE not in t for t in texts)


async def test_payload_replies_processing_then_the_outcome(desk: Desk) -> None:
    body = {
        "ticker": "BTCUSDT",
        "action": "buy",
        "message": "entry",
        "price": 40000,
        "long SL": 39800,
        "long TP": 41000,
    }
    await desk.alice.send(desk.desk, "!payload " + json.dumps(body))
    reply = desk.desk.last_message
    edits = [
        e.json.get("content")
        for e in desk.env.http_requests
        if e.method in ("POST", "PATCH") and e.json and "content" in e.json
    ]
    assert "Payload received, now processing…" in edits
    assert reply.content.startswith("✅ entry long 0.5 BTCUSDT @ 40000")
    assert "stop     sell stop" in reply.content  # the orders, in a code block


async def test_halt_refuses_new_entries_and_resume_allows_them(desk: Desk) -> None:
    entry = {
        "ticker": "BTCUSDT",
        "action": "buy",
        "message": "entry",
        "price": 40000,
        "long SL": 39800,
        "long TP": 41000,
    }
    await desk.alice.send(desk.desk, "!halt")
    assert desk.desk.last_message.content.startswith("⛔ trading is reducing for all accounts")
    await desk.alice.send(desk.desk, "!payload " + json.dumps(entry))
    assert desk.desk.last_message.content.startswith("⛔ trading is reducing for account Testing")
    assert desk.app.paper_orders() == []
    await desk.mallory.send(desk.desk, "!resume")
    assert desk.desk.last_message.content == "Only approvers can do that."
    await desk.alice.send(desk.desk, "!resume")
    assert desk.desk.last_message.content.startswith("▶️ trading is active")
    again = {**entry, "time": fired(1)}
    await desk.alice.send(desk.desk, "!payload " + json.dumps(again))
    assert desk.desk.last_message.content.startswith("✅ entry long")


async def test_account_commands_show_tables(desk: Desk) -> None:
    entry = {
        "ticker": "BTCUSDT",
        "action": "buy",
        "message": "entry",
        "price": 40000,
        "long SL": 39800,
        "long TP": 41000,
    }
    await desk.alice.send(desk.desk, "!payload " + json.dumps(entry))
    await desk.mallory.send(desk.desk, "!positions")  # reading needs no approver role
    text = desk.desk.last_message.content
    assert text.startswith("**Positions** · Testing\n```") and "BTCUSDT  Buy   0.5" in text
    await desk.alice.send(desk.desk, "!balance")
    assert "USDT   9,990" in desk.desk.last_message.content
    await desk.alice.send(desk.desk, "!orders")
    assert desk.desk.last_message.content.count("BTCUSDT") == 2  # stop and take-profit
    result = await desk.alice.slash(desk.desk, "positions")
    assert "BTCUSDT" in result.response.content


async def test_slash_payload_opens_a_modal(desk: Desk) -> None:
    shown = await desk.alice.slash(desk.desk, "payload")
    body = {
        "ticker": "BTCUSDT",
        "action": "buy",
        "message": "entry",
        "price": 40000,
        "long SL": 39800,
        "long TP": 41000,
    }
    result = await desk.alice.submit_modal(shown, {"payload": json.dumps(body)})
    assert result.response.content.startswith("✅ entry long 0.5 BTCUSDT")
    refused = await desk.mallory.slash(desk.desk, "payload")
    assert refused.ephemeral and refused.response.content == "Only approvers can do that."


def test_bot_config_requires_channels_and_approvers() -> None:
    import pytest

    from discord_bot.config import load_bot_config
    from webhook_app.errors import ConfigError

    base = {
        "DISCORD_TOKEN": "tok-Zx81",
        "WEBHOOK_PASSPHRASE": "p",
        "DISCORD_CHANNEL_IDS": "1,2",
        "DISCORD_APPROVER_ROLE_IDS": "3",
        "WEBHOOK_URL": "http://h:1/tradingview-to-webhook-order",
    }
    config = load_bot_config(base, env_file=None)
    assert config.channel_ids == {1, 2} and config.app_url == "http://h:1"
    assert "tok-Zx81" not in repr(config)
    for missing, message in (
        ("DISCORD_TOKEN", "DISCORD_TOKEN is required"),
        ("DISCORD_CHANNEL_IDS", "DISCORD_CHANNEL_IDS is required"),
        ("DISCORD_APPROVER_ROLE_IDS", "nobody could approve"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_bot_config({**base, missing: ""}, env_file=None)
    with pytest.raises(ConfigError, match="comma-separated Discord ids"):
        load_bot_config({**base, "DISCORD_CHANNEL_IDS": "desk"}, env_file=None)
    assert bot_config("http://x", channel_ids=frozenset({1})).wait_s == 2.5
    assert simcord.__name__ == "simcord"


async def test_a_refused_approval_keeps_the_buttons_live(desk: Desk) -> None:
    relayed = await desk.app.relay()
    await desk.deliver(relayed)
    await desk.alice.send(desk.desk, "!halt")
    result = await desk.alice.click(desk.approval_message(), label="Approve")
    refusal = [m.content for m in desk.desk.history(viewer=desk.alice) if m.flags.ephemeral]
    assert any("trading is reducing" in text for text in refusal)
    assert result.acknowledged
    panel = desk.approval_message()
    assert buttons(panel)["Approve"] is False  # still to be decided
    await desk.alice.send(desk.desk, "!resume")
    await desk.bob.click(desk.approval_message(), label="Approve")
    assert len(desk.app.paper_orders()) == 5
    assert desk.approval_message().content.startswith(f"Approved by {desk.bob.mention}")


async def test_a_batched_relay_gets_one_panel_per_alert(desk: Desk) -> None:
    first = await desk.app.relay()
    second = await desk.app.relay(comment="another setup")
    batched = {"embeds": first["embeds"] + second["embeds"]}  # a backlog, ten to a message
    await desk.deliver(batched)
    panels = [m for m in desk.desk.history() if m.components]
    ids = [re.search(r"alert `(\w+)`", m.content).group(1) for m in panels]  # type: ignore[union-attr]
    assert len(ids) == 2 and ids[0] != ids[1]
    await desk.alice.click(panels[1], label="Approve")
    orders = desk.app.paper_orders()
    assert {o["client_id"][:16] for o in orders} == {ids[1]}


async def test_chart_command_sends_the_picture(desk: Desk, app: App) -> None:
    now_ms = time.time() * 1000
    for hours_ago in range(30, 0, -1):
        price = Decimal(40000 + 20 * (hours_ago % 7))
        await app.core.paper.feed_price("BTCUSDT", price, time_ms=now_ms - hours_ago * 3_600_000)
    await desk.mallory.send(desk.desk, "!chart BTCUSDT 1h")  # reading needs no approver role
    reply = desk.desk.last_message
    assert reply.content == "**BTCUSDT** 1h"
    [picture] = reply.attachments
    assert picture.filename == "BTCUSDT.png" and (await picture.read())[:4] == b"\x89PNG"
    result = await desk.alice.slash(desk.desk, "chart", symbol="BTCUSDT")
    assert result.response.attachments[0].filename == "BTCUSDT.png"
    await desk.alice.send(desk.desk, "!chart DOGEUSDT")
    assert "no candles for DOGEUSDT 1h yet" in desk.desk.last_message.content
