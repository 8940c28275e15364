"""The chart of a relayed study alert: candles from the account's venue, the trade's levels on
them, saved under DATA_DIR and attached to the Discord message, all within the chart budget.
Without a picture (no candles, too slow, an error) the message goes anyway, saying why."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from pathlib import Path

from ..charts import ChartRenderer, ChartSpec, Level
from ..errors import BotError
from ..exchanges.base import Candle, Market, Order, Position
from ..exchanges.candles import normalize_timeframe
from ..models import Alert, OrderPlan, r_multiple
from ..venues import Venue

logger = logging.getLogger(__name__)

DEFAULT_TIMEFRAME = "1h"
ATTACHMENT = "chart.png"


def timeframe_of(interval: str | None) -> str:
    try:
        return normalize_timeframe(interval) if interval else DEFAULT_TIMEFRAME
    except ValueError:
        return DEFAULT_TIMEFRAME


def trade_levels(alert: Alert, plan: OrderPlan | None) -> tuple[Level, ...]:
    """Entry, stop and every take-profit, with their prices (and R multiples) as labels."""
    entry = plan.entry_price if plan and plan.entry_price else alert.price
    stop = plan.stop_price if plan and plan.stop_price else alert.stop_loss
    levels: list[Level] = []
    if entry is not None:
        levels.append(Level("entry", entry, f"entry {_p(entry)}"))
    if stop is not None:
        levels.append(Level("stop", stop, f"SL {_p(stop)}"))
    targets = [(s.role, s.trigger_price) for s in (plan.take_profits() if plan else ())]
    if not targets and alert.take_profit is not None:
        targets = [("tp", alert.take_profit)]
    for role, price in targets:
        assert price is not None
        r_mult = r_multiple(price, entry, stop)
        r = f" · {r_mult:.2f} R" if r_mult is not None else ""
        levels.append(Level("tp", price, f"{role.upper()} {_p(price)}{r}"))
    return tuple(levels)


def _p(price: Decimal) -> str:
    """A price as a trader reads it: six significant digits (1.24164, 40150)."""
    return f"{float(price):.6g}"


def trade_title(symbol: str, timeframe: str, alert: Alert, plan: OrderPlan | None) -> str:
    side = alert.side.direction if alert.side else ""
    size = f" · size {float(plan.size):.6g}" if plan and plan.size else ""
    tp = alert.take_profit
    r = r_multiple(tp, plan.entry_price, plan.stop_price) if plan and tp is not None else None
    risk = f" · TP {r:.2f} R" if r is not None else ""
    return f"{symbol} {timeframe} · {side}{size}{risk}"


def book_levels(positions: list[Position], orders: list[Order]) -> tuple[Level, ...]:
    """For !chart: the open position's entry and the resting orders."""
    levels = [
        Level("entry", p.entry_price, f"position {p.size} @ {p.entry_price}")
        for p in positions
        if p.entry_price
    ]
    for order in orders:
        price = order.trigger_price or order.price
        if price is not None:
            kind = (
                "stop"
                if order.type.value == "stop"
                else ("tp" if order.type.value == "take_profit" else "order")
            )
            levels.append(Level(kind, price, f"{order.type.value} {order.amount} @ {_p(price)}"))
    return tuple(levels)


async def fetch_candles(
    venue: Venue, market: Market, timeframe: str, count: int, timeout_s: float
) -> tuple[list[Candle], str]:
    try:
        candles = await asyncio.wait_for(
            venue.exchange.fetch_ohlcv(market.symbol, timeframe, None, count), timeout_s
        )
    except TimeoutError:
        return [], "the candles did not come in time"
    except BotError as e:
        return [], f"no candles: {e.message}"
    return list(candles), ""


async def chart_for_alert(
    renderer: ChartRenderer,
    venue: Venue,
    market: Market,
    alert: Alert,
    plan: OrderPlan | None,
    *,
    candles: int,
) -> tuple[bytes | None, str]:
    """(PNG, "") or (None, why): candles and drawing together stay within the budget."""
    started = time.monotonic()
    timeframe = timeframe_of(alert.interval)
    bars, why = await fetch_candles(venue, market, timeframe, candles, renderer.budget_s)
    if not bars:
        return None, why or f"no candles for {market.symbol} {timeframe} yet"
    spec = ChartSpec(
        symbol=market.symbol,
        interval=timeframe,
        candles=bars,
        levels=trade_levels(alert, plan),
        signal_time=int(alert.fired_at.timestamp() * 1000) if alert.fired_at else None,
        title=trade_title(market.symbol, timeframe, alert, plan),
    )
    left = renderer.budget_s - (time.monotonic() - started)
    return await renderer.render_within_budget(spec, budget_s=max(left, 0.05))


async def chart_for_symbol(
    renderer: ChartRenderer,
    venue: Venue,
    market: Market,
    timeframe: str,
    *,
    candles: int,
    budget_s: float,
) -> tuple[bytes | None, str]:
    """`!chart`: the symbol's candles with the account's position and open orders on them."""
    bars, why = await fetch_candles(venue, market, timeframe, candles, budget_s)
    if not bars:
        return None, why or f"no candles for {market.symbol} {timeframe} yet"
    positions = [p for p in venue.book.positions.values() if p.symbol == market.symbol]
    orders = list(venue.book.open_orders(market.symbol))
    held = f" · position {positions[0].size}" if positions else " · flat"
    spec = ChartSpec(
        symbol=market.symbol,
        interval=timeframe,
        candles=bars,
        levels=book_levels(positions, orders),
        title=f"{market.symbol} {timeframe}{held} · {len(orders)} open order(s)",
    )
    return await renderer.render_within_budget(spec, budget_s=budget_s)


def save_chart(data_dir: Path, alert_id: str, png: bytes) -> Path:
    """charts/<alert id>.png under DATA_DIR: the user can open it; the relay attaches it."""
    folder = data_dir / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{alert_id}.png"
    path.write_bytes(png)
    return path


def with_chart(
    payload: dict[str, object], path: Path | None, why: str, chart_url: str | None
) -> dict[str, object]:
    """The study message with its image attached, or with a line saying why there is none."""
    out = dict(payload)
    embeds = [dict(e) for e in out.get("embeds", [])]  # type: ignore[union-attr]
    if embeds and path is not None:
        embeds[0]["image"] = {"url": f"attachment://{ATTACHMENT}"}
        out["_attachments"] = [{"path": str(path), "filename": ATTACHMENT}]
    elif embeds:
        link = f" · [chart]({chart_url})" if chart_url else ""
        fields = [*embeds[0].get("fields", []), {"name": "Chart", "value": f"{why}{link}"}]
        embeds[0]["fields"] = fields
    out["embeds"] = embeds
    return out
