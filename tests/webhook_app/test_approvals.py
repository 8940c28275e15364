"""Approving relayed study alerts: one decision per alert, edits recorded, expiry enforced."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.helpers import API_TOKEN, ORDER, PASSPHRASE, Client, alert
from tests.webhook_app.relay.test_study_relay import STUDY, study

BEARER = {"Authorization": f"Bearer {API_TOKEN}"}


async def relay(client: Client, **fields: Any) -> str:
    code, answer = await client.post(STUDY, study(**fields))
    assert code == 202, answer
    return answer["alert_id"]


def approval(alert_id: str, approver: str, **fields: Any) -> dict[str, Any]:
    body = study(**fields)
    body.update(alert_id=alert_id, approver=approver, passphrase=PASSPHRASE)
    return body


async def paper_orders(client: Client) -> int:
    return await client.core.paper.store.run(
        lambda conn: conn.execute("SELECT COUNT(*) FROM paper_orders").fetchone()[0]
    )


async def test_approval_executes_the_relayed_alert_under_its_own_id(client: Client) -> None:
    alert_id = await relay(client)
    code, answer = await client.post(ORDER, approval(alert_id, "alice (1)"), wait=2.5)
    assert (code, answer["status"], answer["alert_id"]) == (200, "executed", alert_id)
    decision = (answer["decision"], answer["decided_by"], answer["edits"])
    assert decision == ("approve", "alice (1)", {})
    assert await paper_orders(client) == 5


async def test_two_approvers_and_a_payload_at_once_give_one_order_set(client: Client) -> None:
    alert_id = await relay(client)
    results = await asyncio.gather(
        client.post(ORDER, approval(alert_id, "alice (1)"), wait=2.5),
        client.post(ORDER, approval(alert_id, "bob (2)"), wait=2.5),
        client.post(ORDER, approval(alert_id, "carol via !payload (3)"), wait=2.5),
    )
    statuses = sorted(a["status"] for _, a in results)
    assert statuses == ["duplicate", "duplicate", "executed"]
    winner = next(a for _, a in results if a["status"] == "executed")["decided_by"]
    for _, answer in results:
        if answer["status"] == "duplicate":
            assert answer["message"].startswith(f"already decided by {winner} at ")
    assert await paper_orders(client) == 5  # one order set in total


async def test_an_edited_approval_records_what_changed(client: Client) -> None:
    alert_id = await relay(client)
    edited = approval(alert_id, "alice (1)", **{"long SL": 39700, "risk": 0.5})
    code, answer = await client.post(ORDER, edited, wait=2.5)
    assert (code, answer["decision"]) == (200, "edit")
    assert answer["edits"] == {"risk_pct": [None, "0.5"], "stop_loss": ["39800", "39700"]}
    stop = next(o for o in answer["orders"] if o["role"] == "stop")
    assert stop["trigger_price"] == "39700"
    # 10,000 × 0.5 % / 300 = 0.1666… → 0.166666 (paper step 0.000001)
    assert stop["amount"] == "0.166666"


async def test_reject_marks_it_declined_and_approval_is_then_refused(client: Client) -> None:
    alert_id = await relay(client)
    code, answer = await client.post(
        f"/api/alerts/{alert_id}/reject", {"by": "bob (2)"}, headers=BEARER
    )
    assert (code, answer["status"], answer["decided_by"]) == (200, "declined", "bob (2)")
    code, answer = await client.post(ORDER, approval(alert_id, "alice (1)"), wait=2.5)
    assert (code, answer["status"]) == (200, "duplicate")
    assert "already decided by bob (2)" in answer["message"]
    code, answer = await client.post(f"/api/alerts/{alert_id}/reject", {"by": "x"}, headers=BEARER)
    assert (code, answer["status"]) == (409, "conflict")
    assert await paper_orders(client) == 0


async def test_approval_after_the_expiry_is_refused(make_client: Any) -> None:
    offset = [0.0]
    client = await make_client(clock=lambda: time.time() + offset[0])
    alert_id = await relay(client)
    offset[0] = 901  # APPROVAL_TTL is 900 s
    code, answer = await client.post(ORDER, approval(alert_id, "alice (1)"), wait=2.5)
    assert (code, answer["status"]) == (422, "expired")
    assert "approval window" in answer["message"] and "expired" in answer["message"]
    code, state = await client.get(f"/alerts/{alert_id}")
    assert state["status"] == "expired" and await paper_orders(client) == 0


async def test_plain_explicit_ids_are_not_approvals(client: Client) -> None:
    code, answer = await client.post(ORDER, alert(alert_id="my-own-id-1"), wait=2.5)
    assert (code, answer["status"]) == (200, "executed") and "decision" not in answer


async def test_an_approval_cannot_trade_another_ticker_or_side(client: Client) -> None:
    alert_id = await relay(client)
    code, answer = await client.post(ORDER, approval(alert_id, "eve (9)", ticker="ETHUSDT"))
    assert (code, answer["status"]) == (422, "rejected")
    assert "not its ticker" in answer["message"]
    code, answer = await client.post(
        ORDER, approval(alert_id, "eve (9)", action="sell", **{"short SL": 40200})
    )
    assert code == 422 and "not its side" in answer["message"]
    assert (await client.get(f"/alerts/{alert_id}"))[1]["status"] == "pending_approval"


async def test_a_late_approval_enters_at_the_market_not_the_relayed_price(client: Client) -> None:
    from decimal import Decimal

    alert_id = await relay(client, type="market")  # relayed at 40,000, stop 39,800
    await client.core.paper.feed_price("BTCUSDT", Decimal("39950"))  # minutes later
    code, answer = await client.post(
        ORDER, approval(alert_id, "alice (1)", type="market"), wait=2.5
    )
    assert (code, answer["status"]) == (200, "executed")
    entry = next(o for o in answer["orders"] if o["role"] == "entry")
    assert entry["average"] == "39950"  # the market, which the approval did not move back
    # sized from the live price: 100 at risk / (39,950 - 39,800) = 0.666666
    assert entry["amount"] == "0.666666"


async def test_an_approval_after_the_price_ran_past_half_the_risk_is_refused(
    client: Client,
) -> None:
    from decimal import Decimal

    alert_id = await relay(client, type="market")
    await client.core.paper.feed_price("BTCUSDT", Decimal("39880"))  # 120 of the 200 to the stop
    code, answer = await client.post(
        ORDER, approval(alert_id, "alice (1)", type="market"), wait=2.5
    )
    assert (code, answer["status"]) == (422, "rejected")
    assert (
        "moved from 40000 to 39880 since the alert, more than half-way to the stop"
        in answer["message"]
    )
