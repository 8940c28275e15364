"""No position without its stop: fills during a call, restarts between orders, refusals."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from tests.helpers import PASSPHRASE, make_settings
from webhook_app.core import Core
from webhook_app.errors import OrderRejected
from webhook_app.intake import SIGNAL, TRADINGVIEW
from webhook_app.journal import ACCEPTED, Journal, NewAlert
from webhook_app.models import Alert, AlertKind, OrderType, Side
from webhook_app.plan_rows import client_id_for, order_rows
from webhook_app.planning import Facts, plan_alert


def signal(**fields: Any) -> bytes:
    import json

    body = {
        "action": "openLong",
        "ticker": "BTCUSDT",
        "price": "40000",
        "fixed": "0.5",
        "loss": "38000",
        "profit": "42000",
        "connectorName": "Testing",
        "connectorToken": PASSPHRASE,
        **fields,
    }
    return json.dumps(body).encode()


async def open_orders(core: Core) -> dict[str, Any]:
    orders = await core.venues.get("Testing").exchange.fetch_open_orders()
    return {o.client_id[16:]: o for o in orders}


async def test_a_limit_that_fills_during_its_own_call_still_gets_its_stop(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", PAPER_LATENCY_MS="200")
    async with Core(settings) as core:
        answer = await core.service.submit(
            signal(limit="39000", clientOrderId="lim-1"), dialect=SIGNAL, route="signal"
        )

        async def cross_the_limit_mid_call() -> None:
            # The call sleeps 100 ms, the venue accepts the resting limit, then 100 ms more:
            # the market crosses it in that second half, before the answer is back.
            await asyncio.sleep(0.15)
            await core.paper.feed_price("BTCUSDT", D("38900"))

        await asyncio.gather(cross_the_limit_mid_call(), core.executor.queues.drain())
        await core.executor.queues.drain()
        row = await core.journal.get(answer.body["alert_id"])
        assert row is not None and row.status == "executed"
        orders = await open_orders(core)
        assert set(orders) == {"sl", "tp"}  # the filled entry is protected
        assert orders["sl"].amount == D("0.5") and orders["sl"].trigger_price == D("38000")


async def test_a_restart_between_the_entry_and_its_stop_restores_the_stop(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    alert = Alert(
        kind=AlertKind.ENTRY,
        ticker="BTCUSDT",
        side=Side.BUY,
        price=D("40000"),
        stop_loss=D("39800"),
        take_profit=D("41000"),
        message="entry",
    )
    alert_id = "e" * 16
    async with Core(settings) as core:  # the entry reached the venue; the stop never did
        venue = core.venues.get("Testing")
        market = venue.exchange.market("BTCUSDT")
        plan = plan_alert(alert, venue.account, Facts(market=market, equity=D(10000)))
        journal = core.journal
        await journal.record_alert(
            NewAlert(
                id=alert_id,
                route="order",
                source="tradingview",
                account="Testing",
                symbol="BTCUSDT",
                idem_key="k",
                status=ACCEPTED,
                body="{}",
                alert=alert.to_json(),
            ),
            600,
        )
        await journal.save_plan(alert_id, plan.to_json(), order_rows(alert_id, plan))
        await core.paper.feed_price("BTCUSDT", D("40000"))
        await venue.exchange.create_order(
            "BTCUSDT",
            OrderType.MARKET,
            Side.BUY,
            D("0.5"),
            client_id=client_id_for(alert_id, "entry"),
        )
    async with Core(settings) as core:
        row = await core.journal.get(alert_id)
        assert row is not None and row.status == "needs_review"
        assert "protection restored for the filled 0.5: stop, tp placed" in row.message
        orders = await open_orders(core)
        assert orders["sl"].amount == D("0.5") and orders["sl"].trigger_price == D("39800")


async def test_an_order_already_at_the_venue_is_adopted_not_sent_again(tmp_path: Path) -> None:
    alert = Alert(
        kind=AlertKind.ENTRY,
        ticker="BTCUSDT",
        side=Side.BUY,
        price=D("40000"),
        stop_loss=D("39800"),
        take_profit=D("41000"),
        message="entry",
    )
    alert_id = "f" * 16
    # The stop reached the venue before a crash; resuming must adopt it, not cancel or resend it.
    settings2 = make_settings(tmp_path / "data2")
    journal = Journal(settings2.data_dir)
    await journal.start()
    await journal.record_alert(
        NewAlert(
            id=alert_id,
            route="order",
            source="tradingview",
            account="Testing",
            symbol="BTCUSDT",
            idem_key="k3",
            status=ACCEPTED,
            body="{}",
            alert=alert.to_json(),
        ),
        600,
    )
    await journal.close()
    core = Core(settings2)
    await core.paper.start()
    exchange = core.venues.get("Testing").exchange
    await exchange.start()
    await core.paper.feed_price("BTCUSDT", D("40000"))
    await exchange.create_order(
        "BTCUSDT",
        OrderType.STOP,
        Side.SELL,
        D("0.5"),
        client_id=client_id_for(alert_id, "stop"),
        trigger_price=D("39800"),
        reduce_only=True,
    )
    await core.start()
    await core.executor.queues.drain()
    row = await core.journal.get(alert_id)
    assert row is not None and row.status == "executed"
    assert "stop was already at the venue: kept, not sent again" in row.warnings
    orders = await open_orders(core)
    assert [k for k in orders if k == "sl"] == ["sl"]  # one stop, not two; nothing flattened
    assert (await exchange.fetch_positions())[0].size == D("0.5")
    await core.close()


async def test_a_refused_ladder_tp_gives_its_share_to_the_final_tp(tmp_path: Path) -> None:
    import json

    from tests.helpers import alert as alert_body

    settings = make_settings(tmp_path / "data")
    async with Core(settings) as core:
        exchange = core.venues.get("Testing").exchange
        create = exchange.create_order

        async def refuse_tp1(*args: Any, **kwargs: Any) -> Any:
            if kwargs["client_id"].endswith("t1"):
                raise OrderRejected("TP1 refused by the venue")
            return await create(*args, **kwargs)

        exchange.create_order = refuse_tp1  # type: ignore[method-assign]
        body = json.dumps(alert_body()).encode()
        answer = await core.service.submit(body, dialect=TRADINGVIEW, route="order", wait=2.5)
        assert answer.body["status"] == "executed"
        assert (
            "the final TP took over 0.075 from the refused ladder TP(s)" in answer.body["warnings"]
        )
        orders = await open_orders(core)
        # 0.35 + TP1's 0.075: the TPs still cover the whole 0.5
        assert orders["tp"].amount + orders["t2"].amount == D("0.5")
