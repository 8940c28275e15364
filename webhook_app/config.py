"""Settings: read once from the environment (.env) and the accounts file into frozen objects."""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dotenv import dotenv_values

from .accounts import DEFAULT_ACCOUNT, KNOWN_EXCHANGES, PAPER, Account, load_accounts_file
from .addresses import parse_networks
from .errors import ConfigError

logger = logging.getLogger(__name__)


class Secret:
    """A secret string: masked in repr/str, compared in constant time, revealed on purpose only."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def matches(self, candidate: object) -> bool:
        # Always run one constant-time comparison, whatever the candidate's type.
        given = candidate if isinstance(candidate, str) else ""
        same = hmac.compare_digest(given.encode(), self._value.encode())
        return same and isinstance(candidate, str)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))


@dataclass(frozen=True)
class Settings:
    passphrase: Secret
    host: str = "0.0.0.0"  # noqa: S104 - TradingView must reach the server from outside
    port: int = 8080
    data_dir: Path = Path("data")
    api_token: Secret | None = None
    paper_latency_ms: float = 0.0
    accounts: Mapping[str, Account] = field(default_factory=lambda: MappingProxyType({}))
    default_account: str = DEFAULT_ACCOUNT
    tickers: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    dedupe_window_s: float = 600.0
    max_alert_age_s: float = 60.0  # older alerts are stale: refused, never traded blindly
    resume_max_age_s: float = 60.0
    journal_sync: str = "full"
    max_body_bytes: int = 16 * 1024
    accounts_file: Path | None = None
    log_level: str = "INFO"
    approval_ttl_s: float = 900.0
    chart_budget_s: float = 2.0  # the most a study message waits for its chart image
    chart_candles: int = 120
    discord_logs_forum: bool = False  # the logs channel is a forum: a post (thread) per alert
    # Source controls on the alert routes (off by default): see web/sources.py.
    ip_allowlist: tuple[Any, ...] | None = None
    trusted_proxies: tuple[Any, ...] | None = None
    auth_fail_limit: int = 0  # failed authentications per address per minute; 0 = no limit
    discord_study_url: Secret | None = None
    discord_logs_url: Secret | None = None
    discord_errors_url: Secret | None = None
    fmz_access_key: Secret | None = None
    fmz_secret_key: Secret | None = None
    fmz_account: str | None = None  # the account seed-000 alerts trade (default: the default)
    fmz_symbol: str | None = None  # the contract or pair they trade (default: account's symbol)
    # The values of the env vars the accounts file names (keys, tokens), read once at start-up.
    secret_env: Mapping[str, Secret] = field(default_factory=lambda: MappingProxyType({}))

    def account(self, name: str | None) -> Account | None:
        return self.accounts.get(name or self.default_account)

    def secrets(self) -> list[str]:
        """Every secret value this process knows, for redaction."""
        values = [self.passphrase.reveal()]
        for secret in (
            self.api_token,
            self.discord_study_url,
            self.discord_logs_url,
            self.discord_errors_url,
            self.fmz_access_key,
            self.fmz_secret_key,
        ):
            if secret:
                values.append(secret.reveal())
        values.extend(secret.reveal() for secret in self.secret_env.values())
        return [v for v in values if v]


def read_env(env_file: str | None = ".env") -> dict[str, str]:
    """The .env file overlaid by the process environment (which wins)."""
    merged: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def load_settings(
    env: Mapping[str, str] | None = None, *, env_file: str | None = ".env"
) -> Settings:
    """Build Settings from `env` (default: .env overlaid by the process environment)."""
    if env is None:
        env = read_env(env_file)
    reader = EnvReader(env)
    passphrase = reader.required_secret("WEBHOOK_PASSPHRASE")
    if len(passphrase.reveal()) < 12:
        logger.warning("WEBHOOK_PASSPHRASE is shorter than 12 characters; use a long random one")
    paper_balance = reader.decimal("PAPER_BALANCE", Decimal("10000"), minimum=Decimal(0))
    accounts_path = reader.path("ACCOUNTS_FILE", None)
    if accounts_path is None and "ACCOUNTS_FILE" not in env and Path("accounts.toml").is_file():
        accounts_path = Path("accounts.toml")
    if accounts_path is not None:
        accounts, default, tickers = load_accounts_file(accounts_path, paper_balance)
    else:
        accounts = {DEFAULT_ACCOUNT: Account(name=DEFAULT_ACCOUNT, balance=paper_balance)}
        default, tickers = DEFAULT_ACCOUNT, {}
    return Settings(
        passphrase=passphrase,
        host=env.get("HOST") or "0.0.0.0",  # noqa: S104
        port=reader.integer("PORT", 8080, 0, 65535),
        data_dir=reader.path("DATA_DIR", Path("data")) or Path("data"),
        api_token=reader.optional_secret("API_TOKEN"),
        paper_latency_ms=float(reader.decimal("PAPER_LATENCY_MS", Decimal(0), minimum=Decimal(0))),
        accounts=MappingProxyType(accounts),
        default_account=default,
        tickers=MappingProxyType({k: MappingProxyType(v) for k, v in tickers.items()}),
        dedupe_window_s=float(reader.decimal("DEDUPE_WINDOW", Decimal(600), minimum=Decimal(0))),
        resume_max_age_s=float(reader.decimal("RESUME_MAX_AGE", Decimal(60), minimum=Decimal(0))),
        max_alert_age_s=float(reader.decimal("MAX_ALERT_AGE", Decimal(60), minimum=Decimal(1))),
        journal_sync=reader.choice("JOURNAL_SYNC", "full", ("full", "normal")),
        accounts_file=accounts_path,
        log_level=reader.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper(),
        approval_ttl_s=float(reader.decimal("APPROVAL_TTL", Decimal(900), minimum=Decimal(1))),
        chart_budget_s=float(reader.decimal("CHART_BUDGET_MS", Decimal(2000), minimum=Decimal(50)))
        / 1000,
        chart_candles=reader.integer("CHART_CANDLES", 120, 10, 5_000),
        discord_logs_forum=reader.flag("DISCORD_LOGS_FORUM", False),
        ip_allowlist=parse_networks("IP_ALLOWLIST", env.get("IP_ALLOWLIST")),
        trusted_proxies=parse_networks("TRUSTED_PROXIES", env.get("TRUSTED_PROXIES")),
        auth_fail_limit=reader.integer("AUTH_FAIL_LIMIT", 0, 0, 1_000_000),
        discord_study_url=reader.url("DISCORD_STUDY_URL"),
        discord_logs_url=reader.url("DISCORD_LOGS_URL"),
        discord_errors_url=reader.url("DISCORD_ERRORS_URL"),
        fmz_access_key=reader.optional_secret("FMZ_ACCESS_KEY"),
        fmz_secret_key=reader.optional_secret("FMZ_SECRET_KEY"),
        fmz_account=(env.get("FMZ_ACCOUNT") or "").strip() or None,
        fmz_symbol=(env.get("FMZ_SYMBOL") or "").strip() or None,
        secret_env=MappingProxyType(_account_secrets(accounts, env)),
    )


def _account_secrets(accounts: Mapping[str, Account], env: Mapping[str, str]) -> dict[str, Secret]:
    """Read the env vars the accounts name; a named variable that is unset is an error."""
    out: dict[str, Secret] = {}
    for account in accounts.values():
        for field_name in (
            "api_key_env",
            "api_secret_env",
            "api_password_env",
            "connector_token_env",
        ):
            name = getattr(account, field_name)
            if name is None:
                continue
            value = (env.get(name) or "").strip()
            if not value and account.exchange == PAPER and field_name != "connector_token_env":
                continue  # the paper venue needs no keys
            if not value:
                raise ConfigError(
                    f"accounts.{account.name}.{field_name} names {name}, which is not set"
                )
            out[name] = Secret(value)
    return out


class EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def _get(self, name: str) -> str | None:
        value = self.env.get(name)
        return value.strip() if value is not None and value.strip() != "" else None

    def required_secret(self, name: str) -> Secret:
        value = self._get(name)
        if value is None:
            raise ConfigError(f"{name} is required: set it in .env or the environment")
        return Secret(value)

    def optional_secret(self, name: str) -> Secret | None:
        value = self._get(name)
        return Secret(value) if value else None

    def decimal(self, name: str, default: Decimal, minimum: Decimal | None = None) -> Decimal:
        raw = self._get(name)
        if raw is None:
            return default
        try:
            value = Decimal(raw.replace("_", "").replace(",", ""))
        except InvalidOperation:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if not value.is_finite() or (minimum is not None and value < minimum):
            raise ConfigError(f"{name} must be a finite number >= {minimum}, got {raw!r}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self._get(name)
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ConfigError(f"{name} must be an integer from {low} to {high}, got {raw!r}")
        return int(raw)

    def flag(self, name: str, default: bool) -> bool:
        raw = self._get(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")

    def path(self, name: str, default: Path | None) -> Path | None:
        raw = self._get(name)
        return Path(raw).expanduser() if raw else default

    def url(self, name: str) -> Secret | None:
        """A Discord webhook URL: a secret (its token posts as the webhook)."""
        value = self._get(name)
        if value is None:
            return None
        if not value.lower().startswith(("https://", "http://")):
            raise ConfigError(f"{name} must be an http(s) URL (a Discord webhook URL)")
        return Secret(value)

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        raw = (self._get(name) or default).lower()
        if raw not in options:
            raise ConfigError(f"{name} must be one of {', '.join(options)}, got {raw!r}")
        return raw


__all__ = [
    "DEFAULT_ACCOUNT",
    "KNOWN_EXCHANGES",
    "PAPER",
    "Account",
    "EnvReader",
    "Secret",
    "Settings",
    "load_settings",
    "read_env",
]
