"""The Discord side, in process against the loopback fake Discord: a 100-alert study burst against
its rate limit, approval → order at the paper exchange, and chart rendering and its cost to a
relayed message."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import PASSPHRASE, stats
from tests.fakes.discord_webhooks import FakeDiscordWebhooks
from webhook_app.charts import render_png
from webhook_app.config import load_settings
from webhook_app.plan_rows import client_id_for
from webhook_app.relay.poster import MAX_EMBED_CHARS, MAX_EMBEDS, embed_chars
from webhook_app.web.app import init_app, serve_on_loopback
from webhook_app.web.keys import CORE

STUDY = "/tradingview-to-discord-study"
ORDER = "/tradingview-to-webhook-order"
HOUR_MS = 3_600_000
BENCH_TOKEN = "bench-token-0123456789"  # noqa: S105 - a throwaway for a loopback run


def study_body(i: int, ticker: str = "BTCUSDT", **extra: Any) -> dict[str, Any]:
    return {
        "ticker": ticker,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "interval": "60",
        "action": "buy",
        "type": "limit",
        "price": 40000 + i,
        "message": "entry",
        "long SL": 39800,
        "long TP": 41000,
        "tp Close": 15,
        "tp1 Mult": 0.75,
        "tp2 Mult": 1.5,
        "passphrase": PASSPHRASE,
        "chart_url": "https://www.tradingview.com/chart/x",
        **extra,
    }


@asynccontextmanager
async def app_with_discord(
    fake: FakeDiscordWebhooks, **env: str
) -> AsyncIterator[tuple[str, Any, Path]]:
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as tmp:
        settings = load_settings(
            {
                "WEBHOOK_PASSPHRASE": PASSPHRASE,
                "DATA_DIR": tmp,
                "ACCOUNTS_FILE": "",
                "DISCORD_STUDY_URL": fake.url("study"),
                **env,
            },
            env_file=None,
        )
        app = init_app(settings)
        runner, base = await serve_on_loopback(app)
        try:
            yield base, app[CORE], Path(tmp)
        finally:
            await runner.cleanup()


async def study_burst(n: int = 100) -> dict[str, Any]:
    """n study alerts at once against Discord's limit (5 per 2 s, as the fake enforces)."""
    fake = await FakeDiscordWebhooks(limit=5, period_s=2.0).start()
    try:
        async with app_with_discord(fake) as (base, _core, _dir), aiohttp.ClientSession() as http:
            started = time.monotonic()

            async def post(i: int) -> None:
                async with http.post(base + STUDY, json=study_body(i, ticker=f"X{i}USDT")) as r:
                    await r.read()

            await asyncio.gather(*(post(i) for i in range(n)))
            await fake.wait_for(lambda: len(fake.embeds("study")) >= n, limit_s=120)
            took = fake.delivered("study")[-1].at - started
            messages = fake.delivered("study")
            # A lower bound on messages: 10 embeds and 6,000 embed characters each.
            chars = sum(map(embed_chars, fake.embeds("study")))
            fewest = max(math.ceil(n / MAX_EMBEDS), math.ceil(chars / MAX_EMBED_CHARS))
            fastest = (math.ceil(fewest / fake.limit) - 1) * fake.period_s
            return {
                "alerts": n,
                "messages": len(messages),
                "fewest_messages": fewest,
                "seconds": round(took, 2),
                "minimum_seconds": round(fastest, 2),
                "ratio_to_minimum": round(took / fastest, 2) if fastest else None,
                "requests_429": sum(r.status == 429 for r in fake.received),
                "inside_retry_after": len(fake.violations),
            }
    finally:
        await fake.close()


async def approval_to_order(n: int = 20, latency_ms: float = 50.0) -> dict[str, Any]:
    """Approve (what the desk's button sends) → the entry accepted at the paper exchange."""
    fake = await FakeDiscordWebhooks(limit=50, period_s=1.0).start()
    gaps: list[float] = []
    try:
        async with (
            app_with_discord(fake, PAPER_LATENCY_MS=str(latency_ms)) as (
                base,
                core,
                data_dir,
            ),
            aiohttp.ClientSession() as http,
        ):
            for i in range(n):
                body = study_body(i, ticker=f"A{i}USDT")
                async with http.post(base + STUDY, json=body) as r:
                    relayed = await r.json()
                approval = {
                    **body,
                    "alert_id": relayed["alert_id"],
                    "approval": True,
                    "approver": "bench",
                }
                sent = time.time()
                async with http.post(base + ORDER, params={"wait": "2.5"}, json=approval) as r:
                    await r.read()
                stamp = _entry_stamp(data_dir, relayed["alert_id"])
                if stamp is not None:
                    gaps.append(stamp - sent * 1000)
            del core
    finally:
        await fake.close()
    return {
        "n": n,
        "latency_ms": latency_ms,
        "approval_to_entry_ms": stats(gaps, 1),
    }


def _entry_stamp(data_dir: Path, alert_id: str) -> float | None:
    with sqlite3.connect(f"file:{data_dir / 'paper.sqlite3'}?mode=ro", uri=True) as conn:
        row = conn.execute(
            "SELECT timestamp FROM paper_orders WHERE client_id=?",
            (client_id_for(alert_id, "entry"),),
        ).fetchone()
    return row[0] if row else None


async def charts(n: int = 10) -> dict[str, Any]:
    """Render time, and a relayed message's time to the channel with and without its chart."""
    from tests.webhook_app.test_charts import spec

    render_spec = spec()
    render_png(render_spec)  # the first one imports mplfinance
    renders = []
    for _ in range(n):
        began = time.perf_counter()
        render_png(render_spec)
        renders.append((time.perf_counter() - began) * 1000)
    fake = await FakeDiscordWebhooks(limit=50, period_s=1.0).start()
    try:
        async with app_with_discord(fake, CHART_BUDGET_MS="3000") as (base, core, _dir):
            await _feed_history(core, "BTCUSDT")
            core.charts.warm_up()
            await asyncio.sleep(1.5)
            with_image = await _to_channel(fake, base, n, "BTCUSDT")
            without = await _to_channel(fake, base, n, "NOCANDLEUSDT")
    finally:
        await fake.close()
    return {
        "render_ms": stats(renders, 1),
        "to_channel_with_chart_ms": stats(with_image, 1),
        "to_channel_without_chart_ms": stats(without, 1),
    }


async def _feed_history(core: Any, symbol: str) -> None:
    now_ms = time.time() * 1000
    for i in range(150, 0, -1):
        await core.paper.feed_price(
            symbol, Decimal(40000 + 30 * (i % 11)), time_ms=now_ms - i * HOUR_MS
        )


async def _to_channel(fake: FakeDiscordWebhooks, base: str, n: int, ticker: str) -> list[float]:
    out = []
    async with aiohttp.ClientSession() as http:
        for i in range(n):
            before = len(fake.delivered("study"))
            began = time.monotonic()
            async with http.post(base + STUDY, data=json.dumps(study_body(i, ticker))) as r:
                await r.read()
            await fake.wait_for(lambda b=before: len(fake.delivered("study")) > b, limit_s=30)
            out.append((fake.delivered("study")[-1].at - began) * 1000)
    return out


async def event_latency(n: int = 20) -> dict[str, Any]:
    """A paper fill (a price that reaches a take-profit) → its line at the fake Discord, and
    → its event at a websocket client of /api/stream."""
    fake = await FakeDiscordWebhooks(limit=500, period_s=1.0).start()
    to_discord: list[float] = []
    to_stream: list[float] = []
    try:
        async with (
            app_with_discord(fake, DISCORD_LOGS_URL=fake.url("logs"), API_TOKEN=BENCH_TOKEN) as (
                base,
                core,
                _dir,
            ),
            aiohttp.ClientSession() as http,
        ):
            headers = {"Authorization": f"Bearer {BENCH_TOKEN}"}
            async with http.ws_connect(base + "/api/stream", headers=headers) as ws:
                for i in range(n):
                    symbol = f"E{i}USDT"
                    body = {
                        **study_body(i, ticker=symbol),
                        "type": "market",
                        "price": 40000,
                        "tp Close": 50,
                        "tp1 Mult": 1,
                        "risk": 0.05,  # small positions: twenty of them stay inside the margin
                    }
                    body.pop("chart_url")
                    async with http.post(base + ORDER, params={"wait": "2.5"}, json=body) as r:
                        await r.read()
                    before = len(fake.delivered("logs"))
                    began = time.monotonic()
                    await core.paper.feed_price(symbol, Decimal(40200))  # TP1 fills
                    while True:
                        message = await ws.receive_json(timeout=10)
                        if message["type"] == "fill_update" and message["data"]["role"] == "tp1":
                            to_stream.append((time.monotonic() - began) * 1000)
                            break
                    await fake.wait_for(
                        lambda b=before: any(
                            "TP1 filled" in str(r.payload) for r in fake.delivered("logs")[b:]
                        ),
                        limit_s=10,
                    )
                    hit = next(
                        r for r in fake.delivered("logs")[before:] if "TP1 filled" in str(r.payload)
                    )
                    to_discord.append((hit.at - began) * 1000)
    finally:
        await fake.close()
    return {
        "n": n,
        "fill_to_stream_ms": stats(to_stream, 1),
        "fill_to_discord_ms": stats(to_discord, 1),
    }
