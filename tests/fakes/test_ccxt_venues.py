"""ccxt 4.5.90 against the loopback fakes: six venue/market combos, every fault kind, counters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from tests.fakes.ccxt_venues import FakeVenue, Order, connect, market_fixture

COMBOS = [
    ("binance", "spot"),
    ("binance", "swap"),
    ("bybit", "spot"),
    ("bybit", "swap"),
    ("okx", "spot"),
    ("okx", "swap"),
]
DERIVATIVES = [c for c in COMBOS if c[1] == "swap"]
CID_FIELD = {"binance": "newClientOrderId", "bybit": "orderLinkId", "okx": "clOrdId"}
# what ccxt puts on the wire for {"stopLossPrice": 45000, "clientOrderId": "sl1", reduceOnly}
SL_WIRE = {
    ("binance", "spot"): (
        "/api/v3/order",
        {"type": "STOP_LOSS", "stopPrice": "45000", "newClientOrderId": "sl1"},
    ),
    ("binance", "swap"): (
        "/fapi/v1/algoOrder",
        {
            "type": "STOP_MARKET",
            "triggerPrice": "45000",
            "algoType": "CONDITIONAL",
            "reduceOnly": "true",
            "clientAlgoId": "sl1",
        },
    ),
    ("bybit", "spot"): (
        "/v5/order/create",
        {"orderFilter": "tpslOrder", "triggerPrice": "45000", "orderLinkId": "sl1"},
    ),
    ("bybit", "swap"): (
        "/v5/order/create",
        {"triggerPrice": "45000", "triggerDirection": 2, "reduceOnly": True, "orderLinkId": "sl1"},
    ),
    ("okx", "spot"): (
        "/api/v5/trade/order-algo",
        {"ordType": "conditional", "slTriggerPx": "45000", "slOrdPx": "-1", "clOrdId": "sl1"},
    ),
    ("okx", "swap"): (
        "/api/v5/trade/order-algo",
        {
            "ordType": "conditional",
            "slTriggerPx": "45000",
            "slOrdPx": "-1",
            "reduceOnly": True,
            "clOrdId": "sl1",
        },
    ),
}
TRIGGER_LIST_PARAMS = {  # fetch_open_orders params that list SL/TP orders
    ("binance", "spot"): {},  # spot stops are ordinary orders
    ("binance", "swap"): {"trigger": True},  # GET /fapi/v1/openAlgoOrders
    ("bybit", "spot"): {"orderFilter": "tpslOrder"},
    ("bybit", "swap"): {"trigger": True},  # orderFilter=StopOrder
    ("okx", "spot"): {"ordType": "conditional"},  # GET orders-algo-pending
    ("okx", "swap"): {"ordType": "conditional"},
}
TRIGGER_CANCEL_PARAMS = {
    ("binance", "spot"): {},
    ("binance", "swap"): {"trigger": True},  # DELETE /fapi/v1/algoOrder
    ("bybit", "spot"): {"orderFilter": "tpslOrder"},
    ("bybit", "swap"): {},
    ("okx", "spot"): {"trigger": True},  # POST cancel-algos
    ("okx", "swap"): {"trigger": True},
}


def venue_code(body: dict[str, Any]) -> Any:
    """The error code in a venue body: Binance code, Bybit retCode, OKX data[0].sCode."""
    if "retCode" in body:
        return body["retCode"]
    if body.get("data"):
        return body["data"][0]["sCode"]
    return body["code"]


def order_of(fake: FakeVenue, **key: str) -> Order:
    """The fake's record of one order, by client_id= or order_id=."""
    order = fake.find_order(**key)
    assert order is not None, key
    return order


def only(orders: list[Order]) -> Order:
    assert len(orders) == 1, orders
    return orders[0]


@dataclass
class Rig:
    """A started fake plus a ccxt exchange connected to it, with the per-venue call recipes."""

    fake: FakeVenue
    ex: Any
    venue: str
    market_type: str

    @property
    def combo(self) -> tuple[str, str]:
        return (self.venue, self.market_type)

    @property
    def swap(self) -> bool:
        return self.market_type == "swap"

    @property
    def symbol(self) -> str:
        return "BTC/USDT:USDT" if self.swap else "BTC/USDT"

    @property
    def amount(self) -> float:
        return 1 if self.combo == ("okx", "swap") else 0.01  # OKX swaps count contracts

    def reduce_only(self) -> dict[str, Any]:
        # Binance spot refuses the reduceOnly parameter outright (-1104); spot has no position
        return {"reduceOnly": True} if self.swap else {}

    async def fetch_by_cid(self, cid: str) -> dict[str, Any]:
        if self.venue == "bybit":
            # bybit's fetch_order(None, ...) sends orderId=None; the realtime list finds it
            found = await self.ex.fetch_open_orders(self.symbol, None, None, {"orderLinkId": cid})
            if not found:
                raise ccxt.OrderNotFound(cid)
            return found[0]
        return await self.ex.fetch_order(None, self.symbol, {"clientOrderId": cid})

    async def fetch(self, order_id: str, *, trigger: bool = False) -> dict[str, Any]:
        params: dict[str, Any] = {"acknowledged": True} if self.venue == "bybit" else {}
        if trigger and self.combo != ("binance", "spot") and self.venue != "bybit":
            params["trigger"] = True  # algo orders live in their own id space
        return await self.ex.fetch_order(order_id, self.symbol, params)


@asynccontextmanager
async def rigged(venue: str, market_type: str, **connect_kw: Any) -> AsyncIterator[Rig]:
    fake = FakeVenue(venue)
    base = await fake.start()
    ex = await connect(venue, market_type, base, **connect_kw)
    try:
        yield Rig(fake, ex, venue, market_type)
    finally:
        await ex.close()
        await fake.close()
    assert fake.crashes == [], fake.crashes


@pytest.fixture(params=COMBOS, ids=lambda c: f"{c[0]}-{c[1]}")
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with rigged(*request.param) as r:
        yield r


@pytest.fixture(params=DERIVATIVES, ids=lambda c: f"{c[0]}-{c[1]}")
async def perp(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with rigged(*request.param) as r:
        yield r


# --------------------------------------------------------------------------------------------
# Unified calls, all six combos
# --------------------------------------------------------------------------------------------
async def test_market_order_with_client_id_fills_at_mark(rig: Rig) -> None:
    rig.fake.set_price(rig.symbol, 61_000)
    created = await rig.ex.create_order(
        rig.symbol, "market", "buy", rig.amount, None, {"clientOrderId": "mkt1"}
    )
    assert created["clientOrderId"] == "mkt1"
    fetched = await rig.fetch_by_cid("mkt1")
    assert (fetched["id"], fetched["status"]) == (created["id"], "closed")
    assert fetched["filled"] == rig.amount and fetched["average"] == 61_000
    order = only(rig.fake.created_orders["mkt1"])
    assert order.client_id_field == CID_FIELD[rig.venue]
    assert order.status == "filled" and order.average == 61_000
    assert rig.fake.total_created == 1
    signed = [r for r in rig.fake.requests if r.signature_ok is not None]
    assert signed and all(r.signature_ok for r in signed)  # ccxt signed for the fake's host


async def test_limit_order_open_fetch_edit_cancel(rig: Rig) -> None:
    created = await rig.ex.create_order(
        rig.symbol, "limit", "buy", rig.amount, 50_000, {"clientOrderId": "lim1"}
    )
    fetched = await rig.fetch_by_cid("lim1")
    assert (fetched["id"], fetched["status"], fetched["price"]) == (created["id"], "open", 50_000)
    listed = await rig.ex.fetch_open_orders(rig.symbol)
    assert [o["clientOrderId"] for o in listed] == ["lim1"]

    replaces = rig.combo == ("binance", "spot")  # spot edit is cancelReplace: a new order
    edited = await rig.ex.edit_order(
        created["id"],
        rig.symbol,
        "limit",
        "buy",
        rig.amount * 2,
        51_000,
        {"clientOrderId": "lim2"} if replaces else {},
    )
    assert (edited["id"] != created["id"]) is replaces
    after = await rig.fetch(edited["id"])
    assert (after["price"], after["amount"], after["status"]) == (51_000, rig.amount * 2, "open")

    await rig.ex.cancel_order(edited["id"], rig.symbol)
    assert (await rig.fetch(edited["id"]))["status"] == "canceled"
    assert await rig.ex.fetch_open_orders(rig.symbol) == []
    with pytest.raises(ccxt.OrderNotFound):
        await rig.ex.cancel_order(edited["id"], rig.symbol)


async def test_limit_fills_when_the_price_crosses_it(rig: Rig) -> None:
    created = await rig.ex.create_order(rig.symbol, "limit", "buy", rig.amount, 59_000)
    assert rig.fake.set_price(rig.symbol, 59_500) == []
    [filled] = rig.fake.set_price(rig.symbol, 58_900)
    assert filled.id == created["id"] and filled.average == 59_000
    fetched = await rig.fetch(created["id"])
    assert (fetched["status"], fetched["filled"], fetched["average"]) == (
        "closed",
        rig.amount,
        59_000,
    )
    if rig.swap:
        assert rig.fake.positions[rig.symbol].qty == pytest.approx(0.01)


async def test_cancel_by_client_id(rig: Rig) -> None:
    await rig.ex.create_order(rig.symbol, "limit", "buy", rig.amount, 5e4, {"clientOrderId": "c1"})
    # bybit does not map clientOrderId on cancel: it needs its own orderLinkId
    params = {"orderLinkId": "c1"} if rig.venue == "bybit" else {"clientOrderId": "c1"}
    await rig.ex.cancel_order(None, rig.symbol, params)
    assert order_of(rig.fake, client_id="c1").status == "canceled"


async def test_stop_loss_and_take_profit_trigger_orders(rig: Rig) -> None:
    if rig.swap:
        await rig.ex.create_order(rig.symbol, "market", "buy", rig.amount, None)
    sl = await rig.ex.create_order(
        rig.symbol,
        "market",
        "sell",
        rig.amount,
        None,
        {"stopLossPrice": 45_000, "clientOrderId": "sl1", **rig.reduce_only()},
    )
    tp = await rig.ex.create_order(
        rig.symbol,
        "market",
        "sell",
        rig.amount,
        None,
        {"takeProfitPrice": 75_000, "clientOrderId": "tp1", **rig.reduce_only()},
    )
    sl_rec, tp_rec = order_of(rig.fake, client_id="sl1"), order_of(rig.fake, client_id="tp1")
    path, wire = SL_WIRE[rig.combo]
    assert sl_rec.path == path and wire.items() <= sl_rec.params.items()
    assert sl_rec.client_id_field == next(k for k in wire if wire[k] == "sl1")
    assert (sl_rec.trigger_price, tp_rec.trigger_price) == (45_000, 75_000)
    assert sl_rec.reduce_only is rig.swap and tp_rec.reduce_only is rig.swap

    listed = await rig.ex.fetch_open_orders(rig.symbol, None, None, TRIGGER_LIST_PARAMS[rig.combo])
    assert sorted(o["clientOrderId"] for o in listed) == ["sl1", "tp1"]
    await rig.ex.cancel_order(tp["id"], rig.symbol, TRIGGER_CANCEL_PARAMS[rig.combo])
    assert tp_rec.status == "canceled"

    rig.fake.set_price(rig.symbol, 44_000)  # crosses the stop
    assert sl_rec.status in ("filled", "triggered")  # algo orders place a new order instead
    assert (await rig.fetch(sl["id"], trigger=True))["status"] == "closed"
    if rig.swap:
        assert await rig.ex.fetch_positions([rig.symbol]) == []


WOULD_TRIGGER = {  # (ccxt class, venue code) for a sell stop already through the mark
    ("binance", "spot"): (ccxt.OrderImmediatelyFillable, -2010),
    ("binance", "swap"): (ccxt.OrderImmediatelyFillable, -2021),
    ("bybit", "spot"): (ccxt.InvalidOrder, 110093),
    ("bybit", "swap"): (ccxt.InvalidOrder, 110093),
    ("okx", "spot"): (ccxt.InvalidOrder, "51280"),
    ("okx", "swap"): (ccxt.InvalidOrder, "51280"),
}


async def test_trigger_order_on_the_wrong_side_of_the_mark_is_refused(rig: Rig) -> None:
    if rig.swap:
        await rig.ex.create_order(rig.symbol, "market", "buy", rig.amount, None)
    expected, code = WOULD_TRIGGER[rig.combo]
    with pytest.raises(expected):
        await rig.ex.create_order(
            rig.symbol,
            "market",
            "sell",
            rig.amount,
            None,
            {"stopLossPrice": 65_000, **rig.reduce_only()},
        )
    assert venue_code(rig.fake.requests[-1].response) == code
    assert rig.fake.total_created == (1 if rig.swap else 0)


async def test_fetch_balance_tracks_fills(rig: Rig) -> None:
    before = await rig.ex.fetch_balance()
    assert before["USDT"]["total"] == 10_000 and before["USDT"]["used"] == 0
    await rig.ex.create_order(rig.symbol, "market", "buy", rig.amount, None)
    after = await rig.ex.fetch_balance()
    if rig.swap:  # 0.01 BTC at 60000, 10x: 60 USDT of initial margin
        assert after["USDT"]["used"] == pytest.approx(60)
        assert after["USDT"]["free"] == pytest.approx(10_000 - 60)
    else:
        assert after["USDT"]["total"] == pytest.approx(10_000 - 600)
        assert after["BTC"]["total"] == pytest.approx(1.01)


async def test_fetch_ohlcv_is_deterministic(rig: Rig) -> None:
    rows = await rig.ex.fetch_ohlcv(rig.symbol, "1m", None, 5)
    assert len(rows) == 5 and [r[0] for r in rows] == sorted(r[0] for r in rows)
    for ts, open_, high, low, close, volume in rows:
        assert open_ == 60_000 + (ts // 60_000 % 50) * 5
        assert (high, low, close, volume) == (open_ + 7.5, open_ - 5, open_ + 2.5, 12.5)
    again = await rig.ex.fetch_ohlcv(rig.symbol, "1m", rows[0][0], 3)
    assert again == rows[:3]


async def test_load_markets_over_http_matches_the_fixture(rig: Rig) -> None:
    ex = await connect(rig.venue, rig.market_type, rig.fake.base_url, preload_markets=False)
    try:
        loaded = (await ex.load_markets())[rig.symbol]
    finally:
        await ex.close()
    want = {m["symbol"]: m for m in market_fixture(rig.venue)}[rig.symbol]
    assert (loaded["id"], loaded["type"]) == (want["id"], want["type"])
    for key in ("amount", "price"):  # binance also parses base/quote asset precisions
        assert loaded["precision"][key] == want["precision"][key]
    assert loaded["limits"]["amount"]["min"] == want["limits"]["amount"]["min"]
    assert loaded.get("contractSize") == want.get("contractSize")
    assert {r.op for r in rig.fake.requests} == {"load_markets"}
    assert all(r.status == 200 for r in rig.fake.requests)


async def test_sandbox_mode_still_reaches_only_the_fake(rig: Rig) -> None:
    ex = await connect(rig.venue, rig.market_type, rig.fake.base_url, sandbox=True)
    try:
        await ex.fetch_open_orders(rig.symbol)
    finally:
        await ex.close()
    last = rig.fake.requests[-1]
    assert last.signature_ok is True
    if rig.venue == "okx":
        assert last.headers.get("x-simulated-trading") == "1"


async def test_wrong_secret_is_an_authentication_error(rig: Rig) -> None:
    ex = await connect(rig.venue, rig.market_type, rig.fake.base_url, secret="wrong")
    try:
        with pytest.raises(ccxt.AuthenticationError):
            await ex.fetch_open_orders(rig.symbol)
    finally:
        await ex.close()
    assert rig.fake.requests[-1].signature_ok is False


# --------------------------------------------------------------------------------------------
# Client ids: venue format rules and uniqueness
# --------------------------------------------------------------------------------------------
BAD_CID = {"binance": "has space", "bybit": "x" * 37, "okx": "has-dash"}
DUPLICATE_CODE = {
    ("binance", "spot"): -2010,
    ("binance", "swap"): -4116,
    ("bybit", "spot"): 110072,
    ("bybit", "swap"): 110072,
    ("okx", "spot"): "51016",
    ("okx", "swap"): "51016",
}


async def test_bad_client_id_format_is_rejected(rig: Rig) -> None:
    with pytest.raises(ccxt.BadRequest):
        await rig.ex.create_order(
            rig.symbol, "limit", "buy", rig.amount, 50_000, {"clientOrderId": BAD_CID[rig.venue]}
        )
    assert rig.fake.total_created == 0


async def test_duplicate_client_id_is_the_venue_duplicate_error(rig: Rig) -> None:
    await rig.ex.create_order(rig.symbol, "limit", "buy", rig.amount, 5e4, {"clientOrderId": "d1"})
    with pytest.raises(ccxt.InvalidOrder):  # ccxt maps no venue's duplicate to DuplicateOrderId
        await rig.ex.create_order(
            rig.symbol, "limit", "buy", rig.amount, 50_000, {"clientOrderId": "d1"}
        )
    assert venue_code(rig.fake.requests[-1].response) == DUPLICATE_CODE[rig.combo]
    assert len(rig.fake.created_orders["d1"]) == 1


def test_client_id_rules_at_the_fake() -> None:
    rules = {
        "binance": (["a.b:c/d_e-f", "x" * 36], ["x" * 37, "a b", "a#b", ""]),
        "bybit": (["a_b-c", "x" * 36], ["x" * 37, "a.b", "a:b"]),
        "okx": (["abc123", "x" * 32], ["x" * 33, "a-b", "a_b"]),
    }
    for venue, (good, bad) in rules.items():
        api = FakeVenue(venue).api
        assert all(api.client_id_ok(c) for c in good), venue
        assert not any(api.client_id_ok(c) for c in bad), venue


# --------------------------------------------------------------------------------------------
# Derivatives: positions, reduce-only, attached SL/TP, venue specifics
# --------------------------------------------------------------------------------------------
async def test_fetch_positions_after_market_buy(perp: Rig) -> None:
    assert await perp.ex.fetch_positions([perp.symbol]) == []
    await perp.ex.create_order(perp.symbol, "market", "buy", perp.amount, None)
    perp.fake.set_price(perp.symbol, 62_000)
    [pos] = await perp.ex.fetch_positions([perp.symbol])
    assert pos["side"] == "long" and pos["entryPrice"] == 60_000
    assert pos["contracts"] == perp.amount
    assert pos["contracts"] * (pos["contractSize"] or 1) == pytest.approx(0.01)
    assert pos["unrealizedPnl"] == pytest.approx(20)  # 0.01 BTC x 2000


async def test_set_leverage_changes_the_margin_used(perp: Rig) -> None:
    await perp.ex.set_leverage(20, perp.symbol)
    assert perp.fake.leverage == 20
    await perp.ex.create_order(perp.symbol, "market", "buy", perp.amount, None)
    balance = await perp.ex.fetch_balance()
    assert balance["USDT"]["used"] == pytest.approx(30)  # 600 USDT notional at 20x


async def test_reduce_only_without_position_is_refused(perp: Rig) -> None:
    # binance -2022 / bybit 110017 -> InvalidOrder; okx 51169 is unmapped in ccxt -> ExchangeError
    expected = ccxt.ExchangeError if perp.venue == "okx" else ccxt.InvalidOrder
    with pytest.raises(expected):
        await perp.ex.create_order(
            perp.symbol, "limit", "sell", perp.amount, 70_000, {"reduceOnly": True}
        )
    assert perp.fake.total_created == 0


async def test_reduce_only_stop_expires_when_the_position_is_gone(perp: Rig) -> None:
    await perp.ex.create_order(perp.symbol, "market", "buy", perp.amount, None)
    await perp.ex.create_order(
        perp.symbol,
        "market",
        "sell",
        perp.amount,
        None,
        {"stopLossPrice": 45_000, "reduceOnly": True, "clientOrderId": "sl2"},
    )
    await perp.ex.create_order(perp.symbol, "market", "sell", perp.amount, None)  # flat now
    perp.fake.set_price(perp.symbol, 44_000)
    assert order_of(perp.fake, client_id="sl2").status == "expired"
    assert perp.fake.positions[perp.symbol].qty == 0


@pytest.mark.parametrize("venue", ["bybit", "okx"])
async def test_attached_sl_tp_arm_on_fill_and_close_the_position(venue: str) -> None:
    async with rigged(venue, "swap") as rig:
        fake, ex = rig.fake, rig.ex
        attached = {"stopLoss": {"triggerPrice": 55_000}, "takeProfit": {"triggerPrice": 65_000}}
        entry = await ex.create_order(
            rig.symbol, "limit", "buy", rig.amount, 59_000, {"clientOrderId": "att1", **attached}
        )
        rec = order_of(fake, client_id="att1")
        assert rec.attached == {"stop_loss": 55_000, "take_profit": 65_000}
        assert [o for o in fake.orders.values() if o.parent_id] == []  # nothing armed yet
        fetched = await rig.fetch(entry["id"])
        assert (fetched["stopLossPrice"], fetched["takeProfitPrice"]) == (55_000, 65_000)

        fake.set_price(rig.symbol, 59_000)  # the entry fills, the venue arms its TP/SL
        children = [o for o in fake.orders.values() if o.parent_id == rec.id]
        assert children and all(c.reduce_only and c.side == "sell" for c in children)
        params = {"trigger": True} if venue == "bybit" else {"ordType": "oco"}
        resting = await ex.fetch_open_orders(rig.symbol, None, None, params)
        assert len(resting) == len(children) == (2 if venue == "bybit" else 1)  # okx: one oco

        fake.set_price(rig.symbol, 66_000)  # take-profit fires
        assert fake.positions[rig.symbol].qty == 0
        assert [o for o in fake.orders.values() if o.pending_trigger and o.is_open] == []
        assert await ex.fetch_positions([rig.symbol]) == []


async def test_bybit_spot_attached_tp_sl_act_as_a_pair() -> None:
    async with rigged("bybit", "spot") as rig:
        attached = {"stopLoss": {"triggerPrice": 55_000}, "takeProfit": {"triggerPrice": 65_000}}
        await rig.ex.create_order(rig.symbol, "limit", "buy", 0.01, 59_000, attached)
        rig.fake.set_price(rig.symbol, 59_000)
        tpsl = {"orderFilter": "tpslOrder"}
        armed = await rig.ex.fetch_open_orders(rig.symbol, None, None, tpsl)
        assert sorted(o["triggerPrice"] for o in armed) == [55_000, 65_000]
        rig.fake.set_price(rig.symbol, 66_000)  # TP sells the 0.01 BTC, SL is dropped
        assert await rig.ex.fetch_open_orders(rig.symbol, None, None, tpsl) == []
        assert rig.fake.balances == {"USDT": pytest.approx(10_070), "BTC": pytest.approx(1)}


async def test_binance_futures_stop_fires_through_the_algo_service() -> None:
    async with rigged("binance", "swap") as rig:
        fake, ex, sym = rig.fake, rig.ex, rig.symbol
        await ex.create_order(sym, "market", "buy", 0.01, None)
        sl = await ex.create_order(
            sym,
            "market",
            "sell",
            0.01,
            None,
            {"stopLossPrice": 45_000, "reduceOnly": True, "clientOrderId": "bfSl"},
        )
        found = await ex.fetch_order(None, sym, {"clientOrderId": "bfSl", "trigger": True})
        assert found["id"] == sl["id"] and found["triggerPrice"] == 45_000
        assert fake.requests[-1].params["clientAlgoId"] == "bfSl"
        fake.set_price(sym, 44_900)
        algo = order_of(fake, order_id=sl["id"])
        assert algo.status == "triggered" and algo.spawned_id
        spawned = await ex.fetch_order(algo.spawned_id, sym)  # a regular order now
        assert (spawned["status"], spawned["reduceOnly"], spawned["average"]) == (
            "closed",
            True,
            44_900,
        )
        with pytest.raises(ccxt.OrderNotFound):  # algo ids are not regular order ids
            await ex.cancel_order(sl["id"], sym)


async def test_bybit_linear_trigger_price_needs_a_direction() -> None:
    async with rigged("bybit", "swap") as rig:
        await rig.ex.create_order(rig.symbol, "market", "buy", 0.01, None)
        with pytest.raises(ccxt.ArgumentsRequired):  # raised by ccxt, before any request
            await rig.ex.create_order(
                rig.symbol,
                "market",
                "sell",
                0.01,
                None,
                {"triggerPrice": 44_000, "reduceOnly": True},
            )
        await rig.ex.create_order(
            rig.symbol,
            "market",
            "sell",
            0.01,
            None,
            {"triggerPrice": 44_000, "triggerDirection": "descending", "reduceOnly": True},
        )
        order = rig.fake.open_orders()[-1]
        assert order.params["triggerDirection"] == 2 and order.trigger_fields == {
            "triggerPrice": 44_000
        }


async def test_bybit_lookups_and_edits_by_order_link_id() -> None:
    async with rigged("bybit", "swap") as rig:
        ex, sym = rig.ex, rig.symbol
        await ex.create_order(sym, "limit", "buy", 0.01, 50_000, {"clientOrderId": "bl1"})
        with pytest.raises(ccxt.OrderNotFound):  # ccxt sends orderId=None, which wins
            await ex.fetch_order(None, sym, {"orderLinkId": "bl1", "acknowledged": True})
        assert "orderId=None" in rig.fake.requests[-1].raw_query
        await ex.edit_order(None, sym, "limit", "buy", 0.02, 51_000, {"orderLinkId": "bl1"})
        [order] = await ex.fetch_open_orders(sym, None, None, {"orderLinkId": "bl1"})
        assert (order["amount"], order["price"]) == (0.02, 51_000)

        await ex.create_order(sym, "market", "buy", 0.01, None)
        sl = await ex.create_order(
            sym, "market", "sell", 0.01, None, {"stopLossPrice": 45_000, "reduceOnly": True}
        )
        await ex.edit_order(sl["id"], sym, "market", "sell", 0.01, None, {"triggerPrice": 46_000})
        assert order_of(rig.fake, order_id=sl["id"]).trigger_price == 46_000


async def test_okx_algo_edit_needs_the_order_price_leg() -> None:
    async with rigged("okx", "swap") as rig:
        ex, sym = rig.ex, rig.symbol
        await ex.create_order(sym, "market", "buy", 1, None)
        sl = await ex.create_order(
            sym, "market", "sell", 1, None, {"stopLossPrice": 45_000, "reduceOnly": True}
        )
        with pytest.raises(ccxt.BadRequest):  # ccxt-side check, nothing is sent
            await ex.edit_order(
                sl["id"], sym, "conditional", "sell", 1, None, {"stopLossPrice": 46e3}
            )
        await ex.edit_order(
            sl["id"],
            sym,
            "conditional",
            "sell",
            1,
            None,
            {"stopLossPrice": 46_000, "newSlOrdPx": "-1"},  # -1: market once triggered
        )
        assert rig.fake.requests[-1].path == "/api/v5/trade/amend-algos"
        assert order_of(rig.fake, order_id=sl["id"]).trigger_fields == {"slTriggerPx": 46_000}


async def test_okx_algo_client_id_can_travel_as_algoClOrdId() -> None:
    async with rigged("okx", "swap") as rig:
        await rig.ex.create_order(rig.symbol, "market", "buy", 1, None)
        await rig.ex.create_order(
            rig.symbol,
            "market",
            "sell",
            1,
            None,
            {"stopLossPrice": 45_000, "reduceOnly": True, "algoClOrdId": "oSl1"},
        )
        order = order_of(rig.fake, client_id="oSl1")
        assert order.client_id_field == "algoClOrdId"
        found = await rig.ex.fetch_order(
            None, rig.symbol, {"clientOrderId": "oSl1", "trigger": True}
        )
        assert found["id"] == order.id
        await rig.ex.cancel_order(None, rig.symbol, {"clientOrderId": "oSl1", "trigger": True})
        assert order.status == "canceled"


async def test_okx_batch_orders_route_works_too() -> None:
    options = {"createOrder": "privatePostTradeBatchOrders"}
    async with rigged("okx", "swap", options=options) as rig:
        await rig.ex.create_order(rig.symbol, "limit", "buy", 1, 50_000, {"clientOrderId": "b1"})
        assert rig.fake.requests[-1].path == "/api/v5/trade/batch-orders"
        assert isinstance(rig.fake.requests[-1].json, list)
        with pytest.raises(ccxt.InsufficientFunds):
            await rig.ex.create_order(rig.symbol, "limit", "buy", 100_000, 50_000)


# --------------------------------------------------------------------------------------------
# Fault injection: each kind, the ccxt exception it becomes, and the counters
# --------------------------------------------------------------------------------------------
async def test_latency_delays_but_succeeds(rig: Rig) -> None:
    fault = rig.fake.inject("fetch_open_orders", "latency", delay=0.15)
    started = time.monotonic()
    await rig.ex.fetch_open_orders(rig.symbol)
    assert time.monotonic() - started >= 0.15
    assert fault.hits == 1 and not fault.active
    await rig.ex.fetch_open_orders(rig.symbol)
    assert fault.hits == 1


STATUS_5XX = {  # (venue, status) -> what ccxt raises for the venue's own 5xx body
    ("binance", 502): ccxt.ExchangeNotAvailable,  # HTML from the gateway
    ("binance", 503): ccxt.OperationFailed,  # JSON -1008 "Server is currently overloaded"
    ("bybit", 502): ccxt.ExchangeNotAvailable,
    ("bybit", 503): ccxt.ExchangeNotAvailable,
    ("okx", 502): ccxt.ExchangeNotAvailable,
    ("okx", 503): ccxt.OnMaintenance,  # JSON 50001, a subclass of ExchangeNotAvailable
}


@pytest.mark.parametrize("status", [502, 503])
async def test_status_5xx(rig: Rig, status: int) -> None:
    fault = rig.fake.inject("create_order", "status_5xx", status=status)
    with pytest.raises(STATUS_5XX[(rig.venue, status)]) as err:
        await rig.ex.create_order(rig.symbol, "limit", "buy", rig.amount, 50_000)
    assert isinstance(err.value, ccxt.OperationFailed)  # the one base class for all of them
    assert fault.hits == 1 and rig.fake.total_created == 0
    await rig.ex.create_order(rig.symbol, "limit", "buy", rig.amount, 50_000)  # next one passes
    assert rig.fake.total_created == 1


async def test_rate_limit_sets_retry_after_and_counts_early_requests(rig: Rig) -> None:
    rig.fake.inject("fetch_open_orders", "rate_limit", retry_after=2)
    # Binance: any 429/418 is DDoSProtection; Bybit 10006 / OKX 50011: RateLimitExceeded
    expected = ccxt.DDoSProtection if rig.venue == "binance" else ccxt.RateLimitExceeded
    with pytest.raises(expected):
        await rig.ex.fetch_open_orders(rig.symbol)
    assert rig.ex.last_response_headers["Retry-After"] == "2"  # ccxt itself ignores it
    assert rig.fake.requests[-1].status == 429
    assert rig.fake.retry_after_until is not None and rig.fake.inside_retry_after == 0
    await rig.ex.fetch_open_orders(rig.symbol)  # too early: served, but counted
    assert rig.fake.inside_retry_after == 1 and rig.fake.requests[-1].inside_retry_after


async def test_rate_limit_window_passes(rig: Rig) -> None:
    rig.fake.inject("fetch_balance", "rate_limit", retry_after=0.05)
    with pytest.raises((ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        await rig.ex.fetch_balance()
    await asyncio.sleep(0.06)
    await rig.ex.fetch_balance()
    assert rig.fake.inside_retry_after == 0


async def test_timeout_after_accept_creates_the_order_once(rig: Rig) -> None:
    rig.ex.timeout = 250
    fault = rig.fake.inject("create_order", "timeout_after_accept", delay=5)
    with pytest.raises(ccxt.RequestTimeout):
        await rig.ex.create_order(
            rig.symbol, "limit", "buy", rig.amount, 50_000, {"clientOrderId": "to1"}
        )
    assert fault.hits == 1
    assert len(rig.fake.created_orders["to1"]) == 1  # the venue did accept it
    assert (await rig.fetch_by_cid("to1"))["status"] == "open"  # reconcile by client id...
    with pytest.raises(ccxt.InvalidOrder):  # ...a blind retry hits the duplicate check
        await rig.ex.create_order(
            rig.symbol, "limit", "buy", rig.amount, 50_000, {"clientOrderId": "to1"}
        )
    assert rig.fake.total_created == 1


async def test_not_found_for_hides_a_fresh_order(rig: Rig) -> None:
    fault = rig.fake.inject("create_order", "not_found_for", seconds=0.25)
    created = await rig.ex.create_order(
        rig.symbol, "limit", "buy", rig.amount, 50_000, {"clientOrderId": "nf1"}
    )
    assert fault.hits == 1
    with pytest.raises(ccxt.OrderNotFound):
        await rig.fetch_by_cid("nf1")
    with pytest.raises(ccxt.OrderNotFound):
        await rig.fetch(created["id"])
    assert await rig.ex.fetch_open_orders(rig.symbol) == []
    await asyncio.sleep(0.25)
    assert (await rig.fetch_by_cid("nf1"))["id"] == created["id"]


INSUFFICIENT_CODE = {
    ("binance", "spot"): -2010,
    ("binance", "swap"): -2019,
    ("bybit", "spot"): 170131,
    ("bybit", "swap"): 110007,
    ("okx", "spot"): "51008",
    ("okx", "swap"): "51008",
}


async def test_insufficient_funds_fault(rig: Rig) -> None:
    fault = rig.fake.inject("create_order", "insufficient_funds")
    with pytest.raises(ccxt.InsufficientFunds):
        await rig.ex.create_order(rig.symbol, "limit", "buy", rig.amount, 50_000)
    assert venue_code(rig.fake.requests[-1].response) == INSUFFICIENT_CODE[rig.combo]
    assert fault.hits == 1 and rig.fake.total_created == 0


async def test_insufficient_funds_from_the_balance_check(rig: Rig) -> None:
    # 10_000 USDT: spot cannot buy 2 BTC at 50000, futures cannot margin 20 BTC at 10x
    amount = (2 if not rig.swap else 20) * (100 if rig.combo == ("okx", "swap") else 1)
    with pytest.raises(ccxt.InsufficientFunds):
        await rig.ex.create_order(rig.symbol, "limit", "buy", amount, 50_000)
    assert venue_code(rig.fake.requests[-1].response) == INSUFFICIENT_CODE[rig.combo]


async def test_binance_futures_needs_the_error_routing_patch() -> None:
    async with rigged("binance", "swap") as rig:
        rig.ex.get_exceptions_by_url = type(rig.ex).get_exceptions_by_url.__get__(rig.ex)
        rig.fake.inject("create_order", "insufficient_funds")
        with pytest.raises(ccxt.ExchangeError) as err:
            await rig.ex.create_order(rig.symbol, "limit", "buy", 0.01, 50_000)
        assert type(err.value) is ccxt.ExchangeError  # -2019 lost without the path routing


REJECTS = {  # venue -> (code, message)
    "binance": (-1013, "Filter failure: LOT_SIZE"),
    "bybit": (110003, "Order price is out of permissible range"),
    "okx": ("51006", "Order price is not within the price limit"),
}


async def test_reject_with_a_venue_code(rig: Rig) -> None:
    code, msg = REJECTS[rig.venue]
    fault = rig.fake.inject("create_order", "reject", code=code, msg=msg)
    with pytest.raises(ccxt.InvalidOrder):
        await rig.ex.create_order(rig.symbol, "limit", "buy", rig.amount, 50_000)
    assert str(venue_code(rig.fake.requests[-1].response)) == str(code)
    assert fault.hits == 1 and rig.fake.total_created == 0


async def test_fault_matching_by_path_method_and_count(rig: Rig) -> None:
    path = {"binance": "/openOrders", "bybit": "/v5/order/realtime", "okx": "/orders-pending"}
    fault = rig.fake.inject(path[rig.venue], "status_5xx", count=2, method="GET", status=502)
    for _ in range(2):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await rig.ex.fetch_open_orders(rig.symbol)
    await rig.ex.fetch_open_orders(rig.symbol)
    assert fault.hits == 2 and rig.fake.fault_hits("status_5xx") == 2
    assert [r.faults for r in rig.fake.requests] == [["status_5xx"], ["status_5xx"], []]


async def test_ccxt_retry_option_rides_out_5xx(rig: Rig) -> None:
    rig.ex.options["maxRetriesOnFailure"] = 2
    rig.ex.options["maxRetriesOnFailureDelay"] = 10
    rig.fake.inject("fetch_balance", "status_5xx", count=2, status=502)
    await rig.ex.fetch_balance()
    assert len(rig.fake.requests_for("fetch_balance")) == 3


def test_inject_validates_its_arguments() -> None:
    fake = FakeVenue("okx")
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake.inject("create_order", "explode")
    with pytest.raises(ValueError, match="takes"):
        fake.inject("create_order", "latency", seconds=1)
    with pytest.raises(ValueError, match="code"):
        fake.inject("create_order", "reject")


# --------------------------------------------------------------------------------------------
# The fake without ccxt: it checks what it receives
# --------------------------------------------------------------------------------------------
UNSIGNED = {  # venue -> (private path, public path, auth status)
    "binance": ("/api/v3/openOrders?symbol=BTCUSDT", "/api/v3/klines?symbol=BTCUSDT", 401),
    "bybit": ("/v5/order/realtime?category=linear", "/v5/market/kline?category=linear", 200),
    "okx": ("/api/v5/trade/orders-pending", "/api/v5/market/candles?instId=BTC-USDT", 401),
}


@pytest.mark.parametrize("venue", list(UNSIGNED))
async def test_unsigned_private_calls_are_refused(venue: str) -> None:
    private, public, status = UNSIGNED[venue]
    async with FakeVenue(venue) as fake, aiohttp.ClientSession(fake.base_url) as http:
        async with http.get(private) as resp:
            assert resp.status == status
            body = await resp.json()
        assert venue_code(body) in (-2015, 10003, "50111")
        async with http.get(public) as resp:
            assert resp.status == 200
        assert [r.signature_ok for r in fake.requests] == [False, None]


async def test_a_fake_bug_is_reported_not_hidden() -> None:
    async with FakeVenue("bybit") as fake, aiohttp.ClientSession(fake.base_url) as http:
        fake.verify_signatures = False
        async with http.post("/v5/order/create", json=[1, 2]) as resp:
            assert resp.status == 500
            assert "fake venue crashed" in await resp.text()
        assert len(fake.crashes) == 1


@pytest.mark.parametrize("venue", ["bybit", "okx"])
async def test_a_stop_moved_past_the_market_is_refused_like_a_new_one(venue: str) -> None:
    """A sell stop moved above the mark would fire at once: the venue refuses the amend, as it
    refuses such a create, and the stop stays where it was."""
    async with rigged(venue, "swap") as rig:
        ex, sym = rig.ex, rig.symbol
        amount = 1 if venue == "okx" else 0.01
        await ex.create_order(sym, "market", "buy", amount, None)
        sl = await ex.create_order(
            sym, "market", "sell", amount, None, {"stopLossPrice": 55_000, "reduceOnly": True}
        )
        if venue == "okx":
            kind, params = "conditional", {"stopLossPrice": 65_000, "newSlOrdPx": "-1"}
        else:
            kind, params = "market", {"triggerPrice": 65_000}
        with pytest.raises(ccxt.InvalidOrder):
            await ex.edit_order(sl["id"], sym, kind, "sell", amount, None, params)
        stop = order_of(rig.fake, order_id=sl["id"])
        assert stop.is_open and stop.trigger_price == 55_000
        assert rig.fake.positions[sym].qty != 0, "the position is still there"
