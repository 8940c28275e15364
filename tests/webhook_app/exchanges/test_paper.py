"""The paper venue: fills, triggers, reduce-only, fees, client ids, persistence and latency."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from webhook_app.config import Account
from webhook_app.errors import DuplicateClientId, OrderRejected
from webhook_app.exchanges.base import ExchangeEvent
from webhook_app.exchanges.paper import PaperExchange, PaperVenue
from webhook_app.models import OrderType as T
from webhook_app.models import Side

ACCOUNT = Account(name="Testing", taker_fee=D("0.001"), maker_fee=D("0"))


@pytest.fixture
async def venue(tmp_path: Path) -> AsyncIterator[PaperVenue]:
    venue = PaperVenue(tmp_path)
    yield venue
    await venue.close()


@pytest.fixture
async def ex(venue: PaperVenue) -> PaperExchange:
    exchange = venue.exchange(ACCOUNT)
    await exchange.start()
    await venue.feed_price("BTCUSDT", D("40000"))
    return exchange


async def test_market_buy_fills_at_last_price_and_charges_the_fee(ex: PaperExchange) -> None:
    order = await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("0.5"), client_id="c1")
    assert (order.status, order.filled, order.average) == ("closed", D("0.5"), D("40000"))
    balance = await ex.fetch_balance()
    assert balance.total == D("10000") - D("20")  # 0.5 × 40,000 × 0.1 %
    (position,) = await ex.fetch_positions()
    assert (position.size, position.entry_price) == (D("0.5"), D("40000"))


async def test_stop_triggers_on_the_price_feed_and_realizes_the_loss(ex: PaperExchange) -> None:
    await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("1"), client_id="e")
    await ex.create_order(
        "BTCUSDT",
        T.STOP,
        Side.SELL,
        D("1"),
        client_id="s",
        trigger_price=D("39800"),
        reduce_only=True,
    )
    await ex.feed_price("BTCUSDT", D("39900"))
    assert len(await ex.fetch_open_orders()) == 1
    await ex.feed_price("BTCUSDT", D("39750"))  # gaps through: fills at the new price
    stop = await ex.fetch_order("s", "BTCUSDT")
    assert stop is not None and (stop.status, stop.average) == ("closed", D("39750"))
    assert await ex.fetch_positions() == []
    # -250 on the move, fees 40 + 39.75
    assert (await ex.fetch_balance()).total == D("10000") - 250 - D("40") - D("39.75")


async def test_take_profits_fill_nearest_first_and_never_flip(ex: PaperExchange) -> None:
    await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("1"), client_id="e")
    for cid, level, amount in (("tp2", "40300", "0.6"), ("tp1", "40150", "0.6")):
        await ex.create_order(
            "BTCUSDT",
            T.TAKE_PROFIT,
            Side.SELL,
            D(amount),
            client_id=cid,
            trigger_price=D(level),
            reduce_only=True,
        )
    await ex.feed_price("BTCUSDT", D("40400"))  # both hit in one jump
    tp1, tp2 = await ex.fetch_order("tp1", "BTCUSDT"), await ex.fetch_order("tp2", "BTCUSDT")
    assert tp1 is not None and tp2 is not None
    assert (tp1.filled, tp2.filled) == (D("0.6"), D("0.4"))  # the second only closes what is left
    assert await ex.fetch_positions() == []


async def test_reduce_only_orders_are_cancelled_when_the_position_closes(ex: PaperExchange) -> None:
    await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("1"), client_id="e")
    await ex.create_order(
        "BTCUSDT",
        T.STOP,
        Side.SELL,
        D("1"),
        client_id="s",
        trigger_price=D("39000"),
        reduce_only=True,
    )
    await ex.create_order(
        "BTCUSDT",
        T.TAKE_PROFIT,
        Side.SELL,
        D("1"),
        client_id="t",
        trigger_price=D("41000"),
        reduce_only=True,
    )
    await ex.create_order("BTCUSDT", T.MARKET, Side.SELL, D("1"), client_id="x", reduce_only=True)
    assert await ex.fetch_open_orders() == []
    stop = await ex.fetch_order("s", "BTCUSDT")
    assert stop is not None and stop.status == "canceled"


async def test_reduce_only_market_without_position_is_refused(ex: PaperExchange) -> None:
    with pytest.raises(OrderRejected, match="would not reduce"):
        await ex.create_order(
            "BTCUSDT", T.MARKET, Side.SELL, D("1"), client_id="x", reduce_only=True
        )


async def test_reduce_only_is_clamped_to_the_position(ex: PaperExchange) -> None:
    await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("0.3"), client_id="e")
    order = await ex.create_order(
        "BTCUSDT", T.MARKET, Side.SELL, D("1"), client_id="x", reduce_only=True
    )
    assert order.filled == D("0.3") and await ex.fetch_positions() == []


async def test_a_client_id_is_accepted_once(ex: PaperExchange) -> None:
    await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("0.1"), client_id="same")
    with pytest.raises(DuplicateClientId):
        await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("0.1"), client_id="same")


async def test_finished_orders_leave_memory_but_not_the_venue(
    ex: PaperExchange, venue: PaperVenue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory holds open orders and the latest finished ones; older ones are read from the store,
    and their client ids stay taken."""
    monkeypatch.setattr("webhook_app.exchanges.paper.FINISHED_KEPT", 3)
    for i in range(6):
        await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("0.01"), client_id=f"m{i}")
    await venue.store.run(lambda conn: None)  # the writes have landed
    assert list(ex.finished) == ["m3", "m4", "m5"] and "m0" not in ex.orders
    old = await ex.fetch_order("m0", "BTCUSDT")
    assert old is not None and (old.status, old.filled) == ("closed", D("0.01"))
    with pytest.raises(DuplicateClientId):
        await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("0.01"), client_id="m0")


async def test_limit_rests_then_fills_at_its_price_as_maker(ex: PaperExchange) -> None:
    order = await ex.create_order("BTCUSDT", T.LIMIT, Side.BUY, D("1"), D("39500"), client_id="l")
    assert order.status == "open"
    await ex.feed_price("BTCUSDT", D("39400"))
    filled = await ex.fetch_order("l", "BTCUSDT")
    assert filled is not None and (filled.status, filled.average, filled.fee) == (
        "closed",
        D("39500"),
        0,
    )


async def test_a_limit_fills_only_as_much_as_traded(ex: PaperExchange, venue: PaperVenue) -> None:
    await ex.create_order("BTCUSDT", T.LIMIT, Side.BUY, D("1"), D("39500"), client_id="l")
    await venue.feed_price("BTCUSDT", D("39400"), volume=D("0.3"))
    part = await ex.fetch_order("l", "BTCUSDT")
    assert part is not None and (part.status, part.filled, part.remaining) == (
        "open",
        D("0.3"),
        D("0.7"),
    )
    await venue.feed_price("BTCUSDT", D("39300"), volume=D("5"))
    done = await ex.fetch_order("l", "BTCUSDT")
    assert done is not None and (done.status, done.filled, done.average) == (
        "closed",
        D("1"),
        D("39500"),
    )
    (position,) = await ex.fetch_positions()
    assert position.size == D("1")


async def test_stop_through_the_market_is_refused(ex: PaperExchange) -> None:
    with pytest.raises(OrderRejected, match="would trigger immediately"):
        await ex.create_order(
            "BTCUSDT",
            T.STOP,
            Side.SELL,
            D("1"),
            client_id="s",
            trigger_price=D("40100"),
            reduce_only=True,
        )


async def test_margin_beyond_max_leverage_is_refused(ex: PaperExchange) -> None:
    with pytest.raises(OrderRejected, match="insufficient margin"):
        await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("3"), client_id="big")  # 120k > 100k


async def test_reversal_closes_one_trade_and_opens_the_next(ex: PaperExchange) -> None:
    await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("1"), client_id="a")
    await ex.feed_price("BTCUSDT", D("40100"))
    await ex.create_order("BTCUSDT", T.MARKET, Side.SELL, D("2"), client_id="b")
    (position,) = await ex.fetch_positions()
    assert (position.size, position.entry_price) == (D("-1"), D("40100"))


async def test_amend_and_cancel(ex: PaperExchange) -> None:
    order = await ex.create_order("BTCUSDT", T.LIMIT, Side.BUY, D("1"), D("39000"), client_id="l")
    amended = await ex.amend_order(order.id, "BTCUSDT", amount=D("2"), price=D("39100"))
    assert (amended.amount, amended.price) == (D("2"), D("39100"))
    cancelled = await ex.cancel_order(order.id, "BTCUSDT")
    assert cancelled.status == "canceled" and await ex.fetch_open_orders() == []


async def test_events_report_orders_fills_and_positions(ex: PaperExchange) -> None:
    events: list[ExchangeEvent] = []
    ex.subscribe(events.append)
    await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("1"), client_id="e")
    kinds = [e.kind for e in events]
    assert kinds[:3] == ["order", "fill", "position"] and "balance" in kinds
    fill = events[1]
    assert (fill.fill_amount, fill.fill_price) == (D("1"), D("40000"))


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    venue = PaperVenue(tmp_path)
    ex = venue.exchange(ACCOUNT)
    await ex.start()
    await venue.feed_price("BTCUSDT", D("40000"))
    await ex.create_order("BTCUSDT", T.MARKET, Side.BUY, D("1"), client_id="e")
    await ex.create_order(
        "BTCUSDT",
        T.STOP,
        Side.SELL,
        D("1"),
        client_id="s",
        trigger_price=D("39000"),
        reduce_only=True,
    )
    await venue.close()

    venue2 = PaperVenue(tmp_path)
    ex2 = venue2.exchange(ACCOUNT)
    await ex2.start()
    (position,) = await ex2.fetch_positions()
    assert position.size == D("1")
    (stop,) = await ex2.fetch_open_orders()
    assert stop.client_id == "s"
    with pytest.raises(DuplicateClientId):
        await ex2.create_order("BTCUSDT", T.MARKET, Side.BUY, D("1"), client_id="e")
    await venue2.feed_price("BTCUSDT", D("38900"))  # the restored stop still works
    assert await ex2.fetch_positions() == []
    await venue2.close()


async def test_latency_is_applied_to_every_call(tmp_path: Path) -> None:
    venue = PaperVenue(tmp_path, latency_ms=40)
    ex = venue.exchange(ACCOUNT)
    await ex.start()
    started = time.perf_counter()
    await ex.fetch_balance()
    assert time.perf_counter() - started >= 0.035
    await venue.close()


@pytest.mark.parametrize("ticker", ["BTC-USDT", "BTC/USDT", "x", "B" * 41])
def test_paper_accepts_letters_and_digits_only(ex: PaperExchange, ticker: str) -> None:
    with pytest.raises(OrderRejected, match="unknown ticker"):
        ex.market(ticker)


def test_perp_suffix_maps_to_the_symbol(ex: PaperExchange) -> None:
    assert ex.market("btcusdt.P").symbol == "BTCUSDT"
