"""The ccxt side: URL rewrite, Binance error routing fix and the exchange factory."""

from __future__ import annotations

from typing import Any

from webhook_app.exchanges.ccxt_client import (
    quiet_ccxt_logs,
    rewrite_urls,
    route_binance_errors_by_path,
)

from .fixtures import market_fixture
from .model import API_KEY, API_PASSWORD, API_SECRET, MARKET_TYPES, VENUES


def exchange_id(venue: str, market_type: str) -> str:
    """The ccxt class for a venue/market combo: binanceusdm for Binance USDT-M futures."""
    if venue not in VENUES or market_type not in MARKET_TYPES:
        raise ValueError(f"unsupported combo {venue}/{market_type}")
    return "binanceusdm" if (venue, market_type) == ("binance", "swap") else venue


def exchange_options(venue: str, market_type: str) -> dict[str, Any]:
    """Options connect() sets: account-mode flags that would otherwise cost a request, the
    default market type, and the OKX create route."""
    default_type = {"binance": "future" if market_type == "swap" else "spot"}.get(
        venue, market_type
    )
    options: dict[str, Any] = {"defaultType": default_type}
    if venue == "bybit":
        # else ccxt first asks GET /v5/user/query-api which account mode the key has
        options |= {
            "enableUnifiedAccount": True,
            "enableUnifiedMargin": False,
            "defaultSubType": "linear",
        }
    if venue == "okx":
        # one object per request on /trade/order; batch-orders (ccxt's default) works too
        options["createOrder"] = "privatePostTradeOrder"
    return options


async def connect(
    venue: str,
    market_type: str,
    base_url: str,
    *,
    sandbox: bool = False,
    timeout_ms: int = 1000,
    markets: list[dict[str, Any]] | None = None,
    preload_markets: bool = True,
    options: dict[str, Any] | None = None,
    **config: Any,
) -> Any:
    """A ccxt.async_support exchange wired to the fake at base_url; nothing leaves loopback.

    With preload_markets the fixture is installed with set_markets(), so load_markets() makes
    no request; without it, load_markets() fetches the fake's own markets endpoints.
    Await exchange.close() when done.
    """
    import ccxt.async_support as ccxt_async  # slow import (~0.7 s): only when a test connects

    quiet_ccxt_logs()

    cfg: dict[str, Any] = {
        "apiKey": API_KEY,
        "secret": API_SECRET,
        "password": API_PASSWORD,
        "enableRateLimit": False,  # the throttler only adds 50-100 ms per call on loopback
        "timeout": timeout_ms,
        "options": exchange_options(venue, market_type) | (options or {}),
    }
    cfg.update(config)
    exchange = getattr(ccxt_async, exchange_id(venue, market_type))(cfg)
    exchange.timeout_on_exit = 0  # close() otherwise sleeps 250 ms for a TLS teardown
    if sandbox:
        exchange.set_sandbox_mode(True)  # swaps urls['api'], so it must precede the rewrite
    rewrite_urls(exchange, base_url)
    if venue == "binance":
        route_binance_errors_by_path(exchange)
    if preload_markets:
        exchange.set_markets(markets if markets is not None else market_fixture(venue))
    return exchange
