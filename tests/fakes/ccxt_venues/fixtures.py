"""Market fixtures (unified dicts and raw venue instruments) and deterministic candles."""

from __future__ import annotations

from typing import Any

from .model import DEFAULT_PRICE, VENUES, Market, fmt, now_ms

# (type, venue id, amount step, price tick, min amount, contract size). TICK_SIZE numbers.
# OKX swap amounts are contracts (lotSz 0.01, ctVal 0.01 BTC), as on the live venue.
_SPECS: dict[str, list[tuple[str, str, float, float, float, float]]] = {
    "binance": [
        ("spot", "BTCUSDT", 1e-5, 0.01, 1e-5, 1.0),
        ("swap", "BTCUSDT", 1e-3, 0.1, 1e-3, 1.0),
    ],
    "bybit": [
        ("spot", "BTCUSDT", 1e-5, 0.01, 1e-5, 1.0),
        ("swap", "BTCUSDT", 1e-3, 0.1, 1e-3, 1.0),
    ],
    "okx": [
        ("spot", "BTC-USDT", 1e-5, 0.01, 1e-5, 1.0),
        ("swap", "BTC-USDT-SWAP", 0.01, 0.1, 0.01, 0.01),
    ],
}
MIN_COST = 5.0
BINANCE_SPOT_ORDER_TYPES = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]
BINANCE_FUTURES_ORDER_TYPES = [
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
]


def _unified_market(venue: str, spec: tuple[str, str, float, float, float, float]) -> dict:
    mtype, mid, step, tick, min_amount, csize = spec
    swap = mtype == "swap"
    m: dict[str, Any] = {
        "id": mid,
        "symbol": "BTC/USDT:USDT" if swap else "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "settle": "USDT" if swap else None,
        "baseId": "BTC",
        "quoteId": "USDT",
        "settleId": "USDT" if swap else None,
        "type": mtype,
        "spot": not swap,
        "margin": False,
        "swap": swap,
        "future": False,
        "option": False,
        "contract": swap,
        "linear": True if swap else None,
        "inverse": False if swap else None,
        "contractSize": csize if swap else None,
        "expiry": None,
        "expiryDatetime": None,
        "strike": None,
        "optionType": None,
        "active": True,
        "precision": {"amount": step, "price": tick},
        "limits": {
            "amount": {"min": min_amount, "max": None},
            "price": {"min": None, "max": None},
            "cost": {"min": MIN_COST, "max": None},
            "leverage": {"min": 1.0, "max": 100.0 if swap else None},
        },
    }
    if venue == "binance":
        m["lowercaseId"] = mid.lower()
    m["info"] = raw_instrument(venue, Market.from_unified(m))
    return m


def market_fixture(venue: str) -> list[dict[str, Any]]:
    """Unified market dicts (spot first, like ccxt sorts them) for exchange.set_markets().

    Each dict's `info` is exactly the raw instrument the fake serves from its markets endpoint.
    """
    if venue not in _SPECS:
        raise ValueError(f"unknown venue {venue!r}, expected one of {VENUES}")
    return [_unified_market(venue, spec) for spec in _SPECS[venue]]


def raw_instrument(venue: str, m: Market) -> dict[str, Any]:
    """The venue's own instrument record (exchangeInfo / instruments-info / instruments)."""
    return {"binance": _binance_instrument, "bybit": _bybit_instrument, "okx": _okx_instrument}[
        venue
    ](m)


_BINANCE_SPOT_STATIC = {
    "quoteAssetPrecision": 8,
    "orderTypes": BINANCE_SPOT_ORDER_TYPES,
    "icebergAllowed": True,
    "ocoAllowed": True,
    "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": False,
    "permissions": [],
    "permissionSets": [["SPOT"]],
}
_BINANCE_FUTURES_STATIC = {
    "contractType": "PERPETUAL",
    "deliveryDate": 4133404800000,
    "onboardDate": 1569398400000,
    "marginAsset": "USDT",
    "pricePrecision": 2,
    "quantityPrecision": 3,
    "underlyingType": "COIN",
    "settlePlan": 0,
    "triggerProtect": "0.0500",
    "orderTypes": BINANCE_FUTURES_ORDER_TYPES,
    "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
}


def _binance_filters(m: Market) -> list[dict[str, Any]]:
    tick, step, low = fmt(m.price_tick), fmt(m.amount_step), fmt(m.min_amount)
    filters: list[dict[str, Any]] = [
        {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000", "tickSize": tick},
        {"filterType": "LOT_SIZE", "minQty": low, "maxQty": "1000", "stepSize": step},
        {"filterType": "MARKET_LOT_SIZE", "minQty": low, "maxQty": "100", "stepSize": step},
    ]
    if m.type == "spot":
        filters.append(
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(m.min_cost),
                "applyMinToMarket": True,
                "maxNotional": "9000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            }
        )
    else:
        filters.append({"filterType": "MIN_NOTIONAL", "notional": fmt(m.min_cost)})
    return filters


def _binance_instrument(m: Market) -> dict[str, Any]:
    common = {
        "symbol": m.id,
        "status": "TRADING",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "filters": _binance_filters(m),
    }
    if m.type == "spot":
        return common | _BINANCE_SPOT_STATIC
    return common | {"pair": m.id} | _BINANCE_FUTURES_STATIC


_BYBIT_LINEAR_STATIC = {
    "contractType": "LinearPerpetual",
    "status": "Trading",
    "baseCoin": "BTC",
    "quoteCoin": "USDT",
    "settleCoin": "USDT",
    "launchTime": "1585526400000",
    "deliveryTime": "0",
    "deliveryFeeRate": "",
    "priceScale": "2",
    "fundingInterval": 480,
    "unifiedMarginTrade": True,
    "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
}


def _bybit_instrument(m: Market) -> dict[str, Any]:
    tick, step, low = fmt(m.price_tick), fmt(m.amount_step), fmt(m.min_amount)
    if m.type == "spot":
        lot = {
            "basePrecision": step,
            "quotePrecision": "0.0001",
            "minOrderQty": low,
            "maxOrderQty": "1000",
            "minOrderAmt": fmt(m.min_cost),
            "maxOrderAmt": "8000000",
        }
        return {
            "symbol": m.id,
            "baseCoin": "BTC",
            "quoteCoin": "USDT",
            "innovation": "0",
            "status": "Trading",
            "marginTrading": "utaOnly",
            "lotSizeFilter": lot,
            "priceFilter": {"tickSize": tick},
        }
    lot = {
        "maxOrderQty": "1190",
        "minOrderQty": low,
        "qtyStep": step,
        "postOnlyMaxOrderQty": "1190",
        "maxMktOrderQty": "119",
        "minNotionalValue": fmt(m.min_cost),
    }
    prices = {"minPrice": tick, "maxPrice": "1999999.80", "tickSize": tick}
    return {"symbol": m.id, **_BYBIT_LINEAR_STATIC, "priceFilter": prices, "lotSizeFilter": lot}


def _okx_instrument(m: Market) -> dict[str, Any]:
    swap = m.type == "swap"
    return {
        "instType": "SWAP" if swap else "SPOT",
        "instId": m.id,
        "uly": "BTC-USDT" if swap else "",
        "instFamily": "BTC-USDT" if swap else "",
        "baseCcy": "" if swap else "BTC",
        "quoteCcy": "" if swap else "USDT",
        "settleCcy": "USDT" if swap else "",
        "ctVal": fmt(m.contract_size) if swap else "",
        "ctMult": "1" if swap else "",
        "ctValCcy": "BTC" if swap else "",
        "ctType": "linear" if swap else "",
        "listTime": "1611916828000",
        "expTime": "",
        "lever": "100" if swap else "10",
        "tickSz": fmt(m.price_tick),
        "lotSz": fmt(m.amount_step),
        "minSz": fmt(m.min_amount),
        "maxLmtSz": "100000000",
        "maxMktSz": "10000",
        "state": "live",
        "ruleType": "normal",
        "alias": "",
    }


def candles(step_ms: int, *, start: int | None, end: int | None, limit: int) -> list[list]:
    """Deterministic OHLCV rows [ts, o, h, l, c, volume_base], oldest first.

    Prices depend only on the candle index (ts // step), so every venue and every run agrees.
    """
    now_open = now_ms() // step_ms * step_ms
    last = min(end // step_ms * step_ms, now_open) if end is not None else now_open
    if start is not None:
        first = -(-start // step_ms) * step_ms  # round up to the first candle at/after start
        count = max(0, min(limit, (last - first) // step_ms + 1))
    else:
        count = limit
        first = last - (limit - 1) * step_ms
    rows = []
    for i in range(count):
        ts = first + i * step_ms
        open_ = DEFAULT_PRICE + (ts // step_ms % 50) * 5
        rows.append([ts, open_, open_ + 7.5, open_ - 5, open_ + 2.5, 12.5])
    return rows
