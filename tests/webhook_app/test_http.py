"""The execution route over HTTP: each status code, duplicates, restart and answers."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.helpers import ORDER, PASSPHRASE, Client, alert, fired, make_settings
from webhook_app.web.app import init_app


async def paper_orders(client: Client) -> list[dict[str, Any]]:
    rows = await client.core.paper.store.run(
        lambda conn: conn.execute("SELECT * FROM paper_orders ORDER BY timestamp").fetchall()
    )
    return [dict(r) for r in rows]


async def test_accepted_at_once_then_executed_on_get(client: Client) -> None:
    code, answer = await client.post(ORDER, alert())
    assert (code, answer["status"], answer["success"]) == (202, "accepted", True)
    alert_id = answer["alert_id"]
    await client.core.executor.queues.drain()
    code, state = await client.get(f"/alerts/{alert_id}")
    assert (code, state["status"]) == (200, "executed")
    roles = [o["role"] for o in state["orders"]]
    assert roles == ["stop", "entry", "tp", "tp1", "tp2"]
    assert all(o["client_id"].startswith(alert_id) for o in state["orders"])


async def test_wait_returns_the_executed_orders(client: Client) -> None:
    code, answer = await client.post(ORDER, alert(), wait=2.5)
    assert (code, answer["status"]) == (200, "executed")
    orders = {o["role"]: o for o in answer["orders"]}
    assert orders["entry"]["filled"] == "0.5" and orders["entry"]["status"] == "closed"
    assert orders["stop"]["trigger_price"] == "39800" and orders["stop"]["reduce_only"]
    assert orders["stop"]["status"] == "open"
    assert "entry long 0.5 BTCUSDT @ 40000" in answer["message"]


async def test_informational_message_is_ignored_and_recorded(client: Client) -> None:
    code, answer = await client.post(ORDER, alert(message="tp2", action="sell"))
    assert (code, answer["status"]) == (200, "ignored")
    code, state = await client.get(f"/alerts/{answer['alert_id']}")
    assert state["status"] == "ignored" and await paper_orders(client) == []


async def test_exchange_refusal_is_a_422_with_the_reason(client: Client) -> None:
    # The paper venue refuses a breakeven stop that is through the market; planning says why.
    await client.post(ORDER, alert(), wait=2.5)
    be = alert(message="tp1_breakeven", action="sell", price=40010)
    code, answer = await client.post(ORDER, be, wait=2.5)
    assert (code, answer["status"], answer["success"]) == (422, "rejected", False)
    assert "already through the market" in answer["message"]


async def test_unknown_alert_id_is_404(client: Client) -> None:
    code, answer = await client.get("/alerts/doesnotexist")
    assert (code, answer["status"]) == (404, "not_found")


async def test_health(client: Client) -> None:
    code, answer = await client.get("/health")
    assert (code, answer["status"]) == (200, "ok")
    assert answer["accounts"] == [{"name": "Testing", "exchange": "paper"}]


async def test_body_over_16_kib_is_413(client: Client) -> None:
    body = alert(comment="x" * 100)
    text = json.dumps(body) + " " * (16 * 1024)
    code, answer = await client.post(ORDER, text)
    assert (code, answer["status"]) == (413, "too_large")


async def test_wait_out_of_range_is_400(client: Client) -> None:
    code, answer = await client.post(ORDER, alert(), wait=9)
    assert (code, answer["status"]) == (400, "malformed")
    assert "wait" in answer["message"]


async def test_wrong_missing_null_and_malformed_passphrases_get_one_answer(client: Client) -> None:
    answers = []
    for value in ("wrong", None, 12345, ["x"], "", PASSPHRASE + " "):
        body = alert(passphrase=value) if value is not None else alert(passphrase=None)
        if value is None:
            body["passphrase"] = None  # an explicit JSON null
        answers.append(await client.post(ORDER, body))
    missing = alert(passphrase=None)
    answers.append(await client.post(ORDER, missing))
    assert all(a == answers[0] for a in answers)
    code, body = answers[0]
    assert (code, body["status"]) == (401, "unauthorized")
    assert await paper_orders(client) == []


async def test_unauthenticated_sender_learns_nothing_about_validation(client: Client) -> None:
    code, body = await client.post(ORDER, alert(passphrase="nope", price="abc"))
    assert (code, body["status"]) == (401, "unauthorized")


async def test_same_alert_five_times_at_once_places_one_set_of_orders(client: Client) -> None:
    body = alert()
    results = await asyncio.gather(*(client.post(ORDER, body, wait=2.5) for _ in range(5)))
    statuses = sorted(answer["status"] for _, answer in results)
    assert statuses == ["duplicate"] * 4 + ["executed"]
    assert {answer["alert_id"] for _, answer in results} == {results[0][1]["alert_id"]}
    orders = await paper_orders(client)
    assert len(orders) == 5  # stop, entry, final TP, TP1, TP2 — once
    duplicate = next(a for _, a in results if a["status"] == "duplicate")
    assert (
        duplicate["first_status"] == "executed" and "nothing placed again" in duplicate["message"]
    )
    assert len(duplicate["orders"]) == 5


async def test_explicit_id_wins_over_content(client: Client) -> None:
    first = await client.post(ORDER, alert(id="abc-1"), wait=2.5)
    second = await client.post(ORDER, alert(id="abc-1", price=40001), wait=2.5)
    assert first[1]["status"] == "executed" and second[1]["status"] == "duplicate"


async def test_a_new_fire_time_is_a_new_alert(client: Client) -> None:
    a = await client.post(ORDER, alert(), wait=2.5)
    b = await client.post(ORDER, alert(time=fired(5)), wait=2.5)
    assert (a[1]["status"], b[1]["status"]) == ("executed", "executed")
    assert a[1]["alert_id"] != b[1]["alert_id"]


async def test_alerts_of_one_symbol_run_in_arrival_order(client: Client) -> None:
    entry = client.post(ORDER, alert())
    exit_ = client.post(ORDER, alert(message="exit", action="sell", price=40100))
    (_, first), (_, second) = await asyncio.gather(entry, exit_)
    await client.core.executor.queues.drain()
    exit_state = (await client.get(f"/alerts/{second['alert_id']}"))[1]
    assert exit_state["status"] == "executed"
    assert "closed 0.5 BTCUSDT" in exit_state["message"]  # the exit saw the entry's position
    positions = await client.core.venues.get("Testing").exchange.fetch_positions()
    assert positions == []


async def test_entry_replaces_an_existing_position(client: Client) -> None:
    await client.post(ORDER, alert(), wait=2.5)
    short = alert(action="sell", price=40100, time=fired(3))
    code, answer = await client.post(ORDER, short, wait=2.5)
    assert (code, answer["status"]) == (200, "executed")
    exchange = client.core.venues.get("Testing").exchange
    (position,) = await exchange.fetch_positions()
    assert position.size < 0
    open_orders = await exchange.fetch_open_orders("BTCUSDT")
    assert {o.client_id[:16] for o in open_orders} == {answer["alert_id"]}  # old protection gone


async def test_restart_keeps_journal_and_paper_state_and_repeats_nothing(
    make_client: Any, tmp_path: Path, aiohttp_client: Any
) -> None:
    settings = make_settings(tmp_path / "data")
    first = await make_client(settings)
    body = alert()  # the same delivery, before and after the restart
    _, entry = await first.post(ORDER, body, wait=2.5)
    _, exit_ = await first.post(ORDER, alert(message="tp2", action="sell"), wait=2.5)
    before = await paper_orders(first)
    await first.http.close()  # runs cleanup: journal and paper closed

    second = Client(await aiohttp_client(init_app(settings)))
    code, state = await second.get(f"/alerts/{entry['alert_id']}")
    assert (code, state["status"]) == (200, "executed")
    assert await paper_orders(second) == before
    exchange = second.core.venues.get("Testing").exchange
    (position,) = await exchange.fetch_positions()
    assert position.size == Decimal("0.5")
    assert len(await exchange.fetch_open_orders()) == 4  # stop + 3 TPs survived
    _, again = await second.post(ORDER, body, wait=2.5)
    assert again["status"] == "duplicate" and again["alert_id"] == entry["alert_id"]
    assert await paper_orders(second) == before
    assert exit_["status"] == "ignored"
