"""A fill at a ccxt venue (the loopback fake Binance USDⓈ-M) → the adapter's event: pushed through
the user stream, or found by polling; and the REST requests each way costs while idle."""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from typing import Any

from bench.harness import stats
from tests.fakes.ccxt_venues import DEFAULT_PRICE, FakeVenue
from tests.helpers import VENUE_KEYS
from webhook_app.accounts import Account
from webhook_app.exchanges.base import ExchangeEvent
from webhook_app.exchanges.ccxt_venue import CcxtExchange
from webhook_app.models import OrderType, Side

PERP = "BTC/USDT:USDT"
KEYS = {"key": VENUE_KEYS["VENUE_KEY"], "secret": VENUE_KEYS["VENUE_SECRET"]}


async def fill_latency(n: int = 10, poll_s: float = 1.0, idle_s: float = 10.0) -> dict[str, Any]:
    out: dict[str, Any] = {"n": n, "poll_s": poll_s}
    async with FakeVenue("binance") as fake:
        for mode in ("stream", "poll"):
            out[mode] = await _one_mode(fake, mode, n, poll_s, idle_s)
    out["poll_vs_stream_p50"] = round(
        out["poll"]["fill_to_event_ms"]["p50"]
        / max(out["stream"]["fill_to_event_ms"]["p50"], 0.01),
        1,
    )
    return out


async def _one_mode(fake: FakeVenue, mode: str, n: int, poll_s: float, idle_s: float) -> Any:
    account = Account(
        name=f"bench-{mode}",
        exchange="binance",
        sandbox=False,
        rate_limit=False,
        api_url=fake.base_url,
        ws_url=fake.base_url.replace("http://", "ws://") if mode == "stream" else None,
        api_key_env="VENUE_KEY",
        api_secret_env="VENUE_SECRET",  # noqa: S106 - the NAME of an env var, not a secret
        poll_s=poll_s,
    )
    exchange = CcxtExchange(account, KEYS)
    heard: dict[str, float] = {}
    news = asyncio.Event()

    def listen(event: ExchangeEvent) -> None:
        if event.order is not None and event.order.filled > 0:
            heard.setdefault(event.order.id, time.monotonic())
            news.set()

    exchange.subscribe(listen)
    await exchange.start()
    try:
        if mode == "stream":
            while not exchange.stream.connected:  # noqa: ASYNC110 - ccxt's hook sets a flag
                await asyncio.sleep(0.01)
        latencies = []
        below = Decimal(str(DEFAULT_PRICE)) - 100
        for i in range(n):
            order = await exchange.create_order(
                PERP, OrderType.LIMIT, Side.BUY, Decimal("0.01"), below, client_id=f"b{mode}{i}"
            )
            await asyncio.sleep(random.uniform(0, poll_s))  # noqa: S311 - any phase of the poll
            began = time.monotonic()
            fake.set_price(PERP, float(below) - 10)  # the limit fills at the venue
            while order.id not in heard:
                news.clear()
                await news.wait()
            latencies.append((heard[order.id] - began) * 1000)
            fake.set_price(PERP, DEFAULT_PRICE)
        before = len(fake.requests)
        await asyncio.sleep(idle_s)  # nothing happens: what does listening cost?
        idle_per_min = (len(fake.requests) - before) * 60 / idle_s
    finally:
        await exchange.close()
    return {
        "fill_to_event_ms": stats(latencies, 1),
        "idle_requests_per_min": round(idle_per_min, 1),
    }
