"""The pure parts of the venue adapters: ticker → market, ccxt errors → ours, IB contract specs,
account settings, and that no venue SDK is imported unless an account uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import pytest

from webhook_app.accounts import load_accounts_file
from webhook_app.errors import (
    ConfigError,
    DuplicateClientId,
    ExchangeUnavailable,
    OrderNotFound,
    OrderRejected,
)
from webhook_app.exchanges.ccxt_errors import retry_after, translate
from webhook_app.exchanges.ccxt_symbols import find_market
from webhook_app.exchanges.ib_contracts import parse_spec


def market(symbol: str, id: str, kind: str, **extra: Any) -> dict[str, Any]:
    base, rest = symbol.split("/")
    quote = rest.split(":")[0]
    return {
        "symbol": symbol,
        "id": id,
        "base": base,
        "quote": quote,
        "active": True,
        "spot": kind == "spot",
        "swap": kind == "swap",
        "future": kind == "future",
        "linear": kind != "spot",
        **extra,
    }


MARKETS = {
    m["symbol"]: m
    for m in (
        market("BTC/USDT", "BTCUSDT", "spot"),
        market("BTC/USDT:USDT", "BTCUSDT", "swap"),
        market("BTC/USDT:USDT-261225", "BTCUSDT_261225", "future"),
        market("ETH/USDT:USDT", "ETH-USDT-SWAP", "swap"),
        market("ETH/USDC:USDC", "ETH-USDC-SWAP", "swap"),
        market("1000PEPE/USDT:USDT", "1000PEPEUSDT", "swap"),
    )
}


@pytest.mark.parametrize(
    ("ticker", "spot", "symbol"),
    [
        ("BTCUSDT.P", False, "BTC/USDT:USDT"),  # TradingView's perpetual
        ("BINANCE:BTCUSDT.P", False, "BTC/USDT:USDT"),  # with its exchange prefix
        ("BTCUSDT", False, "BTC/USDT:USDT"),  # a perps account means the perpetual
        ("BTCUSDT", True, "BTC/USDT"),
        ("BTC/USDT:USDT", False, "BTC/USDT:USDT"),  # unified symbol
        ("ETH-USDT-SWAP", False, "ETH/USDT:USDT"),  # the venue's own id
        ("ETHUSDT.P", False, "ETH/USDT:USDT"),
        ("1000PEPEUSDT.P", False, "1000PEPE/USDT:USDT"),
    ],
)
def test_tickers_find_their_market(ticker: str, spot: bool, symbol: str) -> None:
    assert find_market(ticker, MARKETS, spot=spot)["symbol"] == symbol


@pytest.mark.parametrize(
    ("ticker", "spot", "message"),
    [
        ("DOGEUSDT.P", False, "unknown ticker DOGEUSDT.P among this venue's linear perpetuals"),
        ("BTCUSDT.P", True, "is a perpetual contract, but this account trades spot"),
        ("BTC/USDT", False, "is not a futures market"),
        ("ETHUSDC", True, "unknown ticker ETHUSDC among this venue's spot pairs"),
    ],
)
def test_unknown_tickers_are_refused_by_name(ticker: str, spot: bool, message: str) -> None:
    with pytest.raises(OrderRejected, match=message):
        find_market(ticker, MARKETS, spot=spot)


def test_an_ambiguous_ticker_lists_its_candidates() -> None:
    twins = dict(MARKETS)
    twins["BTC/USDT:USDT2"] = market("BTC/USDT:USDT2", "BTC-USDT-SWAP", "swap")
    with pytest.raises(OrderRejected, match=r"ambiguous.*BTC/USDT:USDT, BTC/USDT:USDT2"):
        find_market("BTCUSDT.P", twins, spot=False)


def test_a_near_miss_names_what_there_is() -> None:
    with pytest.raises(OrderRejected, match="similar: ETH/USDC:USDC, ETH/USDT:USDT"):
        find_market("ETHBUSD.P", MARKETS, spot=False)


SIGNED_URL = "https://fapi.binance.com/fapi/v1/order?symbol=BTCUSDT&signature=deadbeefcafe"


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (
            ccxt.InsufficientFunds('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}'),
            OrderRejected,
            "binance create x: insufficient funds: Margin is insufficient.",
        ),
        (
            ccxt.InvalidOrder('binanceusdm {"code":-4116,"msg":"ClientOrderId is duplicated."}'),
            DuplicateClientId,
            "already has an order with this client id",
        ),
        (
            ccxt.InvalidOrder('bybit {"retCode":110072,"retMsg":"OrderLinkedID is duplicate"}'),
            DuplicateClientId,
            "already has an order",
        ),
        (
            ccxt.InsufficientFunds(
                'binance {"code":-2010,"msg":"Account has insufficient balance"}'
            ),
            OrderRejected,
            "insufficient funds",
        ),
        (
            ccxt.OrderNotFound('okx {"code":"51603","msg":"Order does not exist"}'),
            OrderNotFound,
            "does not know this order",
        ),
        (
            ccxt.RequestTimeout(f"binance POST {SIGNED_URL}"),
            ExchangeUnavailable,
            "no answer in time",
        ),
        (
            ccxt.ExchangeNotAvailable(f"bybit POST {SIGNED_URL} 502 Bad Gateway <html>"),
            ExchangeUnavailable,
            "the venue is unavailable",
        ),
        (
            ccxt.AuthenticationError('okx {"code":"50113","msg":"Invalid Sign"}'),
            OrderRejected,
            "the sandbox setting: Invalid Sign",
        ),
        (
            ccxt.BadSymbol("binance does not have market symbol FOO/BAR"),
            OrderRejected,
            "unknown symbol",
        ),
    ],
)
def test_ccxt_errors_map_once_with_the_venues_reason_only(
    error: Exception, kind: type, message: str
) -> None:
    venue = str(error).split()[0].removesuffix("usdm")
    mapped = translate(error, venue, "create x")
    assert type(mapped) is kind and message in mapped.message
    assert "signature" not in mapped.message and "https://" not in mapped.message


def test_rate_limits_carry_the_wait() -> None:
    mapped = translate(ccxt.DDoSProtection('binance {"code":-1003}'), "binance", "create", after=2)
    assert isinstance(mapped, ExchangeUnavailable) and mapped.retry_after == 2
    assert retry_after({"Retry-After": "3"}) == 3 and retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None and retry_after({"Retry-After": "-1"}) is None


@pytest.mark.parametrize(
    ("spec", "kind", "step", "tick"),
    [
        ("STK:AAPL", "STK", "1", "0.01"),
        ("STK:AAPL:SMART:USD:primary=NASDAQ", "STK", "1", "0.01"),
        ("FUT:ES:CME:202612:multiplier=50:tick=0.25", "FUT", "50", "0.25"),
        ("CASH:EURUSD", "CASH", "1", "0.00005"),
        ("CASH:USDJPY", "CASH", "1", "0.005"),
    ],
)
def test_ib_contract_specs(spec: str, kind: str, step: str, tick: str) -> None:
    parsed = parse_spec(spec)
    rules = parsed.market()
    assert parsed.kind == kind and str(rules.amount_step) == step and str(rules.price_tick) == tick


@pytest.mark.parametrize(
    "spec", ["AAPL", "STK", "FUT:ES:CME", "CASH:EUR", "FUT:ES:CME:2026:tick=x"]
)
def test_bad_ib_specs_stop_start_up(spec: str) -> None:
    with pytest.raises(ConfigError, match="tickers.ib"):
        parse_spec(spec).market()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('exchange = "binance"', "needs api_key_env, api_secret_env"),
        ('exchange = "okx"\napi_key_env = "K"\napi_secret_env = "S"', "needs api_password_env"),
        ('exchange = "kraken"', "'kraken' is not supported (binance, bybit, ib, okx, paper)"),
        ('exchange = "ib"\nsandbox = "yes"', "sandbox must be true or false"),
        ('exchange = "ib"\nib_port = 70000', "ib_port must be a number from 1 to 65535"),
        (
            'exchange = "bybit"\napi_url = "ftp://x"\napi_key_env = "K"\napi_secret_env = "S"',
            "api_url must be an http",
        ),
        (
            'exchange = "binance"\nws_url = "http://x"\napi_key_env = "K"\napi_secret_env = "S"',
            "ws_url must be a ws",
        ),
        ('exchange = "binance"\nstream = 1', "stream must be true or false"),
    ],
)
def test_venue_settings_are_checked_at_start_up(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(f"[accounts.A]\n{extra}\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_accounts_file(path, paper_balance=__import__("decimal").Decimal(1))


def test_real_venues_default_to_their_testnet(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(
        '[accounts.A]\nexchange = "bybit"\napi_key_env = "K"\napi_secret_env = "S"\n'
        '[accounts.B]\nexchange = "ib"\n'
    )
    accounts, _, _ = load_accounts_file(path, paper_balance=__import__("decimal").Decimal(1))
    assert accounts["A"].sandbox and accounts["B"].sandbox
    assert accounts["B"].currency == "USD"


def test_paper_accounts_never_import_a_venue_sdk(tmp_path: Path) -> None:
    """ccxt costs ~0.6 s and 100 MB to import, ib_async ~0.3 s: only for accounts that use them."""
    script = f"""
import asyncio, sys
from tests.helpers import make_settings
from webhook_app.core import Core
async def main():
    async with Core(make_settings(__import__("pathlib").Path({str(tmp_path)!r}))):
        pass
asyncio.run(main())
loaded = [m for m in ("ccxt", "ib_async") if m in sys.modules]
assert not loaded, loaded
"""
    subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[3], timeout=60
    )


async def test_a_call_waiting_out_a_429_waits_again_if_another_429_extends_it() -> None:
    """The gate is read again after each sleep: a Retry-After that grew meanwhile still holds."""
    from webhook_app.exchanges.ccxt_calls import CcxtCalls

    now = [0.0]
    sent_at: list[float] = []

    async def sleep(seconds: float) -> None:
        if now[0] == 0.0:  # while the first wait runs, another caller meets a longer 429
            calls.quiet_until = 5.0
        now[0] += seconds

    async def call() -> str:
        sent_at.append(now[0])
        return "ok"

    calls = CcxtCalls("acct", "binance", lambda: now[0], sleep)
    calls.quiet_until = 2.0
    assert await calls.send("fetch_order", call) == "ok"
    assert sent_at == [5.0]
