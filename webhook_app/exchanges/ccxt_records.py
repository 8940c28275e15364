"""ccxt's unified order, position, balance and candle dicts → our records, in base units.

OKX swaps count in contracts (0.01 BTC each); everything above the adapter counts in the base
currency, so amounts are converted here, both ways.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..models import OrderType, Side
from ..money import dec
from .base import OPEN, Balance, Candle, Order, Position

ZERO = Decimal(0)


def parse_order(raw: dict[str, Any], size: Decimal, *, trigger_book: bool = False) -> Order:
    """One ccxt order. `size` is the market's contract size (1 where amounts are base units).

    An entry carrying attached protection also shows stopLossPrice/takeProfitPrice, so only a
    triggerPrice, a trigger type (OKX `conditional`) or the venue's trigger book make an order a
    stop or a take-profit."""
    take_profit = dec(raw.get("takeProfitPrice"))
    stop = dec(raw.get("stopLossPrice"))
    trigger = dec(raw.get("triggerPrice"))
    is_trigger = trigger_book or trigger is not None or raw.get("type") not in ("limit", "market")
    if is_trigger and take_profit is not None and stop is None:
        kind, trigger = OrderType.TAKE_PROFIT, take_profit
    elif is_trigger and (trigger or stop or take_profit) is not None:
        kind, trigger = OrderType.STOP, trigger or stop or take_profit
    elif raw.get("type") == "limit":
        kind, trigger = OrderType.LIMIT, None
    else:
        kind, trigger = OrderType.MARKET, None
    amount = (dec(raw.get("amount")) or ZERO) * size
    filled = (dec(raw.get("filled")) or ZERO) * size
    fee = raw.get("fee") or {}
    return Order(
        id=str(raw.get("id")),
        client_id=str(raw.get("clientOrderId") or ""),
        symbol=str(raw.get("symbol")),
        side=Side(raw["side"]) if raw.get("side") in ("buy", "sell") else Side.BUY,
        type=kind,
        amount=amount,
        status=str(raw.get("status") or OPEN),
        price=dec(raw.get("price")) if kind is OrderType.LIMIT else None,
        trigger_price=trigger,
        reduce_only=bool(raw.get("reduceOnly")),
        filled=filled,
        average=dec(raw.get("average")),
        timestamp=float(raw.get("timestamp") or 0),
        fee=dec(fee.get("cost")) or ZERO if isinstance(fee, dict) else ZERO,
    )


def parse_position(raw: dict[str, Any], size: Decimal) -> Position | None:
    contracts = dec(raw.get("contracts"))
    if not contracts:
        return None
    signed = contracts * size * (-1 if raw.get("side") == "short" else 1)
    return Position(
        symbol=str(raw.get("symbol")),
        size=signed,
        entry_price=dec(raw.get("entryPrice")) or ZERO,
        unrealized_pnl=dec(raw.get("unrealizedPnl")) or ZERO,
        timestamp=float(raw.get("timestamp") or 0),
    )


def parse_balance(raw: dict[str, Any], currency: str, venue: str, spot: bool) -> Balance:
    """The wallet (deposits plus realized PnL), not the equity: the book adds open PnL itself,
    and Binance futures and OKX count it in their `total`."""
    entry = raw.get(currency) or {}
    total = dec(entry.get("total")) or ZERO
    free = dec(entry.get("free"))
    if not spot:
        total = _wallet(raw.get("info") or {}, currency, venue) or total
    assets = {
        asset: amount
        for asset, amount in ((k, dec(v)) for k, v in (raw.get("total") or {}).items())
        if amount
    }
    return Balance(
        currency=currency, total=total, free=total if free is None else free, assets=assets
    )


def _wallet(info: Any, currency: str, venue: str) -> Decimal | None:
    if venue == "binance" and isinstance(info, dict):
        for asset in info.get("assets") or ():
            if isinstance(asset, dict) and asset.get("asset") == currency:
                return dec(asset.get("walletBalance"))
    if venue == "okx" and isinstance(info, dict):
        for block in info.get("data") or ():
            for detail in (block or {}).get("details") or ():
                if isinstance(detail, dict) and detail.get("ccy") == currency:
                    return dec(detail.get("cashBal"))
    return None  # Bybit's total is already the wallet balance


def parse_candle(row: list[Any]) -> Candle:
    return Candle(
        time=int(row[0]),
        open=dec(row[1]) or ZERO,
        high=dec(row[2]) or ZERO,
        low=dec(row[3]) or ZERO,
        close=dec(row[4]) or ZERO,
        volume=dec(row[5]) or ZERO,
    )
