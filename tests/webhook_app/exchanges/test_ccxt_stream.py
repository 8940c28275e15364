"""Events pushed by a real venue (the ccxt fake's Binance USDⓈ-M and Bybit v5 private streams,
through ccxt.pro): told the moment they arrive, once each and in order however the venue repeats
or reorders them; polling takes over while the stream is down and catches up on what it missed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.discord_webhooks import FakeDiscordWebhooks
from tests.helpers import ORDER
from tests.webhook_app.exchanges.conftest import PERP
from tests.webhook_app.exchanges.test_ccxt_venue import entry
from webhook_app.events import CLOSED, FILL, POSITION, StreamEvent
from webhook_app.events import ORDER as ORDER_EVENT
from webhook_app.exchanges import ccxt_stream


async def until(condition: Callable[[], bool], limit_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not within the time limit")
        await asyncio.sleep(0.01)


VENUES = pytest.mark.parametrize("venue", ["binance", "bybit"])


async def streaming(
    venue_app: Any, venue: str = "binance", **kw: Any
) -> tuple[Any, Any, Any, list[StreamEvent]]:
    """An app on the fake that listens to its user stream (poll_s 3600: no polling)."""
    client, fake = await venue_app(venue, streams=True, **kw)
    told: list[StreamEvent] = []
    client.core.events.listeners.append(told.append)
    exchange = client.core.venues.get("Main").exchange
    await until(lambda: exchange.stream.connected)
    assert exchange.stream.supported == ["orders", "trades", "positions"]
    return client, fake, exchange, told


def limit_entry() -> dict[str, Any]:
    """Long 0.1 BTC with a limit at 59,500: SL 58,500, TP1 60,500, TP2 61,000, TP 61,500."""
    return entry("futures", type="limit", price=59500, **{"long SL": 58500, "long TP": 61500})


def news(told: list[StreamEvent], role: str) -> list[str]:
    """What was told of the orders with this role: 'placed', 'fill', 'closed'…"""
    return [
        "fill" if e.topic == FILL else e.data["event"]
        for e in told
        if e.topic in (FILL, ORDER_EVENT) and e.data["role"] == role
    ]


@VENUES
async def test_pushed_news_is_told_without_polling(venue_app: Any, venue: str) -> None:
    client, fake, exchange, told = await streaming(venue_app, venue)
    await client.post(ORDER, limit_entry(), wait=2.5)
    fake.set_price(PERP, 59400)  # the limit fills at the venue; nobody polls
    await until(lambda: news(told, "tp1") == ["placed"])  # the fill, heard, placed the ladder
    assert news(told, "entry") == ["placed", "fill", "closed"]
    [position] = [e for e in told if e.topic == POSITION]
    assert position.data["side"] == "long" and float(position.data["size"]) == 0.1
    fake.set_price(PERP, 60500)  # TP1 fires (Binance: its algo order places a market order)
    await until(lambda: "closed" in news(told, "tp1"))
    [fill] = [e for e in told if e.topic == FILL and e.data["role"] == "tp1"]
    assert (fill.data["qty"], fill.data["price"]) == ("0.025", "60500")
    unnamed = [e for e in told if e.topic == FILL and e.data["role"] is None]
    assert unnamed == [], "the market order a fired take-profit placed is not a second fill"


@VENUES
async def test_duplicated_and_reordered_pushes_are_told_once_each_in_order(
    venue_app: Any, venue: str
) -> None:
    discord = await FakeDiscordWebhooks(limit=50, period_s=1.0).start()
    try:
        client, fake, exchange, told = await streaming(
            venue_app, venue, env={"DISCORD_LOGS_URL": discord.url("logs")}
        )
        fake.stream.duplicate = fake.stream.reorder = True
        fake.stream.holding = True
        await client.post(ORDER, limit_entry(), wait=2.5)  # pushed NEW: held back
        fake.set_price(PERP, 59400)  # pushed FILLED and the position: held back
        # All at once, newest first, each twice: position, FILLED, FILLED, NEW, NEW…
        await fake.stream.release()
        await until(lambda: news(told, "tp1") == ["placed"])
        fake.set_price(PERP, 60500)  # TP1: its pushes come newest first and twice
        await until(lambda: "closed" in news(told, "tp1"))
        fake.set_position(PERP, 0)  # closed by hand at the venue: pushed twice
        await until(lambda: any(e.topic == CLOSED for e in told))
        await asyncio.sleep(0.3)  # the duplicates of the last pushes

        assert news(told, "entry") == ["placed", "fill", "closed"]
        assert news(told, "tp1") == ["placed", "fill", "closed"]
        assert [e.id for e in told] == sorted(e.id for e in told)
        [entry_id] = {e.data["order_id"] for e in told if e.data.get("role") == "entry"}
        book = client.core.venues.get("Main").book
        assert entry_id not in book.orders, "the late NEW did not reopen the filled entry"
        sizes = [float(e.data["size"]) for e in told if e.topic == POSITION]
        assert sizes == [0.1, 0.075, 0.0], "each position once, none from a stale push"
        assert len([e for e in told if e.topic == CLOSED]) == 1
        assert len(fake.stream.sent) > 2 * 6, "the venue did repeat itself"

        def lines() -> list[str]:
            return [
                e.get("description", "")
                for r in discord.delivered("logs")
                for e in r.embeds
                if "alert" not in e.get("title", "")
            ]

        await discord.wait_for(lambda: any(line.startswith("Closed long") for line in lines()))
        await asyncio.sleep(0.2)
        tp1 = [line for line in lines() if line.startswith("TP1 filled")]
        assert tp1 == ["TP1 filled 0.025 BTC/USDT:USDT @ 60500"]
        assert len([line for line in lines() if line.startswith("Closed long")]) == 1
    finally:
        await discord.close()


@VENUES
async def test_a_position_closed_by_hand_loses_its_protection_when_pushed(
    venue_app: Any, venue: str
) -> None:
    client, fake, exchange, told = await streaming(venue_app, venue, cleanup_on_close=True)
    status, answer = await client.post(ORDER, entry("futures"), wait=2.5)
    assert answer["status"] == "executed", answer
    assert len(fake.open_orders(PERP)) == 4  # stop, TP, TP1, TP2 (Bybit: stop and TP attached)
    fake.set_position(PERP, 0)  # on the venue's website; no poll follows
    await until(lambda: fake.open_orders(PERP) == [])
    await client.core.management.close()
    await client.core.executor.queues.drain()
    rows = await client.core.journal.query("SELECT status FROM alerts WHERE source='management'")
    assert [r["status"] for r in rows] == ["executed"]


async def test_the_stream_reconnects_with_backoff_and_polling_catches_up(
    venue_app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(ccxt_stream, "BACKOFF_FIRST_S", 0.1)
    client, fake, exchange, told = await streaming(venue_app, poll_s=30)
    await client.post(ORDER, limit_entry(), wait=2.5)
    assert exchange.poller.interval_s == ccxt_stream.RECONCILE_S, "connected: reconciling only"
    fake.stream.refuse = 2  # the venue is not taking connections for a while
    caplog.set_level(logging.WARNING)
    await fake.stream.drop()
    await until(lambda: not exchange.stream.connected)
    assert exchange.poller.interval_s == 30, "polling at poll_s while down"
    fake.set_price(PERP, 59400)  # the entry fills while nobody listens: the push is lost
    assert not any(e.topic == FILL for e in told)
    await until(lambda: exchange.stream.connected, limit_s=10)
    await until(lambda: news(told, "entry") == ["placed", "fill", "closed"])  # the catch-up poll
    assert fake.stream.connections >= 2
    delays = [
        r.getMessage().rsplit("reconnecting in ", 1)[1]
        for r in caplog.records
        if "reconnecting in" in r.getMessage() and "orders" in r.getMessage()
    ]
    assert delays[:3] == ["0.1 s", "0.2 s", "0.4 s"], delays
    assert "listenKey=" not in caplog.text.replace("listenKey=***", "")


async def test_accounts_poll_where_streams_are_not_wanted_or_not_tested(venue_app: Any) -> None:
    """api_url without ws_url (the streams would reach the real venue), stream = false, and OKX,
    whose push stream is not tested against a fake (off unless stream = true)."""
    for venue, kw in (
        ("binance", {}),
        ("binance", {"streams": True, "stream": False}),
        ("okx", {"streams": True}),
    ):
        client, fake = await venue_app(venue, **kw)
        exchange = client.core.venues.get("Main").exchange
        assert not type(exchange.client).__module__.startswith("ccxt.pro")
        assert exchange.stream.supported == [] and exchange.poller.interval_s == 3600
        assert not any("listenKey" in r.path for r in fake.requests)


async def test_what_ccxt_cannot_stream_is_polled_at_its_usual_pace(
    venue_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """watch_positions refused (NotSupported, as for some venue/market pairs): orders still
    stream, and polling keeps its poll_s pace so that positions are not a minute late."""
    import ccxt

    async def refused(*args: Any, **kwargs: Any) -> None:
        raise ccxt.NotSupported("binanceusdm watchPositions() is not supported yet")

    monkeypatch.setattr(ccxt.pro.binanceusdm, "watch_positions", refused)
    client, fake = await venue_app("binance", streams=True, poll_s=30)
    exchange = client.core.venues.get("Main").exchange
    await until(lambda: exchange.stream.unsupported == ["positions"])
    await until(lambda: exchange.stream.connects >= 1)
    assert exchange.poller.interval_s == 30
    told: list[StreamEvent] = []
    client.core.events.listeners.append(told.append)
    await client.post(ORDER, limit_entry(), wait=2.5)
    fake.set_price(PERP, 59400)
    await until(lambda: news(told, "entry") == ["placed", "fill", "closed"])  # still pushed


# --- what the review found: state never goes backwards, prices, pacing, leftovers ------------


def pushed(order: Any, **changes: Any) -> dict[str, Any]:
    """A ccxt-unified record of one of our orders, as watch_orders would return it."""
    raw = {
        "id": order.id,
        "clientOrderId": order.client_id,
        "symbol": PERP,
        "side": "buy",
        "type": "limit",
        "price": float(order.price),
        "amount": float(order.amount),
        "filled": 0.0,
        "average": None,
        "status": "open",
    }
    return raw | changes


async def resting_limit(exchange: Any, amount: str = "0.1") -> Any:
    from webhook_app.models import OrderType, Side

    resting_limit.n = getattr(resting_limit, "n", 0) + 1  # type: ignore[attr-defined]
    return await exchange.create_order(
        PERP,
        OrderType.LIMIT,
        Side.BUY,
        Decimal(amount),
        Decimal(59000),
        client_id=f"byhand{resting_limit.n}",  # type: ignore[attr-defined]
    )


async def test_a_second_fill_is_priced_by_its_own_trades_or_the_averages(venue_app: Any) -> None:
    """Bybit and OKX send an order update and its trades as separate messages, in either order:
    a trade that came late must not price the next fill."""
    client, fake, exchange, told = await streaming(venue_app)
    order = await resting_limit(exchange, "1")
    stream = exchange.stream
    half = {"order": order.id, "symbol": PERP, "amount": 0.5}
    stream.heard_order(pushed(order, filled=0.5, average=100.0))  # before its trade
    stream.heard_trade({"id": "t1", "price": 100, **half})
    stream.heard_trade({"id": "t2", "price": 110, **half})
    stream.heard_order(pushed(order, filled=1.0, average=105.0, status="closed"))
    prices = [e.data["price"] for e in told if e.topic == FILL and e.data["order_id"] == order.id]
    assert prices == ["100", "110"], "not 105: the averages say the second fill paid 110"
    other = await resting_limit(exchange, "0.1")
    stream.heard_trade({"id": "t3", "order": other.id, "symbol": PERP, "amount": 0.1, "price": 98})
    stream.heard_order(pushed(other, filled=0.1, average=99.0, status="closed"))
    [fill] = [e for e in told if e.topic == FILL and e.data["order_id"] == other.id]
    assert fill.data["price"] == "98", "its trade, exactly the amount it adds, prices it"
    await asyncio.sleep(ccxt_stream.TRADE_GRACE_S + 0.2)  # the look after the trades: nothing


async def test_a_list_that_lags_behind_a_push_does_not_undo_it(venue_app: Any) -> None:
    client, fake, exchange, told = await streaming(venue_app)
    order = await resting_limit(exchange)
    exchange.stream.heard_order(pushed(order, filled=0.05, average=59000.0))  # partly filled
    await exchange.fetch_open_orders(PERP)  # the venue's list still shows 0 filled
    assert exchange.known_filled(order.id) == Decimal("0.05")
    book = client.core.venues.get("Main").book
    assert book.orders[order.id].filled == Decimal("0.05")


async def test_a_position_list_asked_before_a_pushed_close_does_not_reopen_it(
    venue_app: Any,
) -> None:
    client, fake, exchange, told = await streaming(venue_app)
    await client.post(ORDER, entry("futures"), wait=2.5)
    await until(lambda: any(e.topic == POSITION for e in told))
    # The list is made now, with the position open, and answered 0.4 s later.
    fake.inject("fetch_positions", "timeout_after_accept", delay=0.4)
    reading = asyncio.create_task(exchange.fetch_positions())
    await asyncio.sleep(0.1)
    fake.set_position(PERP, 0)  # closed by hand: pushed while the list is on its way
    await reading
    await asyncio.sleep(0.1)
    sizes = [float(e.data["size"]) for e in told if e.topic == POSITION]
    assert sizes == [0.1, 0.0], "the older list did not reopen the position"
    assert len([e for e in told if e.topic == CLOSED]) == 1


async def test_a_fault_in_one_pushed_record_loses_neither_the_batch_nor_the_stream(
    venue_app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client, fake, exchange, told = await streaming(venue_app)
    real, calls = exchange.heard, []

    def heard_once_broken(raw: dict[str, Any], fill_price: Any = None) -> None:
        calls.append(raw["id"])
        if len(calls) == 1:
            raise RuntimeError("a bug in our handling")
        real(raw, fill_price)

    monkeypatch.setattr(exchange, "heard", heard_once_broken)
    await client.post(ORDER, limit_entry(), wait=2.5)  # its NEW push hits the bug
    fake.set_price(PERP, 59400)
    await until(lambda: news(told, "entry") == ["placed", "fill", "closed"])
    assert exchange.stream.connected and exchange.stream.failures == 0
    assert "could not be handled" in caplog.text


async def test_a_dropped_stream_polls_at_once_and_close_leaves_nothing_running(
    venue_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ccxt_stream, "BACKOFF_FIRST_S", 5.0)
    client, fake, exchange, told = await streaming(venue_app, poll_s=30)
    before = len(fake.requests_for("fetch_open_orders"))
    await fake.stream.drop()
    # Not in a minute (the reconciliation pace it was waiting in): now.
    await until(lambda: len(fake.requests_for("fetch_open_orders")) > before, limit_s=2)
    order = await resting_limit(exchange)
    exchange.stream.heard_trade(
        {"id": "t9", "order": order.id, "symbol": PERP, "amount": 0.1, "price": 59000}
    )
    assert exchange.stream._checks  # noqa: SLF001 - the look after that trade is pending
    await exchange.close()
    assert not exchange.stream._checks  # noqa: SLF001
    sent = len(fake.requests)
    await asyncio.sleep(ccxt_stream.TRADE_GRACE_S + 0.2)
    assert len(fake.requests) == sent, "nothing asked of the venue after close"


def algo_and_child(algo_id: str, child_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fired Binance stop (ALGO_UPDATE naming `ai`) and the market order it placed."""
    from types import SimpleNamespace

    stop = SimpleNamespace(id=algo_id, client_id="x1sl", price=58500, amount=0.1)
    done = {"side": "sell", "status": "closed", "filled": 0.1, "average": 58400.0}
    algo = pushed(stop, type="stop_market", triggerPrice=58500.0, info={"ai": child_id}, **done)
    market = SimpleNamespace(id=child_id, client_id="web_x", price=0, amount=0.1)
    return algo, pushed(market, type="market", **done)


@pytest.mark.parametrize("child_first", [False, True])
async def test_the_order_a_fired_algo_order_placed_is_not_a_second_fill(
    venue_app: Any, child_first: bool
) -> None:
    """Binance names it in ALGO_UPDATE (`ai`), whatever client id it carries. It orders its
    pushes only within one event type, so the child can come first: it waits a moment, then
    goes. An order placed by hand waits as long, and is told."""
    client, fake, exchange, told = await streaming(venue_app)
    algo, child = algo_and_child("6001", "6002")
    for raw in [child, algo] if child_first else [algo, child]:
        exchange.stream.heard_order(raw)
    await asyncio.sleep(ccxt_stream.TRADE_GRACE_S + 0.2)
    assert [e.data["order_id"] for e in told if e.topic == FILL] == ["6001"]
    assert not any(e.data.get("order_id") == "6002" for e in told)
    by_hand = type("O", (), {"id": "6003", "client_id": "web_z", "price": 59000, "amount": 0.1})
    exchange.stream.heard_order(pushed(by_hand))  # an order placed on the website
    await asyncio.sleep(ccxt_stream.TRADE_GRACE_S + 0.2)
    assert [e.data["event"] for e in told if e.data.get("order_id") == "6003"] == ["placed"]
