"""Chart images: what is handed to mplfinance, the PNG, and the study relay with and without it."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.discord_webhooks import FakeDiscordWebhooks
from tests.helpers import API_TOKEN, alert
from webhook_app.charts import (
    HEIGHT_PX,
    WIDTH_PX,
    ChartRenderer,
    ChartSpec,
    Level,
    chart_data,
    render_png,
)
from webhook_app.exchanges.base import Candle
from webhook_app.models import Alert, AlertKind, OrderType, Side
from webhook_app.relay.study_chart import trade_levels

STUDY = "/tradingview-to-discord-study"
HOUR_MS = 3_600_000
START_MS = 1_700_000_000_000 // HOUR_MS * HOUR_MS


def candles(n: int = 120) -> list[Candle]:
    out = []
    for i in range(n):
        base = Decimal(40000 + 10 * (i % 17))
        out.append(Candle(START_MS + i * HOUR_MS, base, base + 40, base - 35, base + 12))
    return out


def spec(**extra: Any) -> ChartSpec:
    levels = (
        Level("entry", Decimal(40000), "entry 40000"),
        Level("stop", Decimal(39800), "SL 39800"),
        Level("tp", Decimal(40150), "TP1 40150 · 0.75 R"),
        Level("tp", Decimal(41000), "TP 41000 · 5.00 R"),
    )
    fields = {
        "symbol": "BTCUSDT",
        "interval": "1h",
        "candles": candles(),
        "levels": levels,
        "signal_time": START_MS + 100 * HOUR_MS + 5,
        "title": "BTCUSDT 1h · long · size 0.5",
    }
    return ChartSpec(**{**fields, **extra})


def test_the_data_handed_to_mplfinance() -> None:
    data = chart_data(spec())
    frame = data["frame"]
    assert list(frame.columns) == ["Open", "High", "Low", "Close", "Volume"] and len(frame) == 120
    assert frame.index[0].value // 1_000_000 == START_MS
    assert data["hlines"] == [40000.0, 39800.0, 40150.0, 41000.0]
    assert data["labels"][1] == "SL 39800" and data["colors"][0] != data["colors"][1]
    assert data["signal_index"] == 100  # the bar the alert fired in is marked
    assert [i for i, m in enumerate(data["marker"]) if m == m] == [100]  # one non-NaN point
    assert data["title"] == "BTCUSDT 1h · long · size 0.5"


def test_levels_and_title_of_an_alert_carry_the_r_multiples() -> None:
    entry = Alert(
        AlertKind.ENTRY,
        "BTCUSDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        price=Decimal(40000),
        stop_loss=Decimal(39800),
        take_profit=Decimal(41000),
    )
    labels = [level.label for level in trade_levels(entry, None)]
    assert labels == ["entry 40000", "SL 39800", "TP 41000 · 5.00 R"]


def test_rendering_gives_a_png_of_the_expected_size() -> None:
    png = render_png(spec())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (WIDTH_PX, HEIGHT_PX)


async def test_a_renderer_over_its_budget_gives_up_in_time() -> None:
    def slow(_: ChartSpec) -> bytes:
        time.sleep(1.0)
        return b""

    renderer = ChartRenderer(budget_s=0.2, render=slow)
    started = time.monotonic()
    png, why = await renderer.render_within_budget(spec())
    assert png is None and "not ready within 0.2 s" in why
    assert time.monotonic() - started < 0.5
    renderer.close()


# --- the relay ------------------------------------------------------------------------------------


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscordWebhooks]:
    fake = await FakeDiscordWebhooks(limit=50, period_s=1.0).start()
    yield fake
    await fake.close()


async def with_candles(client: Any, symbol: str = "BTCUSDT", hours: int = 60) -> None:
    now_ms = time.time() * 1000
    for i in range(hours, 0, -1):
        price = Decimal(40000 + 25 * (i % 9))
        await client.core.paper.feed_price(symbol, price, time_ms=now_ms - i * HOUR_MS)


def study_body(**extra: Any) -> dict[str, Any]:
    return alert(
        type="limit", interval="60", chart_url="https://www.tradingview.com/chart/x", **extra
    )


async def test_a_study_alert_arrives_with_its_chart_attached(
    make_client: Any, discord: FakeDiscordWebhooks
) -> None:
    client = await make_client(DISCORD_STUDY_URL=discord.url("study"), CHART_BUDGET_MS="8000")
    await with_candles(client)
    status, answer = await client.post(STUDY, study_body())
    assert (status, answer["status"]) == (202, "pending_approval")
    await discord.wait_for(lambda: len(discord.delivered("study")) == 1)
    [message] = discord.delivered("study")
    assert list(message.files) == ["chart.png"] and message.files["chart.png"][:4] == b"\x89PNG"
    embed = message.payload["embeds"][0]
    assert embed["image"] == {"url": "attachment://chart.png"}
    assert message.payload["attachments"] == [{"id": 0, "filename": "chart.png"}]
    saved = client.core.settings.data_dir / "charts" / f"{answer['alert_id']}.png"
    assert saved.read_bytes() == message.files["chart.png"], "kept under DATA_DIR to open"


async def test_without_candles_the_alert_goes_at_once_saying_why(
    make_client: Any, discord: FakeDiscordWebhooks
) -> None:
    client = await make_client(DISCORD_STUDY_URL=discord.url("study"))
    started = time.monotonic()
    await client.post(STUDY, study_body(ticker="ETHUSDT", price=2000, long_SL=1990, long_TP=2050))
    await discord.wait_for(lambda: len(discord.delivered("study")) == 1)
    assert time.monotonic() - started < 1.5
    [message] = discord.delivered("study")
    assert message.files == {}
    chart = [f for f in message.payload["embeds"][0]["fields"] if f["name"] == "Chart"]
    assert chart and "no candles for ETHUSDT 1h yet" in chart[0]["value"]
    assert "https://www.tradingview.com/chart/x" in chart[0]["value"]


async def test_a_slow_renderer_never_holds_the_alert_past_the_budget(
    make_client: Any, discord: FakeDiscordWebhooks
) -> None:
    client = await make_client(DISCORD_STUDY_URL=discord.url("study"), CHART_BUDGET_MS="300")
    await with_candles(client)

    def slow(_: ChartSpec) -> bytes:
        time.sleep(2.0)
        return b""

    client.core.charts.render = slow  # the renderer the relay uses
    started = time.monotonic()
    await client.post(STUDY, study_body())
    await discord.wait_for(lambda: len(discord.delivered("study")) == 1)
    assert time.monotonic() - started < 1.2
    [message] = discord.delivered("study")
    assert message.files == {} and "not ready within 0.3 s" in str(message.payload)
    await asyncio.sleep(0)


async def test_the_api_draws_a_symbol_with_its_orders(make_client: Any) -> None:
    client = await make_client()
    await with_candles(client)
    await client.post("/tradingview-to-webhook-order", alert(), wait=2.5)
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    response = await client.http.get("/api/chart", params={"symbol": "BTCUSDT"}, headers=auth)
    assert response.status == 200 and response.content_type == "image/png"
    assert (await response.read())[:4] == b"\x89PNG"
    status, answer = await client.get("/api/chart?symbol=SOLUSDT", headers=auth)
    assert (status, answer["status"]) == (404, "not_found") and "no candles" in answer["message"]
