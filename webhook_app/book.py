"""The local book of one account: balance, positions, open orders and prices, kept by events.

Planning reads the book instead of asking the venue, so an alert costs no round trip before
its first order. The book is filled from the venue at start-up and kept current by the venue's
events and by the results of our own orders.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from .exchanges.base import (
    FINAL_STATUSES,
    Balance,
    Exchange,
    ExchangeEvent,
    Features,
    Market,
    Order,
    Position,
)
from .money import ZERO, KeyedSum
from .planning import Facts

logger = logging.getLogger(__name__)


class AccountBook:
    def __init__(self, account: str, features: Features | None = None) -> None:
        self.account = account
        self.features = features or Features()
        self.balance: Balance | None = None
        self.positions: dict[str, Position] = {}
        self.orders: dict[str, Order] = {}  # open orders by exchange id
        self.prices: dict[str, Decimal] = {}
        self._by_symbol: dict[str, dict[str, Order]] = {}
        self._upnl = KeyedSum()  # unrealized PnL per symbol, summed in O(1)

    async def sync(self, exchange: Exchange) -> None:
        """Replace the book with the venue's view."""
        balance = await exchange.fetch_balance()
        positions = await exchange.fetch_positions()
        orders = await exchange.fetch_open_orders()
        self.balance = balance
        self.positions, self.orders, self._by_symbol, self._upnl = {}, {}, {}, KeyedSum()
        for position in positions:
            self.note_position(position)
        for order in orders:
            self.note_order(order)

    async def refresh(self, exchange: Exchange, symbol: str) -> None:
        """Re-read one symbol's position and orders, and the balance, in one round trip: before
        a plan on a venue whose events may lag (its stop may have fired since)."""
        balance, positions, orders = await asyncio.gather(
            exchange.fetch_balance(), exchange.fetch_positions(), exchange.fetch_open_orders(symbol)
        )
        self.balance = balance
        held = {p.symbol: p for p in positions}
        for name in set(self.positions) | set(held):
            self.note_position(held.get(name) or Position(name, ZERO, ZERO))
        for order in self.open_orders(symbol):
            self.forget_order(order.id)
        for order in orders:
            self.note_order(order)

    def apply(self, event: ExchangeEvent) -> None:
        if event.order is not None:
            self.note_order(event.order)
        if event.position is not None:
            self.note_position(event.position)
        if event.balance is not None:
            self.balance = event.balance
        if event.fill_price is not None and event.symbol:
            self.note_price(event.symbol, event.fill_price)
        if event.price is not None and event.symbol:
            self.note_price(event.symbol, event.price)

    def note_order(self, order: Order) -> None:
        if order.status in FINAL_STATUSES:
            self.forget_order(order.id)
        else:
            self.orders[order.id] = order
            self._by_symbol.setdefault(order.symbol, {})[order.id] = order

    def forget_order(self, order_id: str) -> None:
        order = self.orders.pop(order_id, None)
        if order is not None:
            self._by_symbol.get(order.symbol, {}).pop(order_id, None)

    def note_position(self, position: Position) -> None:
        if position.size:
            self.positions[position.symbol] = position
        else:
            self.positions.pop(position.symbol, None)
        self._revalue(position.symbol)

    def note_price(self, symbol: str, price: Decimal) -> None:
        self.prices[symbol] = price
        self._revalue(symbol)

    def _revalue(self, symbol: str) -> None:
        position = self.positions.get(symbol)
        price = self.prices.get(symbol)
        if position is None:
            self._upnl.set(symbol, ZERO)
        elif price is None:
            self._upnl.set(symbol, position.unrealized_pnl)
        else:
            self._upnl.set(symbol, position.size * (price - position.entry_price))

    def open_orders(self, symbol: str) -> tuple[Order, ...]:
        return tuple(self._by_symbol.get(symbol, {}).values())

    def equity(self) -> Decimal:
        total = self.balance.total if self.balance else ZERO
        return total if self.features.balance_is_equity else total + self._upnl.total

    def facts(self, market: Market) -> Facts:
        position = self.positions.get(market.symbol)
        return Facts(
            market=market,
            equity=self.equity(),
            last_price=self.prices.get(market.symbol),
            position=position.size if position else ZERO,
            open_orders=self.open_orders(market.symbol),
            free=self.balance.free if self.balance else None,
            features=self.features,
        )
