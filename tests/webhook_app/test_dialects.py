"""The other seeds' dialects: every action and the malformed cases, through the same core."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    FMZ_ACCESS_KEY,
    FMZ_ENV,
    FMZ_SECRET_KEY,
    ORDER,
    PASSPHRASE,
    Client,
    alert,
    fired,
)

SPOT = """
[accounts.Testing]
[accounts.Spot]
market = "spot"
default_symbol = "BTCUSDT"
"""


@pytest.fixture
async def dialects(make_client: Any, tmp_path: Path) -> Client:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(SPOT)
    client = await make_client(ACCOUNTS_FILE=str(accounts), **FMZ_ENV)
    # The paper venue is priced by alerts: give BTCUSDT a price first.
    await client.post(ORDER, alert(message="tp2", price=40000))
    await client.core.paper.feed_price("BTCUSDT", Decimal("40000"))
    return client


async def position(client: Client, account: str = "Testing") -> Decimal:
    positions = await client.core.venues.get(account).exchange.fetch_positions()
    return sum((p.size for p in positions), Decimal(0))


async def orders(client: Client, account: str = "Testing") -> list[dict[str, Any]]:
    rows = await client.core.paper.store.run(
        lambda conn: conn.execute(
            "SELECT * FROM paper_orders WHERE account=? ORDER BY timestamp", (account,)
        ).fetchall()
    )
    return [dict(r) for r in rows]


# --- seed 000 (FMZ) -----------------------------------------------------------------------------


def fmz(type_: str, amount: str = "0.1", **override: str) -> str:
    query = {
        "access_key": FMZ_ACCESS_KEY,
        "secret_key": FMZ_SECRET_KEY,
        "type": type_,
        "amount": amount,
        **override,
    }
    return "/webhook/fmz?" + "&".join(f"{k}={v}" for k, v in query.items())


@pytest.mark.parametrize(("type_", "after"), [("long", "0.1"), ("short", "-0.1")])
async def test_fmz_futures_types_open(dialects: Client, type_: str, after: str) -> None:
    code, answer = await dialects.post(fmz(type_), "BTCUSDT signal 2024-05-01T12:00:00Z", wait=2.5)
    assert (code, answer["status"], answer["state"]) == (200, "executed", "ok")
    assert await position(dialects) == Decimal(after)


async def test_fmz_cover_closes_and_the_data_alias_works(dialects: Client) -> None:
    await dialects.post(fmz("long", "0.3"), "a", wait=2.5)
    code, answer = await dialects.post(
        fmz("cover_long", "0.1").replace("/webhook/fmz", "/data"), "b", wait=2.5
    )
    assert (code, answer["state"]) == (200, "ok") and await position(dialects) == Decimal("0.2")
    close = (await orders(dialects))[-1]
    assert (close["side"], close["reduce_only"]) == ("sell", 1)
    await dialects.post(fmz("short", "0.5"), "c", wait=2.5)  # one-way: -0.3 net
    await dialects.post(fmz("cover_short", "0.3"), "d", wait=2.5)
    assert await position(dialects) == 0


@pytest.mark.parametrize(
    ("url", "status", "fragment"),
    [
        (fmz("long").replace(FMZ_SECRET_KEY, "wrong"), 401, "invalid or missing credentials"),
        (fmz("long").split("&secret_key")[0], 401, "invalid or missing credentials"),
        (fmz("hold"), 400, "query 'type' must be one of buy, sell, long, short"),
        (fmz("buy"), 422, "type 'buy' is for a spot account, but account Testing is futures"),
        (fmz("long", "-1"), 400, "field 'amount' must be greater than 0"),
        (fmz("long", "NaN"), 400, "field 'amount' must be a finite number"),
        (fmz("long", "lots"), 400, "field 'amount' must be a number, got 'lots'"),
        (fmz("long").replace("&amount=0.1", ""), 400, "query 'amount' is required"),
    ],
)
async def test_fmz_refusals(dialects: Client, url: str, status: int, fragment: str) -> None:
    code, answer = await dialects.post(url, "x")
    assert (code, answer["success"]) == (status, False) and fragment in answer["message"], answer
    assert "state" not in answer


async def test_fmz_keys_must_be_configured(make_client: Any) -> None:
    client = await make_client()  # no FMZ keys
    code, _ = await client.post(fmz("long"), "x")
    assert code == 401


# --- seed 001 (JSON order spec) -------------------------------------------------------------------


def signal(action: str, **fields: Any) -> dict[str, Any]:
    return {
        "action": action,
        "ticker": "BTCUSDT",
        "price": "40000",
        "connectorName": "Testing",
        "connectorToken": PASSPHRASE,
        **fields,
    }


@pytest.mark.parametrize(
    ("action", "fields", "after"),
    [
        ("openLong", {"fixed": "0.2"}, "0.2"),
        ("openShort", {"fixed": "0.2"}, "-0.2"),
        # percent of the available quote: 10 % of 10,000 = 1,000 → 0.025 BTC at 40,000
        ("openLong", {"percent": "10"}, "0.025"),
        # fixed wins over percent
        ("openLong", {"fixed": "0.01", "percent": "50"}, "0.01"),
    ],
)
async def test_signal_opens(
    dialects: Client, action: str, fields: dict[str, Any], after: str
) -> None:
    code, answer = await dialects.post("/webhook/signal", signal(action, **fields), wait=2.5)
    assert (code, answer["status"]) == (200, "executed"), answer
    assert await position(dialects) == Decimal(after)


async def test_signal_open_with_profit_and_loss_then_close_by_percent(dialects: Client) -> None:
    body = signal("openLong", fixed="0.4", profit="41000", loss="39500")
    _, answer = await dialects.post("/webhook/signal", body, wait=2.5)
    roles = {o["role"]: o for o in answer["orders"]}
    assert roles["stop"]["trigger_price"] == "39500" and roles["tp"]["trigger_price"] == "41000"
    await dialects.post("/webhook/signal", signal("closeLong", percent="25"), wait=2.5)
    assert await position(dialects) == Decimal("0.3")
    code, answer = await dialects.post("/webhook/signal", signal("closeShort", fixed="1"), wait=2.5)
    assert (code, answer["status"]) == (422, "rejected")
    assert "no short position on BTCUSDT to close" in answer["message"]


async def test_signal_spot_buy_then_sell_percent_of_the_held_base(dialects: Client) -> None:
    body = signal("buy", fixed="0.1", connectorName="Spot")
    await dialects.post("/webhook/signal", body, wait=2.5)
    await dialects.post(
        "/webhook/signal", {**body, "action": "sell", "fixed": None, "percent": "50"}, wait=2.5
    )
    assert await position(dialects, "Spot") == Decimal("0.05")
    _, balances = await dialects.get(
        "/api/balances?venue=Spot", headers={"Authorization": "Bearer tok-Hc4mP9sQe6Vd1uJa"}
    )
    held = {b["asset"]: b["amount"] for b in balances["data"]}
    assert held["BTC"] == 0.05
    code, answer = await dialects.post(
        "/webhook/signal", {**body, "action": "sell", "fixed": "1"}, wait=2.5
    )
    assert (code, answer["status"]) == (422, "rejected")
    assert "insufficient BTCUSDT to sell: holding 0.05" in answer["message"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (signal("openLong", fixed="1", connectorToken="wrong"), 401, "invalid or missing"),
        (signal("openLong", fixed="1", connectorName="Nope"), 401, "invalid or missing"),
        ({**signal("openLong", fixed="1"), "connectorToken": None}, 401, "invalid or missing"),
        (signal("hold", fixed="1"), 400, "field 'action' must be one of openLong"),
        (signal("buy", fixed="1"), 422, "action buy is not for account Testing, which is futures"),
        (signal("openLong"), 400, "action openLong needs 'fixed' (an amount) or 'percent'"),
        (signal("openLong", fixed="-2"), 400, "field 'fixed' must be greater than 0"),
        (signal("openLong", fixed=True), 400, "field 'fixed' must be a number, got boolean"),
        (signal("openLong", percent="150"), 400, "field 'percent' is too large"),
        (signal("openLong", fixed="1", loss="41000"), 422, "the stop 41000 is on the wrong side"),
        (signal("buy", fixed="1", loss="1", connectorName="Spot"), 422, "futures accounts only"),
        (signal("cancel"), 400, "field 'clientOrderId' is required for action cancel"),
        (signal("cancel", clientOrderId="nope-1"), 422, "no order with clientOrderId nope-1"),
        (signal("openLong", fixed="1", delaySeconds="-5"), 400, "must not be negative"),
        ('{"action": "openLong", "fixed": NaN}', 401, "invalid or missing"),
    ],
)
async def test_signal_refusals(dialects: Client, body: Any, status: int, fragment: str) -> None:
    code, answer = await dialects.post("/webhook/signal", body)
    assert (code, answer["success"]) == (status, False) and fragment in answer["message"], answer


async def test_signal_nan_is_named_once_authenticated(dialects: Client) -> None:
    text = json.dumps(signal("openLong")).replace('"price": "40000"', '"fixed": NaN')
    code, answer = await dialects.post("/webhook/signal", text)
    assert (code, answer["message"]) == (
        400,
        "field 'fixed' is NaN: the plot had no value (na) on this bar",
    )


async def test_signal_delivered_twice_is_one_order(dialects: Client) -> None:
    body = signal("openLong", fixed="0.1", clientOrderId="long-1")
    first = await dialects.post("/webhook/signal", body, wait=2.5)
    second = await dialects.post("/webhook/signal", body, wait=2.5)
    assert (first[1]["status"], second[1]["status"]) == ("executed", "duplicate")
    assert await position(dialects) == Decimal("0.1")


async def test_signal_cancel_by_client_order_id_and_cancel_all(dialects: Client) -> None:
    await dialects.post(
        "/webhook/signal",
        signal("openLong", fixed="0.1", limit="39000", clientOrderId="lim-1"),
        wait=2.5,
    )
    await dialects.post(
        "/webhook/signal",
        signal("openLong", fixed="0.1", limit="38000", clientOrderId="lim-2"),
        wait=2.5,
    )
    assert len(await dialects.core.venues.get("Testing").exchange.fetch_open_orders()) == 2
    code, answer = await dialects.post(
        "/webhook/signal", signal("cancel", clientOrderId="lim-1"), wait=2.5
    )
    assert (code, answer["status"]) == (200, "executed")
    (left,) = await dialects.core.venues.get("Testing").exchange.fetch_open_orders()
    assert left.client_id.endswith("od") and left.price == Decimal("38000")
    code, answer = await dialects.post("/webhook/signal", signal("cancelAll"), wait=2.5)
    assert (code, answer["status"]) == (200, "executed")
    assert await dialects.core.venues.get("Testing").exchange.fetch_open_orders() == []
    code, answer = await dialects.post(
        "/webhook/signal", signal("cancellAll", ticker=None), wait=2.5
    )  # the seed's spelling, and every symbol
    assert (code, answer["status"]) == (200, "executed")


async def test_signal_log_goes_to_the_logs_channel(dialects: Client, caplog: Any) -> None:
    import logging

    with caplog.at_level(logging.INFO):
        await dialects.post(
            "/webhook/signal", signal("openLong", fixed="0.1", log="Hello desk"), wait=2.5
        )
        await dialects.core.poster.close()
    assert any(
        "📝 Testing" in r.getMessage() and "Hello desk" in r.getMessage() for r in caplog.records
    )


# --- seed 003 (IB text) -------------------------------------------------------------------------


def ib_entry() -> str:
    """Built when sent: an alert older than MAX_ALERT_AGE is refused as stale."""
    return '${"ticker":"BTCUSDT", "price":40000, "time":"' + fired() + '"}@Long entry buy! 0.2'


async def test_ib_buy_and_sell_with_the_comment_as_tag(dialects: Client) -> None:
    code, answer = await dialects.post(f"/webhook/ib?passphrase={PASSPHRASE}", ib_entry(), wait=2.5)
    assert (code, answer["status"]) == (200, "executed") and await position(dialects) == Decimal(
        "0.2"
    )
    row = await dialects.core.journal.get(answer["alert_id"])
    assert row is not None and row.alert["tag"] == "Long entry"
    head = '${"ticker":"BTCUSDT", "price":40100, "passphrase":"' + PASSPHRASE + '"}'
    code, answer = await dialects.post("/webhook/ib", head + "@Exit all sell! 0.2", wait=2.5)
    assert (code, answer["status"]) == (200, "executed") and await position(dialects) == 0


async def test_ib_initiator_is_ignored(dialects: Client) -> None:
    code, answer = await dialects.post(f"/webhook/ib?passphrase={PASSPHRASE}", "Webhook Test")
    assert (code, answer["status"]) == (200, "ignored")
    code, _ = await dialects.post("/webhook/ib", "Webhook Test")
    assert code == 401


@pytest.mark.parametrize(
    ("text", "status", "fragment"),
    [
        ('{"ticker":"BTCUSDT"}@x buy! 1', 400, "must start with '$'"),
        ('${"ticker":"BTCUSDT", "price":4', 400, "the JSON head after '$' is not valid JSON"),
        ('${"ticker":"BTCUSDT"} buy! 1', 400, "expected '@' and the strategy comment"),
        ('${"ticker":"BTCUSDT"}@Long entry buy 1', 400, "expected 'COMMENT ACTION! CONTRACTS'"),
        ('${"ticker":"BTCUSDT"}@Long hold! 1', 400, "the action before '!' must be buy or sell"),
        ('${"ticker":"BTCUSDT"}@Long buy!', 400, "the number of contracts is missing"),
        ('${"ticker":"BTCUSDT"}@Long buy! -1', 400, "field 'contracts' must be greater than 0"),
        ('${"ticker":"BTCUSDT", "price":NaN}@Long buy! 1', 400, "field 'price' is NaN"),
        ('${"price":40000}@Long buy! 1', 400, "field 'ticker' is required"),
    ],
)
async def test_ib_refusals_point_at_the_broken_part(
    dialects: Client, text: str, status: int, fragment: str
) -> None:
    code, answer = await dialects.post(f"/webhook/ib?passphrase={PASSPHRASE}", text)
    assert (code, answer["success"]) == (status, False) and fragment in answer["message"], answer


async def test_ib_wrong_passphrase(dialects: Client) -> None:
    code, _ = await dialects.post("/webhook/ib?passphrase=nope", ib_entry())
    assert code == 401


async def test_ib_delivered_twice_is_one_order(dialects: Client) -> None:
    url = f"/webhook/ib?passphrase={PASSPHRASE}"
    body = ib_entry()  # the same delivery twice
    first = await dialects.post(url, body, wait=2.5)
    second = await dialects.post(url, body, wait=2.5)
    assert (first[1]["status"], second[1]["status"]) == ("executed", "duplicate")
    assert await position(dialects) == Decimal("0.2")
