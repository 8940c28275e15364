"""The same alerts on Binance, Bybit and OKX (spot and perpetuals) through ccxt, against the
loopback fakes: what the venue received, what it holds afterwards, and the faults."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.ccxt_venues import FakeVenue
from tests.helpers import ORDER, VENUE_KEYS, alert, fired
from tests.webhook_app.exchanges.conftest import PERP, SPOT
from webhook_app.accounts import Account
from webhook_app.errors import ExecutionError
from webhook_app.exchanges.ccxt_venue import CcxtExchange
from webhook_app.models import OrderType, Side

COMBOS = [(v, m) for v in ("binance", "bybit", "okx") for m in ("futures", "spot")]
CID_FIELD = {
    "binance": ("newClientOrderId", "clientAlgoId"),
    "bybit": ("orderLinkId",),
    "okx": ("clOrdId", "algoClOrdId"),
}


def entry(market: str, **extra: Any) -> dict[str, Any]:
    """Long at 60,000 with the stop at 59,000: 1 % of 10,000 USDT is 0.1 BTC; TP1 and TP2 take
    25 % each at 1R and 1.5R, the final TP the rest at 62,000."""
    fields = {
        "subaccount": "Main",
        "ticker": "BTCUSDT.P" if market == "futures" else "BTCUSDT",
        "price": 60000,
        "long SL": 59000,
        "long TP": 62000,
        "tp Close": 25,
        "tp1 Mult": 1,
        "tp2 Mult": 1.5,
        **extra,
    }
    return alert(**fields)


def breakeven(market: str) -> dict[str, Any]:
    return entry(
        market,
        action="sell",
        message="tp1_breakeven",
        price=60100,
        time=fired(1),
        **{"long Breakeven": 60010},
    )


def exit_alert(market: str) -> dict[str, Any]:
    return entry(market, action="sell", message="exit", price=60100, time=fired(2))


def units(venue: str, market: str, btc: str) -> float:
    """What the venue counts: OKX perpetuals in contracts of 0.01 BTC."""
    return (
        float(Decimal(btc) / Decimal("0.01"))
        if (venue, market) == ("okx", "futures")
        else float(btc)
    )


def sell_stops(fake: FakeVenue, symbol: str) -> list[Any]:
    """Open sell orders that fire on a fall (Bybit spot's tpslOrder is a plain trigger)."""
    return [
        o
        for o in fake.open_orders(symbol)
        if o.side == "sell" and o.triggers and o.triggers[0].direction == "below"
    ]


def ours(fake: FakeVenue, alert_id: str, code: str) -> Any:
    return fake.find_order(client_id=f"{alert_id}{code}")


@pytest.mark.parametrize(("venue", "market"), COMBOS)
async def test_the_same_alert_on_each_venue(venue_app: Any, venue: str, market: str) -> None:
    fake = FakeVenue(venue, balances={"USDT": 10_000.0})  # a trading account: no coins yet
    client, fake = await venue_app(venue, market, fake=fake)
    symbol = PERP if market == "futures" else SPOT

    status, answer = await client.post(ORDER, entry(market), wait=2.5)
    assert (status, answer["status"]) == (200, "executed"), answer
    aid = answer["alert_id"]
    entry_order, stop = ours(fake, aid, "en"), ours(fake, aid, "sl")
    assert entry_order.amount == units(venue, market, "0.1") and entry_order.status == "filled"
    assert entry_order.client_id_field in CID_FIELD[venue]
    assert fake.positions.get(symbol) is None or fake.positions[symbol].qty == 0.1
    if (venue, market) == ("bybit", "futures"):  # attached: armed by the venue on the fill
        assert entry_order.attached == {"stop_loss": 59000.0, "take_profit": 62000.0}
        assert stop is None
    elif (venue, market) == ("okx", "futures"):  # attachAlgoOrds: only the stop (see recipes)
        assert entry_order.attached == {"stop_loss": 59000.0}
        assert ours(fake, aid, "tp").amount == units(venue, market, "0.05")
    else:  # a separate stop (reduce-only on perpetuals)
        assert stop.triggers[0].price == 59000.0 and stop.amount == units(venue, market, "0.1")
        assert stop.reduce_only is (market == "futures")
        assert stop.client_id_field in CID_FIELD[venue]
    if market == "futures":
        tp1, tp2 = ours(fake, aid, "t1"), ours(fake, aid, "t2")
        assert (tp1.amount, tp1.triggers[0].price) == (units(venue, market, "0.025"), 61000.0)
        assert (tp2.amount, tp2.triggers[0].price) == (units(venue, market, "0.025"), 61500.0)
        assert tp1.reduce_only and tp2.reduce_only
    else:  # spot: the coins sit under the stop; no take-profit could be placed beside it
        assert ours(fake, aid, "t1") is None and ours(fake, aid, "tp") is None
        assert any("no take-profit" in w for w in answer["warnings"])
    assert len(sell_stops(fake, symbol)) == 1

    fake.set_price(symbol, 60100)
    status, answer = await client.post(ORDER, breakeven(market), wait=2.5)
    assert (status, answer["status"]) == (200, "executed"), answer
    stops = sell_stops(fake, symbol)
    assert [o.triggers[0].price for o in stops] == [60010.0], "exactly one stop, moved"
    held = fake.positions[symbol].qty if market == "futures" else fake.balances["BTC"]
    assert held == pytest.approx(0.1), "moving the stop must never touch the position"

    status, answer = await client.post(ORDER, exit_alert(market), wait=2.5)
    assert (status, answer["status"]) == (200, "executed"), answer
    assert fake.open_orders(symbol) == []
    held = fake.positions[symbol].qty if market == "futures" else fake.balances["BTC"]
    assert held == pytest.approx(0)
    assert fake.crashes == []


# --- faults ---------------------------------------------------------------------------------------

ENTRY_PATH = {"binance": "/fapi/v1/order", "bybit": "/v5/order/create", "okx": "/trade/order"}


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
async def test_a_timeout_after_the_venue_accepted_gives_exactly_one_order(
    venue_app: Any, venue: str
) -> None:
    client, fake = await venue_app(venue)
    fake.inject(
        ENTRY_PATH[venue], "timeout_after_accept", method="POST", delay=5
    )  # the answer is lost
    status, answer = await client.post(ORDER, entry("futures"), wait=2.5)
    aid = answer["alert_id"]
    for _ in range(60):
        status, answer = await client.get(f"/alerts/{aid}")
        if answer["status"] != "accepted" and answer["status"] != "executing":
            break
        await asyncio.sleep(0.05)
    assert answer["status"] == "executed", answer
    assert len(fake.created_orders[f"{aid}en"]) == 1, "looked up by client id, not sent again"
    assert fake.positions[PERP].qty == pytest.approx(0.1)


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
async def test_429_with_retry_after_sends_nothing_inside_the_wait(
    venue_app: Any, venue: str
) -> None:
    client, fake = await venue_app(venue)
    fake.inject(ENTRY_PATH[venue], "rate_limit", method="POST", retry_after=1)
    status, answer = await client.post(ORDER, entry("futures"), wait=2.5)
    aid = answer["alert_id"]
    for _ in range(60):
        status, answer = await client.get(f"/alerts/{aid}")
        if answer["status"] not in ("accepted", "executing"):
            break
        await asyncio.sleep(0.05)
    assert answer["status"] == "executed", answer
    assert fake.fault_hits("rate_limit") == 1
    assert fake.inside_retry_after == 0, "a request went out inside the venue's Retry-After"
    assert len(fake.created_orders[f"{aid}en"]) == 1


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
async def test_insufficient_funds_is_never_retried_and_says_why(venue_app: Any, venue: str) -> None:
    client, fake = await venue_app(venue)
    fake.inject(ENTRY_PATH[venue], "insufficient_funds", method="POST")
    status, answer = await client.post(ORDER, entry("futures"), wait=2.5)
    assert (status, answer["status"]) == (422, "rejected"), answer
    assert "insufficient funds" in answer["message"]
    sent = [r for r in fake.requests if ENTRY_PATH[venue] in r.path and r.method == "POST"]
    assert len(sent) == 1
    assert fake.open_orders() == [] and not fake.positions.get(PERP, None)


class VirtualTime:
    """The adapter's and the fake's clock: sleeping advances it at once."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def direct(venue: str, base_url: str, time: VirtualTime, **extra: Any) -> CcxtExchange:
    account = Account(
        name="Main",
        exchange=venue,
        sandbox=False,
        rate_limit=False,
        api_url=base_url,
        api_key_env="VENUE_KEY",
        api_secret_env="VENUE_SECRET",
        api_password_env="VENUE_PASSWORD",
        timeout_ms=500,
        **extra,
    )
    keys = {
        "key": VENUE_KEYS["VENUE_KEY"],
        "secret": VENUE_KEYS["VENUE_SECRET"],
        "password": VENUE_KEYS["VENUE_PASSWORD"],
    }
    return CcxtExchange(account, keys, clock=time.clock, sleep=time.sleep)


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
async def test_not_found_for_20_s_after_accepting_is_waited_out_not_resubmitted(venue: str) -> None:
    time = VirtualTime()
    async with FakeVenue(venue, clock=time.clock) as fake:
        exchange = direct(venue, fake.base_url, time)
        await exchange.start()
        try:
            fake.inject("create_order", "timeout_after_accept", delay=5)
            fake.inject("create_order", "not_found_for", seconds=20)
            started = time.now
            order = await exchange.create_order(
                PERP, OrderType.MARKET, Side.BUY, Decimal("0.1"), client_id="a1b2c3d4e5f60718en"
            )
            assert order.client_id == "a1b2c3d4e5f60718en" and order.filled == Decimal("0.1")
            assert 20 <= time.now - started <= 30
            assert len(fake.created_orders["a1b2c3d4e5f60718en"]) == 1
        finally:
            await exchange.close()


async def test_an_order_still_unknown_after_the_window_is_reported_never_resent() -> None:
    time = VirtualTime()
    async with FakeVenue("binance", clock=time.clock) as fake:
        exchange = direct("binance", fake.base_url, time, lookup_window_s=30.0)
        await exchange.start()
        try:
            fake.inject("create_order", "timeout_after_accept", delay=5)
            fake.inject("create_order", "not_found_for", seconds=120)
            with pytest.raises(ExecutionError, match="NOT sent again"):
                await exchange.create_order(
                    PERP, OrderType.MARKET, Side.BUY, Decimal("0.1"), client_id="f0e1d2c3b4a59687en"
                )
            assert len(fake.created_orders["f0e1d2c3b4a59687en"]) == 1
        finally:
            await exchange.close()


@pytest.mark.parametrize("venue", ["binance", "bybit"])
async def test_a_limit_entry_filled_later_gets_its_protection_from_polling(
    venue_app: Any, venue: str
) -> None:
    client, fake = await venue_app(venue)
    body = entry("futures", type="limit", price=59500, **{"long SL": 58500, "long TP": 61500})
    status, answer = await client.post(ORDER, body, wait=2.5)
    assert "resting" in answer["message"], answer
    aid = answer["alert_id"]
    assert ours(fake, aid, "t1") is None, "nothing but the entry (and what it carries) yet"

    fake.set_price(PERP, 59400)  # the limit fills at the venue, while we are not looking
    exchange = client.core.venues.get("Main").exchange
    await exchange.poller.poll()  # first look: the snapshot
    await exchange.poller.poll()
    await client.core.executor.queues.drain()
    assert ours(fake, aid, "t1") is not None and ours(fake, aid, "t2") is not None
    assert len(sell_stops(fake, PERP)) == 1, "one stop, whether attached or placed on the fill"
