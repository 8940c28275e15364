"""The local book of one account: balance, positions, open orders and prices, kept by events.

Planning reads the book instead of asking the venue, so an alert costs no round trip before
its first order. The book is filled from the venue at start-up and kept current by the venue's
events and by the results of our own orders.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from .exchanges.base import (
    FINAL_STATUSES,
    Balance,
    Exchange,
    ExchangeEvent,
    Market,
    Order,
    Position,
)
from .planning import Facts

logger = logging.getLogger(__name__)
ZERO = Decimal(0)


class AccountBook:
    def __init__(self, account: str) -> None:
        self.account = account
        self.balance: Balance | None = None
        self.positions: dict[str, Position] = {}
        self.orders: dict[str, Order] = {}  # open orders by exchange id
        self.prices: dict[str, Decimal] = {}

    async def sync(self, exchange: Exchange) -> None:
        """Replace the book with the venue's view."""
        self.balance = await exchange.fetch_balance()
        self.positions = {p.symbol: p for p in await exchange.fetch_positions() if p.size}
        self.orders = {o.id: o for o in await exchange.fetch_open_orders()}

    def apply(self, event: ExchangeEvent) -> None:
        if event.order is not None:
            self.note_order(event.order)
        if event.position is not None:
            self.note_position(event.position)
        if event.balance is not None:
            self.balance = event.balance
        if event.fill_price is not None and event.symbol:
            self.prices[event.symbol] = event.fill_price

    def note_order(self, order: Order) -> None:
        if order.status in FINAL_STATUSES:
            self.orders.pop(order.id, None)
        else:
            self.orders[order.id] = order

    def note_position(self, position: Position) -> None:
        if position.size:
            self.positions[position.symbol] = position
        else:
            self.positions.pop(position.symbol, None)

    def note_price(self, symbol: str, price: Decimal) -> None:
        self.prices[symbol] = price

    def equity(self) -> Decimal:
        total = self.balance.total if self.balance else ZERO
        for symbol, position in self.positions.items():
            price = self.prices.get(symbol)
            if price is not None:
                total += position.size * (price - position.entry_price)
            else:
                total += position.unrealized_pnl
        return total

    def facts(self, market: Market) -> Facts:
        position = self.positions.get(market.symbol)
        return Facts(
            market=market,
            equity=self.equity(),
            last_price=self.prices.get(market.symbol),
            position=position.size if position else ZERO,
            open_orders=tuple(o for o in self.orders.values() if o.symbol == market.symbol),
        )
