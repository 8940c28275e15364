"""The accounts this process trades: each with its exchange adapter and its local book."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from .accounts import IB
from .book import AccountBook
from .config import PAPER, Account, Settings
from .errors import AlertRejected, ConfigError, ExecutionError, OrderRejected
from .exchanges.base import Exchange, Market
from .exchanges.paper import PaperVenue
from .models import ALL_SYMBOLS

logger = logging.getLogger(__name__)


@dataclass
class Venue:
    account: Account
    exchange: Exchange
    book: AccountBook


class Venues:
    def __init__(self, settings: Settings, paper: PaperVenue) -> None:
        self.settings = settings
        self.paper = paper
        self._venues: dict[str, Venue] = {}
        for account in settings.accounts.values():
            exchange = self._open(account)
            self._venues[account.name] = Venue(
                account, exchange, AccountBook(account.name, exchange.features)
            )

    def _open(self, account: Account) -> Exchange:
        # Venue SDKs are imported here, only for an account that uses them (ccxt: ~0.6 s, 100 MB).
        if account.exchange == PAPER:
            return self.paper.exchange(account)
        if account.uses_ccxt:
            from .exchanges.ccxt_venue import CcxtExchange

            return CcxtExchange(account, self._credentials(account))
        if account.exchange == IB:
            from .exchanges.ib import IbExchange

            return IbExchange(account, dict(self.settings.tickers.get(IB, {})))
        raise ConfigError(f"account {account.name}: exchange {account.exchange!r} is not supported")

    def _credentials(self, account: Account) -> dict[str, str]:
        names = {
            "key": account.api_key_env,
            "secret": account.api_secret_env,
            "password": account.api_password_env,
        }
        secrets = self.settings.secret_env
        return {k: secrets[n].reveal() for k, n in names.items() if n and n in secrets}

    async def start(self) -> list[str]:
        """Open every venue. One that cannot be reached does not stop the others: its alerts
        fail with the reason until it answers (and its book is read again before each plan)."""
        problems = []
        for venue in self._venues.values():
            venue.exchange.subscribe(venue.book.apply)
            try:
                await venue.exchange.start()
                await venue.book.sync(venue.exchange)
            except ExecutionError as e:
                problems.append(f"account {venue.account.name}: {e.message}")
                logger.error("account %s: venue not ready: %s", venue.account.name, e.message)
                continue
            if venue.exchange.priced_by_alerts:
                for symbol, price in self.paper.prices.items():
                    venue.book.note_price(symbol, price)
        return problems

    async def close(self) -> None:
        for venue in self._venues.values():
            try:
                await venue.exchange.close()
            except Exception:
                logger.exception("closing %s failed", venue.exchange.name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._venues.values())

    def get(self, account_name: str | None) -> Venue:
        name = account_name or self.settings.default_account
        venue = self._venues.get(name)
        if venue is None:
            known = ", ".join(sorted(self._venues))
            raise AlertRejected(f"unknown subaccount {name!r} (configured: {known})")
        return venue

    def resolve(self, venue: Venue, ticker: str) -> Market:
        """TradingView ticker → the venue's market, through the ticker map first."""
        if ticker == ALL_SYMBOLS:  # a plan over every symbol (cancelAll)
            return Market(ALL_SYMBOLS, Decimal(1), None, Decimal(0), quote=venue.account.currency)
        mapping = self.settings.tickers.get(venue.account.exchange, {})
        symbol = mapping.get(ticker, ticker)
        try:
            return venue.exchange.market(symbol)
        except OrderRejected as e:
            raise AlertRejected(e.message) from None
