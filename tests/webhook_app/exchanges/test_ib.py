"""Interactive Brokers through the adapter, against a fake at the ib_async boundary."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_ib import FakeIB
from tests.helpers import alert, fired, make_settings
from webhook_app.core import Core
from webhook_app.intake import TRADINGVIEW

ACCOUNTS = """
[accounts.IB]
exchange = "ib"
timeout_ms = 1000

[tickers.ib]
AAPL = "STK:AAPL:SMART:USD"
"""
SYMBOL = "STK:AAPL:SMART:USD"


def entry(**extra: Any) -> dict[str, Any]:
    """Long AAPL at 190 with the stop at 188: 1 % of 100,000 USD is 500 shares."""
    fields = {
        "subaccount": "IB",
        "ticker": "AAPL",
        "price": 190,
        "long SL": 188,
        "long TP": 195,
        "tp Close": 25,
        "tp1 Mult": 1,
        "tp2 Mult": 1.5,
        **extra,
    }
    return alert(**fields)


@pytest.fixture
async def ib(tmp_path: Path) -> AsyncIterator[tuple[Core, FakeIB]]:
    (tmp_path / "accounts.toml").write_text(ACCOUNTS)
    core = Core(make_settings(tmp_path / "data", ACCOUNTS_FILE=str(tmp_path / "accounts.toml")))
    fake = FakeIB(price=190.0)
    exchange = core.venues.get("IB").exchange
    exchange.ib = fake  # the boundary the adapter talks to (ib_async's IB in production)
    exchange.reconnect_delays = (0.01, 0.02)
    async with core:
        yield core, fake


async def send(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    answer = await core.service.submit(
        json.dumps(body).encode(), dialect=TRADINGVIEW, route="order", wait=2.5
    )
    return answer.body


def placed(fake: FakeIB) -> list[dict[str, Any]]:
    return [payload for name, payload in fake.calls if name == "placeOrder"]


async def test_an_entry_is_one_bracket_with_our_ids_in_order_ref(ib: tuple[Core, FakeIB]) -> None:
    core, fake = ib
    answer = await send(core, entry())
    assert answer["status"] == "executed", answer
    aid = answer["alert_id"]
    parent, stop, take_profit = placed(fake)
    assert (parent["orderType"], parent["action"], parent["qty"]) == ("MKT", "BUY", 500.0)
    assert parent["transmit"] is False and parent["orderRef"] == f"{aid}en"
    assert (stop["orderType"], stop["auxPrice"], stop["parentId"]) == ("STP", 188.0, 1)
    assert stop["transmit"] is False and stop["orderRef"] == f"{aid}sl"
    assert (take_profit["orderType"], take_profit["lmtPrice"]) == ("LMT", 195.0)
    assert take_profit["transmit"] is True and take_profit["orderRef"] == f"{aid}tp"
    assert take_profit["qty"] == 500.0, "one take-profit for the whole position at IB"
    assert stop["ocaGroup"] == take_profit["ocaGroup"] != ""
    assert any("one take-profit" in w for w in answer["warnings"])
    rows = {r["role"]: r for r in await core.journal.orders_for(aid)}
    assert rows["stop"]["status"] == "attached" and rows["stop"]["exchange_id"] == "2"


async def test_breakeven_modifies_the_stop_in_place(ib: tuple[Core, FakeIB]) -> None:
    core, fake = ib
    await send(core, entry())
    fake.calls.clear()
    answer = await send(
        core,
        entry(
            action="sell",
            message="tp1_breakeven",
            price=191,
            time=fired(1),
            **{"long Breakeven": 190.2},
        ),
    )
    assert answer["status"] == "executed", answer
    [modified] = placed(fake)
    assert (modified["orderId"], modified["orderType"], modified["auxPrice"]) == (2, "STP", 190.2)
    assert modified["transmit"] is True
    assert [t.order.auxPrice for t in fake.openTrades() if t.order.orderType == "STP"] == [190.2]


async def test_exit_cancels_the_children_then_closes(ib: tuple[Core, FakeIB]) -> None:
    core, fake = ib
    await send(core, entry())
    fake.calls.clear()
    answer = await send(core, entry(action="sell", message="exit", price=191, time=fired(2)))
    assert answer["status"] == "executed", answer
    names = [name for name, _ in fake.calls if name in ("cancelOrder", "placeOrder")]
    assert names == ["cancelOrder", "cancelOrder", "placeOrder"], "children go before the close"
    assert placed(fake)[-1]["orderType"] == "MKT" and placed(fake)[-1]["action"] == "SELL"
    await fake.settle()
    assert fake.positions() == [] and fake.openTrades() == []


async def test_after_a_lost_connection_orders_are_found_by_order_ref_not_resent(
    ib: tuple[Core, FakeIB],
) -> None:
    core, fake = ib
    answer = await send(core, entry())
    aid = answer["alert_id"]
    fake.drop()  # TWS restarts: ib_async clears its session
    exchange = core.venues.get("IB").exchange
    await asyncio.wait_for(exchange.connected.wait(), 2)
    stop = await exchange.fetch_order(f"{aid}sl", SYMBOL)
    assert stop is not None and stop.trigger_price == 188 and stop.is_open
    # The same alert again (a retried delivery) adopts, never places a second stop.
    before = len(placed(fake))
    from webhook_app.errors import DuplicateClientId
    from webhook_app.models import OrderType, Side

    with pytest.raises(DuplicateClientId):
        await exchange.create_order(
            SYMBOL,
            OrderType.STOP,
            Side.SELL,
            stop.amount,
            client_id=f"{aid}sl",
            trigger_price=stop.trigger_price,
        )
    assert len(placed(fake)) == before


async def test_while_disconnected_an_alert_fails_with_the_reason(ib: tuple[Core, FakeIB]) -> None:
    core, fake = ib
    fake.refuse_connect = True
    fake.drop()
    answer = await send(core, entry())
    assert answer["status"] == "failed" and "not connected" in answer["message"], answer
    assert placed(fake) == []


async def test_cancel_all_on_a_resting_bracket_cancels_it_whole(ib: tuple[Core, FakeIB]) -> None:
    """Cancelling the parent takes its children with it at IB: the children are then gone, not
    an error."""
    from webhook_app.exchanges.base import Attach
    from webhook_app.models import OrderType, Side

    core, fake = ib
    exchange = core.venues.get("IB").exchange
    attach = Attach(Decimal(178), Decimal(185), "x1sl", "x1tp")
    await exchange.create_order(
        SYMBOL,
        OrderType.LIMIT,
        Side.BUY,
        Decimal(10),
        Decimal(180),
        client_id="x1en",
        attach=attach,
    )
    await fake.settle()
    await exchange.cancel_all_orders(SYMBOL)
    await fake.settle()
    assert fake.openTrades() == []


async def test_fills_are_told_from_executions_once_at_their_own_price(
    ib: tuple[Core, FakeIB],
) -> None:
    """TWS sends the execution before the status that counts it: the fill is told from the
    execution, at its price (a stop can fill through its level), and the status adds nothing."""
    from webhook_app.events import FILL, ORDER, StreamEvent

    core, fake = ib
    fake.executions_first = True
    told: list[StreamEvent] = []
    status_when_told: list[str] = []

    def listen(event: StreamEvent) -> None:
        told.append(event)
        if event.topic == FILL and event.data["role"] == "stop":
            status_when_told.append(fake.trades()[1].orderStatus.status)

    core.events.listeners.append(listen)
    await send(core, entry())
    fake.trigger(2, price=187.5)  # the stop (order 2) fills below its 188 level: a gap
    await asyncio.sleep(0.05)
    fills = [(e.data["role"], e.data["qty"], e.data["price"]) for e in told if e.topic == FILL]
    assert fills == [("entry", "500", "190"), ("stop", "500", "187.5")]
    assert status_when_told == ["Submitted"], "told from the execution, before its status"
    stop_news = [e.data["event"] for e in told if e.topic == ORDER and e.data["role"] == "stop"]
    assert stop_news[-1] == "closed" and stop_news.count("closed") == 1
    fake.execDetailsEvent.emit(fake.trades()[1], fake.fills()[-1])  # the execution again
    await asyncio.sleep(0.01)
    assert len([e for e in told if e.topic == FILL]) == 2, "told once"


async def test_a_corrected_execution_replaces_the_one_it_corrects(ib: tuple[Core, FakeIB]) -> None:
    """IB corrects an execution by sending it again as `<base>.02`: not a second fill."""
    from dataclasses import replace

    from ib_async import Fill

    from webhook_app.events import FILL, StreamEvent

    core, fake = ib
    fake.executions_first = True
    told: list[StreamEvent] = []
    core.events.listeners.append(told.append)
    await send(core, entry())
    trade = fake.trades()[0]  # the entry: filled 500 at 190
    first = trade.fills[-1]
    corrected = replace(first.execution, execId=first.execution.execId[:-2] + "02", price=190.1)
    fill = Fill(first.contract, corrected, first.commissionReport, first.time)
    trade.fills.append(fill)
    fake.execDetailsEvent.emit(trade, fill)
    await asyncio.sleep(0.01)
    entries = [e.data["qty"] for e in told if e.topic == FILL and e.data["role"] == "entry"]
    assert entries == ["500"], "the correction is the same 500 shares, not 500 more"
