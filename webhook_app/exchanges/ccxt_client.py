"""Building the ccxt client of one account: class, keys, testnet, timeouts and optional base URLs.

ccxt is imported here, on first use, and only when an account trades on a ccxt venue: the import
costs about 0.6 s and 100 MB. An account that streams gets the ccxt.pro class of its venue, a
subclass of the REST one: one client serves both, with one set of markets and keys.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from ..accounts import Account
from ..errors import ConfigError
from .ccxt_recipes import Recipe, recipe_for


def quiet_ccxt_logs() -> None:
    """ccxt logs every request's headers at DEBUG, the API key among them: never below INFO."""
    logging.getLogger("ccxt").setLevel(max(logging.INFO, logging.getLogger("ccxt").level))


def streams(account: Account) -> bool:
    """Push streams are used where asked for (by default where they are tested: see
    Recipe.streams), unless the REST calls go elsewhere (a proxy, a fake) and no websocket address
    says where the streams are: they would reach the real venue."""
    wanted = account.stream
    if wanted is None:
        wanted = recipe_for(account.exchange, account.market).streams
    return wanted and (account.api_url is None or account.ws_url is not None)


def make_client(account: Account, recipe: Recipe, credentials: dict[str, str]) -> Any:
    """A ccxt exchange for the account (not yet connected: nothing is sent)."""
    if streams(account):
        import ccxt.pro as ccxt
    else:
        import ccxt.async_support as ccxt  # type: ignore[no-redef]

    quiet_ccxt_logs()

    config: dict[str, Any] = {
        "apiKey": credentials.get("key", ""),
        "secret": credentials.get("secret", ""),
        "timeout": account.timeout_ms,
        "enableRateLimit": account.rate_limit,  # ccxt's throttle: under the venue's weights
        "options": dict(recipe.options),
    }
    if credentials.get("password"):
        config["password"] = credentials["password"]
    client = getattr(ccxt, recipe.ccxt_id)(config)
    if account.sandbox:
        try:
            client.set_sandbox_mode(True)  # swaps urls['api']: before any rewrite
        except ccxt.NotSupported:
            raise ConfigError(
                f"accounts.{account.name}: {account.exchange} {account.market} has no testnet "
                "in ccxt; set sandbox = false to trade it live"
            ) from None
    if account.api_url:
        client.timeout_on_exit = 0  # no TLS to tear down gracefully on a plain-HTTP base URL
        rewrite_urls(client, account.api_url.rstrip("/"))
        if recipe.venue == "binance":
            route_binance_errors_by_path(client)
    if account.ws_url and streams(account):
        rewrite_urls(client, account.ws_url.rstrip("/"), websockets=True)
    return client


def rewrite_urls(exchange: Any, base_url: str, *, websockets: bool = False) -> None:
    """Point every REST entry of exchange.urls['api'] (nested too) at base_url, keeping paths;
    with `websockets`, every websocket entry instead.

    'https://fapi.binance.com/fapi/v1' -> base/fapi/v1; Bybit 'https://api.{hostname}' and OKX
    'https://{hostname}' -> base (ccxt's sign() appends /v5/... and /api/v5/...);
    'wss://fstream.binance.com/ws' -> ws-base/ws. Call it after set_sandbox_mode(True), which
    swaps urls['api'].
    """

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            parts = urlsplit(value.replace("{hostname}", "placeholder"))
            if (parts.scheme in ("ws", "wss")) != websockets:
                return value
            return base_url + parts.path
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        return value

    exchange.urls["api"] = fix(exchange.urls["api"])


def route_binance_errors_by_path(exchange: Any) -> None:
    """ccxt's binance picks its per-market error table from the URL *hostname*
    (https://fapi.binance.com/...). Behind rewrite_urls no table matches, so -2019 (margin
    insufficient), -4116 (duplicate id), -2022/-4164 (InvalidOrder) degrade to ExchangeError.
    Re-key that lookup on the path."""
    prefixes = (
        ("/fapi/", "linear"),
        ("/dapi/", "inverse"),
        ("/eapi/", "option"),
        ("/papi/", "portfolioMargin"),
        ("/api/", "spot"),
        ("/sapi/", "spot"),
    )

    def get_exceptions_by_url(url: str | None, exact_or_broad: str) -> dict[str, Any]:
        path = urlsplit(url or "").path
        for prefix, market_type in prefixes:
            if path.startswith(prefix):
                table = exchange.safe_dict(exchange.exceptions, market_type, {})
                return dict(exchange.safe_dict(table, exact_or_broad, {}))
        return {}

    exchange.get_exceptions_by_url = get_exceptions_by_url
