"""Loopback fake of the Binance, Bybit and OKX REST APIs for driving ccxt 4.5 async clients."""

from .client import (
    connect,
    exchange_id,
    exchange_options,
    rewrite_urls,
    route_binance_errors_by_path,
)
from .fixtures import candles, market_fixture, raw_instrument
from .model import (
    API_KEY,
    API_PASSWORD,
    API_SECRET,
    DEFAULT_PRICE,
    Fault,
    Market,
    Order,
    Position,
    RecordedRequest,
    Trigger,
)
from .venue import FakeVenue

__all__ = [
    "API_KEY",
    "API_PASSWORD",
    "API_SECRET",
    "DEFAULT_PRICE",
    "FakeVenue",
    "Fault",
    "Market",
    "Order",
    "Position",
    "RecordedRequest",
    "Trigger",
    "candles",
    "connect",
    "exchange_id",
    "exchange_options",
    "market_fixture",
    "raw_instrument",
    "rewrite_urls",
    "route_binance_errors_by_path",
]
