"""Accounts (the seed's subaccounts) and the accounts file that defines them with the ticker map."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_ACCOUNT = "Testing"
PAPER = "paper"
CCXT_EXCHANGES = frozenset({"binance", "bybit", "okx"})
IB = "ib"
KNOWN_EXCHANGES = frozenset({PAPER, IB, *CCXT_EXCHANGES})


@dataclass(frozen=True)
class Account:
    """One trading account (the seed's subaccount). Keys are referenced by env var *name*."""

    name: str
    exchange: str = PAPER
    risk_pct: Decimal = Decimal("1")
    max_leverage: Decimal = Decimal("10")
    max_notional: Decimal | None = None
    api_key_env: str | None = None
    api_secret_env: str | None = None
    api_password_env: str | None = None
    symbols: frozenset[str] | None = None  # allowlist; None accepts any ticker the venue knows
    balance: Decimal = Decimal("10000")  # starting balance of a paper account
    currency: str = "USDT"
    taker_fee: Decimal = Decimal("0.0005")
    maker_fee: Decimal = Decimal("0.0002")
    max_risk_pct: Decimal | None = None  # what an alert's "risk" may ask for (default: risk_pct)
    market: str = "futures"  # futures (long and short, leverage) or spot (buy what you pay for)
    default_symbol: str | None = None  # for dialects whose alerts name no ticker (seed 000, 001)
    connector_token_env: str | None = None  # seed 001: env var NAME of its connectorToken
    # Real venues (ccxt and Interactive Brokers).
    sandbox: bool = True  # the venue's testnet / paper account; false trades real money
    api_url: str | None = None  # send the venue's REST calls here instead (a proxy, a test fake)
    timeout_ms: int = 10_000  # one request's timeout
    lookup_window_s: float = 30.0  # after a create timed out: how long to look for the order
    poll_s: float = 5.0  # how often the venue is asked for order and position changes
    # ccxt venues push order and position changes over websockets (ccxt's watch_* calls); the
    # polling above then only reconciles, once a minute. Unset: on where the push stream is
    # tested against a fake (Binance USDⓈ-M, Bybit linear), polling elsewhere; true or false
    # decides.
    stream: bool | None = None
    ws_url: str | None = None  # the venue's websockets here instead (with api_url: a test fake)
    rate_limit: bool = True  # ccxt's own request throttle (off only against a local fake)
    # Management on events (off by default): the stop to breakeven as soon as TP1 fills, and a
    # closed position's leftover stop and take-profits cancelled.
    auto_breakeven: bool = False
    cleanup_on_close: bool = False
    # The risk guard (each off when unset): positions open at once, orders sent per minute, and
    # the day's loss from the start-of-day equity (UTC), which switches the account to
    # reducing-only when crossed.
    max_open_positions: int | None = None
    max_orders_per_minute: int | None = None
    max_daily_loss_pct: Decimal | None = None
    ib_host: str = "127.0.0.1"
    ib_port: int = 7497  # TWS paper; 7496 TWS live, 4002 / 4001 IB Gateway paper / live
    ib_client_id: int = 1

    @property
    def uses_ccxt(self) -> bool:
        return self.exchange in CCXT_EXCHANGES


_ACCOUNT_KEYS = {
    "exchange",
    "risk_pct",
    "max_leverage",
    "max_notional",
    "api_key_env",
    "api_secret_env",
    "api_password_env",
    "symbols",
    "balance",
    "currency",
    "taker_fee",
    "maker_fee",
    "market",
    "max_risk_pct",
    "default_symbol",
    "connector_token_env",
    "sandbox",
    "rate_limit",
    "auto_breakeven",
    "cleanup_on_close",
    "max_open_positions",
    "max_orders_per_minute",
    "max_daily_loss_pct",
    "api_url",
    "timeout_ms",
    "lookup_window_s",
    "poll_s",
    "stream",
    "ws_url",
    "ib_host",
    "ib_port",
    "ib_client_id",
}
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def load_accounts_file(
    path: Path, paper_balance: Decimal
) -> tuple[dict[str, Account], str, dict[str, dict[str, str]]]:
    """Read accounts and the ticker map from a TOML (or JSON) file; fail naming the bad entry."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except OSError as e:
        raise ConfigError(f"ACCOUNTS_FILE {path}: cannot read it ({e.strerror})") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"ACCOUNTS_FILE {path}: not valid: {e}") from None
    raw_accounts = data.get("accounts")
    if not isinstance(raw_accounts, dict) or not raw_accounts:
        raise ConfigError(f"ACCOUNTS_FILE {path}: needs an [accounts.NAME] table")
    accounts = {
        name: _parse_account(path, name, spec, paper_balance) for name, spec in raw_accounts.items()
    }
    default = data.get("default", next(iter(accounts)))
    if default not in accounts:
        raise ConfigError(f"ACCOUNTS_FILE {path}: default account {default!r} is not defined")
    tickers = _parse_tickers(path, data.get("tickers", {}))
    return accounts, default, tickers


def _parse_account(path: Path, name: str, spec: Any, paper_balance: Decimal) -> Account:
    where = f"ACCOUNTS_FILE {path}: accounts.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(spec) - _ACCOUNT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    exchange = str(spec.get("exchange", PAPER)).lower()
    if exchange not in KNOWN_EXCHANGES:
        known = ", ".join(sorted(KNOWN_EXCHANGES))
        raise ConfigError(f"{where}.exchange: {exchange!r} is not supported ({known})")
    kw: dict[str, Any] = {"name": name, "exchange": exchange, **_account_numbers(where, spec)}
    kw.setdefault("balance", paper_balance)
    kw.update(_account_texts(where, spec))
    if kw.get("market") == "spot" and "max_leverage" not in spec:
        kw["max_leverage"] = Decimal(1)  # spot buys only what the cash pays for
    kw.update(_venue_settings(where, spec))
    if exchange == IB and "currency" not in spec:
        kw["currency"] = "USD"  # IB reports NetLiquidation in the account's base currency
    account = Account(**kw)
    _check_keys(where, account)
    return account


_VENUE_NUMBERS = (  # name, type, low, high
    ("timeout_ms", int, 100, 120_000),
    ("lookup_window_s", float, 0, 600),
    ("poll_s", float, 0.1, 3600),
    ("ib_port", int, 1, 65535),
    ("ib_client_id", int, 0, 2**31 - 1),
    ("max_open_positions", int, 1, 10_000),
    ("max_orders_per_minute", int, 1, 100_000),
)


def _venue_settings(where: str, spec: dict[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for key in ("sandbox", "rate_limit", "auto_breakeven", "cleanup_on_close", "stream"):
        if key in spec:
            if not isinstance(spec[key], bool):
                raise ConfigError(f"{where}.{key} must be true or false")
            kw[key] = spec[key]
    for key in ("api_url", "ws_url", "ib_host"):
        if key in spec:
            if not isinstance(spec[key], str) or not spec[key].strip():
                raise ConfigError(f"{where}.{key} must be a non-empty string")
            kw[key] = spec[key].strip()
    if "api_url" in kw and not re.match(r"^https?://[^\s/]+", kw["api_url"]):
        raise ConfigError(f"{where}.api_url must be an http(s) URL, got {kw['api_url']!r}")
    if "ws_url" in kw and not re.match(r"^wss?://[^\s/]+", kw["ws_url"]):
        raise ConfigError(f"{where}.ws_url must be a ws(s) URL, got {kw['ws_url']!r}")
    for key, kind, low, high in _VENUE_NUMBERS:
        if key in spec:
            value = spec[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (low <= value <= high)
                or (kind is int and value != int(value))
            ):
                raise ConfigError(f"{where}.{key} must be a number from {low} to {high}")
            kw[key] = kind(value)
    return kw


def _check_keys(where: str, account: Account) -> None:
    """A ccxt venue needs its key and secret (OKX also its passphrase), by env var name."""
    if not account.uses_ccxt:
        return
    needed = ["api_key_env", "api_secret_env"]
    if account.exchange == "okx":
        needed.append("api_password_env")
    missing = [name for name in needed if getattr(account, name) is None]
    if missing:
        raise ConfigError(
            f"{where}: {account.exchange} needs {', '.join(missing)} "
            "(the NAME of the environment variable that holds each)"
        )


_NUMBERS = (
    ("risk_pct", Decimal("0.01"), Decimal(100)),
    ("max_risk_pct", Decimal("0.01"), Decimal(100)),
    ("max_leverage", Decimal("0.01"), Decimal(200)),
    ("max_notional", Decimal("0.000001"), None),
    ("max_daily_loss_pct", Decimal("0.01"), Decimal(100)),
    ("balance", Decimal(0), None),
    ("taker_fee", Decimal(0), Decimal("0.1")),
    ("maker_fee", Decimal(0), Decimal("0.1")),
)


def _account_numbers(where: str, spec: dict[str, Any]) -> dict[str, Decimal]:
    return {
        key: _bounded_decimal(f"{where}.{key}", spec[key], low, high)
        for key, low, high in _NUMBERS
        if key in spec
    }


def _account_texts(where: str, spec: dict[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if "market" in spec:
        kw["market"] = str(spec["market"]).lower()
        if kw["market"] not in ("futures", "spot"):
            raise ConfigError(f"{where}.market must be futures or spot, got {kw['market']!r}")
    for key in ("api_key_env", "api_secret_env", "api_password_env", "connector_token_env"):
        if key in spec:
            if not isinstance(spec[key], str) or not _ENV_NAME.match(spec[key]):
                raise ConfigError(f"{where}.{key} must be an environment variable NAME, not a key")
            kw[key] = spec[key]
    if "symbols" in spec:
        symbols = spec["symbols"]
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise ConfigError(f"{where}.symbols must be a list of tickers")
        kw["symbols"] = frozenset(symbols)
    if "currency" in spec:
        kw["currency"] = str(spec["currency"]).upper()
    if "default_symbol" in spec:
        kw["default_symbol"] = str(spec["default_symbol"])
    return kw


def _bounded_decimal(where: str, raw: Any, low: Decimal, high: Decimal | None) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ConfigError(f"{where} must be a number")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ConfigError(f"{where} must be a number, got {raw!r}") from None
    if not value.is_finite() or value < low or (high is not None and value > high):
        limit = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{where} must be {limit}, got {raw!r}")
    return value


def _parse_tickers(path: Path, raw: Any) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict):
        raise ConfigError(f"ACCOUNTS_FILE {path}: tickers must be a table of exchanges")
    out: dict[str, dict[str, str]] = {}
    for exchange, mapping in raw.items():
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise ConfigError(f"ACCOUNTS_FILE {path}: tickers.{exchange} must map ticker = symbol")
        out[exchange.lower()] = dict(mapping)
    return out
