"""TradingView tickers → ccxt markets, and a ccxt market's rules in base-currency units."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import OrderRejected

_MAX_CANDIDATES = 8


def find_market(ticker: str, markets: dict[str, dict[str, Any]], *, spot: bool) -> dict[str, Any]:
    """The one market a ticker means on this account, or a 422 naming the candidates.

    The ticker map has already been applied. Accepted here: a unified symbol (`BTC/USDT:USDT`),
    a venue id (`BTCUSDT`, `BTC-USDT-SWAP`), or TradingView's ticker (`BINANCE:BTCUSDT.P`,
    `BTCUSDT`), which on a futures account means the linear perpetual and on spot the pair.
    """
    if ticker in markets:
        return _check_kind(ticker, markets[ticker], spot)
    name = ticker.split(":", 1)[1] if ":" in ticker and "/" not in ticker else ticker
    perpetual = name.upper().endswith(".P")
    if perpetual:
        name = name[:-2]
        if spot:
            raise OrderRejected(f"{ticker} is a perpetual contract, but this account trades spot")
    key = _squash(name)
    wanted = [m for m in markets.values() if _fits(m, spot) and key in _names(m)]
    if len(wanted) == 1:
        return wanted[0]
    if len(wanted) > 1:
        raise OrderRejected(
            f"ticker {ticker} is ambiguous here: {_list(wanted)}; map it in the accounts file's "
            "[tickers] table"
        )
    near = [
        m
        for m in markets.values()
        if _fits(m, spot) and key[:3] and m.get("base", "").upper() == _base_guess(key, m)
    ]
    hint = f"; similar: {_list(near)}" if near else ""
    kind = "spot pairs" if spot else "linear perpetuals"
    raise OrderRejected(f"unknown ticker {ticker} among this venue's {kind}{hint}")


def _check_kind(ticker: str, market: dict[str, Any], spot: bool) -> dict[str, Any]:
    if bool(market.get("spot")) != spot:
        kind = "spot" if spot else "futures"
        raise OrderRejected(f"{ticker} is not a {kind} market, which this account trades")
    return market


def _fits(market: dict[str, Any], spot: bool) -> bool:
    if market.get("active") is False:
        return False
    if spot:
        return bool(market.get("spot"))
    return bool(market.get("swap")) and bool(market.get("linear"))


def _names(market: dict[str, Any]) -> set[str]:
    """The ways a ticker may name this market: venue id, base+quote, the unified symbol."""
    names = {_squash(str(market.get("id", ""))), _squash(str(market.get("symbol", "")))}
    names.add(_squash(f"{market.get('base', '')}{market.get('quote', '')}"))
    return names


def _squash(text: str) -> str:
    """BTC-USDT-SWAP, BTC/USDT:USDT and BTCUSDT all become BTCUSDT…: only letters and digits."""
    text = text.upper().split(":", 1)[0]
    for suffix in ("-SWAP", "_PERP", "PERP"):
        if text.endswith(suffix) and len(text) > len(suffix) + 2:
            text = text[: -len(suffix)]
    return "".join(ch for ch in text if ch.isalnum())


def _base_guess(key: str, market: dict[str, Any]) -> str:
    base = str(market.get("base", "")).upper()
    return base if key.startswith(base) else ""


def _list(markets: list[dict[str, Any]]) -> str:
    symbols = sorted(str(m["symbol"]) for m in markets)
    more = len(symbols) - _MAX_CANDIDATES
    return ", ".join(symbols[:_MAX_CANDIDATES]) + (f" and {more} more" if more > 0 else "")


def contract_size(market: dict[str, Any]) -> Decimal:
    """Base units per contract (OKX BTC-USDT-SWAP: 0.01 BTC); 1 where amounts are base units."""
    size = market.get("contractSize")
    return Decimal(str(size)) if market.get("contract") and size else Decimal(1)


def step(value: Any, precision_mode: int) -> Decimal | None:
    """A precision value as a step: ccxt gives a tick size (TICK_SIZE) or a number of digits."""
    if value is None:
        return None
    from ccxt.base.decimal_to_precision import TICK_SIZE

    if precision_mode == TICK_SIZE:
        return Decimal(str(value))
    return Decimal(1).scaleb(-int(value))
