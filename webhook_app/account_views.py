"""An account's balances, positions and open orders, in seed 004's field names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .exchanges.base import Candle, Market, Order
from .models import OrderType, Side
from .venues import Venue

_ORDER_TYPES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "STOP",
    OrderType.TAKE_PROFIT: "TAKE_PROFIT",
}


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _side(side: Side) -> str:
    return "Buy" if side is Side.BUY else "Sell"


async def balances(venue: Venue) -> list[dict[str, Any]]:
    balance = await venue.exchange.fetch_balance()
    assets = balance.assets or {balance.currency: balance.total}
    rows = [{"asset": asset, "amount": _num(amount)} for asset, amount in sorted(assets.items())]
    for row in rows:
        if row["asset"] == balance.currency:
            row.update(equity=_num(venue.book.equity()), free=_num(balance.free))
    return rows


async def positions(venue: Venue) -> list[dict[str, Any]]:
    out = []
    for p in await venue.exchange.fetch_positions():
        if not p.size:
            continue
        out.append(
            {
                "sym": p.symbol,
                "side": "Buy" if p.size > 0 else "Sell",
                "entry_price": _num(p.entry_price),
                "liq_price": None,
                "pos_size": _num(abs(p.size)),
                "unrealized_pnl": _num(p.unrealized_pnl),
                "time": int(p.timestamp),
            }
        )
    return out


def order_view(order: Order) -> dict[str, Any]:
    """Seed 004's order record, plus the trigger, reduce-only flag and our client id."""
    price = order.price if order.price is not None else order.trigger_price
    return {
        "sym": order.symbol,
        "side": _side(order.side),
        "order_price": _num(price),
        "order_size": _num(order.amount),
        "remain_size": _num(order.remaining),
        "order_type": _ORDER_TYPES.get(order.type, str(order.type).upper()),
        "time": int(order.timestamp),
        "order_id": order.id,
        "client_id": order.client_id,
        "trigger_price": _num(order.trigger_price),
        "reduce_only": order.reduce_only,
        "status": order.status,
    }


async def open_orders(venue: Venue, symbol: str | None = None) -> list[dict[str, Any]]:
    orders = await venue.exchange.fetch_open_orders(symbol)
    return [order_view(o) for o in sorted(orders, key=lambda o: (o.symbol, o.timestamp))]


def candle_view(candle: Candle) -> dict[str, Any]:
    return {
        "open": float(candle.open),
        "high": float(candle.high),
        "low": float(candle.low),
        "close": float(candle.close),
        "volume": float(candle.volume),
        "time": candle.time,
    }


async def candles(
    venue: Venue, market: Market, level: str, since: int | None, limit: int
) -> list[dict[str, Any]]:
    bars = await venue.exchange.fetch_ohlcv(market.symbol, level, since, limit)
    return [candle_view(c) for c in bars]
