"""The accounts this process trades: each with its exchange adapter and its local book."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from .book import AccountBook
from .config import PAPER, Account, Settings
from .errors import AlertRejected, ConfigError, OrderRejected
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
            self._venues[account.name] = Venue(
                account, self._open(account), AccountBook(account.name)
            )

    def _open(self, account: Account) -> Exchange:
        if account.exchange == PAPER:
            return self.paper.exchange(account)
        raise ConfigError(f"account {account.name}: exchange {account.exchange!r} is not supported")

    async def start(self) -> None:
        for venue in self._venues.values():
            await venue.exchange.start()
            venue.exchange.subscribe(venue.book.apply)
            await venue.book.sync(venue.exchange)
            if venue.exchange.priced_by_alerts:
                for symbol, price in self.paper.prices.items():
                    venue.book.note_price(symbol, price)

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
