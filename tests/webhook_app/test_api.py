"""The account API: bearer auth, seed 004's envelope, and the kill switch."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import API_TOKEN, ORDER, Client, alert, fired

BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
ROUTES = [
    ("GET", "/api/balances"),
    ("GET", "/api/positions"),
    ("GET", "/api/orders"),
    ("GET", "/api/state"),
    ("POST", "/api/halt"),
    ("POST", "/api/resume"),
    ("POST", "/api/alerts/x/reject"),
    ("GET", "/api/candles"),
    ("POST", "/api/cancel_order"),
    ("POST", "/api/amend_order"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Token {API_TOKEN}", "Bearer "])
async def test_every_route_refuses_without_the_token(
    client: Client, method: str, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else None
    response = await client.http.request(method, path, headers=headers)
    assert response.status == 401
    assert await response.json() == {
        "success": False,
        "status": "unauthorized",
        "message": "invalid or missing credentials",
    }


async def test_api_is_closed_when_no_token_is_set(make_client: Any) -> None:
    client = await make_client(API_TOKEN="")
    code, _ = await client.get("/api/balances", headers={"Authorization": "Bearer "})
    assert code == 401


def assert_envelope(body: dict[str, Any]) -> None:
    assert {"src", "venue", "data", "error", "rate_limits"} <= set(body)
    assert body["error"] is None and body["rate_limits"] == {"remaining": None, "reset": None}


async def test_balances_positions_and_orders_in_seed_004_shape(client: Client) -> None:
    await client.post(ORDER, alert(), wait=2.5)
    code, body = await client.get("/api/balances", headers=BEARER)
    assert_envelope(body)
    assert (code, body["src"], body["venue"]) == (200, "paper", "Testing")
    (usdt,) = body["data"]
    assert usdt["asset"] == "USDT" and usdt["amount"] == 9990.0  # 10,000 − 10 taker fee
    _, body = await client.get("/api/positions?venue=Testing", headers=BEARER)
    assert body["data"] == [
        {
            "sym": "BTCUSDT",
            "side": "Buy",
            "entry_price": 40000.0,
            "liq_price": None,
            "pos_size": 0.5,
            "unrealized_pnl": 0.0,
            "time": 0,
        }
    ]
    _, body = await client.get("/api/orders", headers=BEARER)
    stop = next(o for o in body["data"] if o["order_type"] == "STOP")
    assert {k: stop[k] for k in ("sym", "side", "order_price", "order_size", "remain_size")} == {
        "sym": "BTCUSDT",
        "side": "Sell",
        "order_price": 39800.0,
        "order_size": 0.5,
        "remain_size": 0.5,
    }
    assert stop["reduce_only"] and stop["order_id"].startswith("P")


async def test_unknown_venue_is_422(client: Client) -> None:
    code, body = await client.get("/api/balances?venue=Nope", headers=BEARER)
    assert (code, body["status"]) == (422, "rejected")
    assert "unknown subaccount 'Nope'" in body["message"]


async def test_halt_refuses_new_orders_but_not_closes_then_resume(client: Client) -> None:
    await client.post(ORDER, alert(), wait=2.5)
    code, body = await client.post("/api/halt", {"by": "alice (1)"}, headers=BEARER)
    assert code == 200 and body["data"] == {"venue": "*", "mode": "reducing"}
    code, answer = await client.post(ORDER, alert(time=fired(2)), wait=2.5)
    assert (code, answer["status"]) == (503, "halted")
    assert "trading is reducing for account Testing by alice (1)" in answer["message"]
    code, answer = await client.post(ORDER, alert(message="exit", action="sell"), wait=2.5)
    assert (code, answer["status"]) == (200, "executed")  # closes still go through
    _, state = await client.get("/api/state", headers=BEARER)
    assert state["data"][0]["mode"] == "reducing"
    code, body = await client.post("/api/resume", {"by": "alice (1)"}, headers=BEARER)
    assert code == 200 and body["data"]["mode"] == "active"
    code, answer = await client.post(ORDER, alert(time=fired(4)), wait=2.5)
    assert (code, answer["status"]) == (200, "executed")


async def test_full_halt_refuses_closes_too(client: Client) -> None:
    await client.post(ORDER, alert(), wait=2.5)
    await client.post(
        "/api/halt", {"by": "ops", "mode": "halted", "venue": "Testing"}, headers=BEARER
    )
    code, answer = await client.post(ORDER, alert(message="exit", action="sell"), wait=2.5)
    assert (code, answer["status"]) == (503, "halted")


async def test_halt_and_resume_take_the_account_from_the_query_too(client: Client) -> None:
    """Like every other /api route: ?venue= names one account, never all of them."""
    code, body = await client.post("/api/halt?venue=Testing", {"by": "ops"}, headers=BEARER)
    assert (code, body["data"]["venue"]) == (200, "Testing")
    code, body = await client.post("/api/resume?venue=Testing", {"by": "ops"}, headers=BEARER)
    assert (code, body["data"]["venue"]) == (200, "Testing")


async def test_halt_survives_a_restart(make_client: Any, tmp_path: Any) -> None:
    from tests.helpers import make_settings

    settings = make_settings(tmp_path / "data")
    first = await make_client(settings)
    await first.post("/api/halt", {"by": "ops"}, headers=BEARER)
    await first.http.close()
    second = await make_client(settings)
    code, answer = await second.post(ORDER, alert(), wait=2.5)
    assert (code, answer["status"]) == (503, "halted")


async def test_halt_needs_who(client: Client) -> None:
    code, body = await client.post("/api/halt", {}, headers=BEARER)
    assert (code, body["status"]) == (400, "malformed") and "'by'" in body["message"]


async def test_candles_from_the_paper_price_feed(client: Client) -> None:
    from decimal import Decimal as D

    paper = client.core.paper
    hour = 3_600_000
    for minute, price in enumerate(("100", "105", "95", "102", "110", "108")):
        await paper.feed_price("ETHUSDT", D(price), time_ms=hour * 10 + minute * 20 * 60_000)
    code, body = await client.get("/api/candles?symbol=ETHUSDT&level=1h", headers=BEARER)
    assert_envelope(body)
    # minutes 0, 20, 40 fall in hour 10; 60, 80, 100 in hour 11
    assert body["data"] == [
        {
            "open": 100.0,
            "high": 105.0,
            "low": 95.0,
            "close": 95.0,
            "volume": 0.0,
            "time": hour * 10,
        },
        {
            "open": 102.0,
            "high": 110.0,
            "low": 102.0,
            "close": 108.0,
            "volume": 0.0,
            "time": hour * 11,
        },
    ]
    _, body = await client.get(
        f"/api/candles?symbol=ETHUSDT&level=1h&since={hour * 11}", headers=BEARER
    )
    assert len(body["data"]) == 1
    code, body = await client.get("/api/candles?symbol=ETHUSDT&level=7m", headers=BEARER)
    assert (code, body["status"]) == (400, "malformed") and "level" in body["message"]
    code, body = await client.get("/api/candles?level=1h", headers=BEARER)
    assert (code, body["message"]) == (400, "query 'symbol' is required")


async def test_cancel_order_by_id_by_symbol_and_all(client: Client) -> None:
    await client.post(ORDER, alert(), wait=2.5)  # stop + 3 TPs on BTCUSDT
    eth = alert(
        ticker="ETHUSDT",
        price=3000,
        **{"long SL": 2900, "long TP": 3200, "tp Close": None, "tp1 Mult": None, "tp2 Mult": None},
    )
    await client.post(ORDER, eth, wait=2.5)  # stop + TP on ETHUSDT
    _, body = await client.get("/api/orders", headers=BEARER)
    stop = next(o for o in body["data"] if o["sym"] == "BTCUSDT" and o["order_type"] == "STOP")
    code, body = await client.post(
        "/api/cancel_order", {"order_id": stop["order_id"]}, headers=BEARER
    )
    assert (code, body["message"], body["data"][0]["order_id"]) == (
        200,
        "1 order(s) cancelled",
        stop["order_id"],
    )
    code, body = await client.post("/api/cancel_order", {"sym": "BTCUSDT"}, headers=BEARER)
    assert len(body["data"]) == 3 and {o["sym"] for o in body["data"]} == {"BTCUSDT"}
    code, body = await client.post("/api/cancel_order", {}, headers=BEARER)
    assert len(body["data"]) == 2  # what was left: ETHUSDT
    _, body = await client.get("/api/orders", headers=BEARER)
    assert body["data"] == []
    code, body = await client.post("/api/cancel_order", {"order_id": "P999"}, headers=BEARER)
    assert (code, body["status"]) == (404, "not_found")


async def test_amend_order_size_and_price(client: Client) -> None:
    await client.post(ORDER, alert(), wait=2.5)
    _, body = await client.get("/api/orders", headers=BEARER)
    stop = next(o for o in body["data"] if o["order_type"] == "STOP")
    body = {"order_id": stop["order_id"], "price": 39850, "size": "0.4"}
    code, body = await client.post("/api/amend_order", body, headers=BEARER)
    assert code == 200
    assert (body["data"]["order_price"], body["data"]["order_size"]) == (39850.0, 0.4)
    code, body = await client.post(
        "/api/amend_order", {"order_id": stop["order_id"]}, headers=BEARER
    )
    assert (code, body["message"]) == (400, "give 'size', 'price' or both")
    code, body = await client.post(
        "/api/amend_order", {"order_id": stop["order_id"], "price": "NaN"}, headers=BEARER
    )
    assert code == 400 and "finite" in body["message"]


@pytest.mark.parametrize("venue", [["Testing"], {"a": 1}, 5])
async def test_a_venue_that_is_not_a_name_is_400(client: Client, venue: Any) -> None:
    for path in ("/api/halt", "/api/resume", "/api/cancel_order"):
        code, body = await client.post(path, {"by": "x", "venue": venue}, headers=BEARER)
        assert (code, body["status"]) == (400, "malformed"), path
