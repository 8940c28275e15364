"""The paper venue: the embedded default exchange, durable in SQLite, priced by alerts and feeds."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from ..config import Account
from ..errors import OrderRejected
from ..models import OrderType, Side
from ..storage import SqliteWorker
from . import paper_store
from .base import (
    Attach,
    Balance,
    Candle,
    EventListener,
    ExchangeEvent,
    Features,
    Market,
    Order,
    Position,
    keep_newest,
    notify,
)
from .candles import CandleBook
from .paper_engine import Changes, PaperEngine

logger = logging.getLogger(__name__)

FINISHED_KEPT = 2_000  # finished orders kept in memory for lookups; older ones come from the store
_TICKER = re.compile(r"^[A-Za-z0-9]{2,40}$")
DEFAULT_MARKET = {
    "amount_step": Decimal("0.000001"),
    "price_tick": None,
    "min_amount": Decimal("0.000001"),
    "min_notional": Decimal("1"),
}


class PaperVenue:
    """Prices, candles and storage shared by every paper account of this process."""

    def __init__(
        self,
        data_dir: Path,
        *,
        latency_ms: float = 0.0,
        synchronous: str = "full",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.latency_s = latency_ms / 1000.0
        self.clock = clock
        self.store = SqliteWorker(
            data_dir / "paper.sqlite3", synchronous=synchronous, setup=paper_store.create_schema
        )
        self.prices: dict[str, Decimal] = {}
        self.candles = CandleBook()
        self.accounts: dict[str, PaperExchange] = {}
        self.calls = 0
        self._started = False

    def now_ms(self) -> float:
        return self.clock() * 1000.0

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        await self.store.start()
        prices, bars = await self.store.run(paper_store.load_market)
        self.prices.update(prices)
        for symbol, rows in bars.items():
            self.candles.load(symbol, rows)

    async def close(self) -> None:
        if self._started:
            self._started = False
            await self.store.close()

    def exchange(self, account: Account) -> PaperExchange:
        if account.name not in self.accounts:
            self.accounts[account.name] = PaperExchange(self, account)
        return self.accounts[account.name]

    async def feed_price(
        self,
        symbol: str,
        price: Decimal,
        time_ms: float | None = None,
        volume: Decimal = Decimal(0),
        *,
        swept: bool = False,
    ) -> None:
        """Move the market: resting stops, take-profits and limits it reaches fill now. `swept`:
        the market traded every price since the last one (a bar's path), so a stop or
        take-profit on the way fills at its own level instead of at the new price. A `volume`
        is all that traded there: resting limits fill at most that much (in part, perhaps)."""
        if not price.is_finite() or price <= 0:
            raise OrderRejected(f"price for {symbol} must be a positive number, got {price}")
        now = self.now_ms()
        bar_time = now if time_ms is None else time_ms
        previous = self.prices.get(symbol)
        self.prices[symbol] = price
        bar = self.candles.add(symbol, price, bar_time, volume)
        writes = [paper_store.price_writer(symbol, price, now, bar)]
        for exchange in self.accounts.values():
            exchange.note_price(symbol, price, now)
            exchange.engine.on_price(symbol, previous, price, now, swept, volume or None)
            writes.append(exchange.flush())
        await self.store.run(paper_store.combine(writes))
        for exchange in self.accounts.values():
            exchange.emit_pending()


class PaperExchange:
    """One paper account behind the Exchange interface."""

    priced_by_alerts = True

    def __init__(self, venue: PaperVenue, account: Account) -> None:
        self.venue = venue
        self.account = account
        self.name = f"paper:{account.name}"
        self.features = Features(complete_events=True)
        self.engine = PaperEngine(
            balance=account.balance,
            currency=account.currency,
            max_leverage=account.max_leverage,
            taker_fee=account.taker_fee,
            maker_fee=account.maker_fee,
            prices=venue.prices,
            spot=account.market == "spot",
        )
        # By client id, for lookups: open orders, and the latest finished ones (older ones are
        # read from the store), so memory stays flat however many orders it has taken.
        self.orders: dict[str, Order] = {}
        self.finished: OrderedDict[str, Order] = OrderedDict()
        self._listeners: list[EventListener] = []
        self._pending_events: list[ExchangeEvent] = []

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.venue.start()
        state = await self.venue.store.run(
            lambda conn: paper_store.load_account(conn, self.account.name, self.account.balance)
        )
        self.engine.balance = state.balance
        self.engine.seq = state.seq
        self.engine.load(state.positions, state.open_orders)
        self.engine.client_ids = state.client_ids
        self.engine.trades = state.open_trades
        self.orders.update({o.client_id: o for o in state.open_orders})

    async def close(self) -> None:
        await self.venue.close()

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    async def feed_price(self, symbol: str, price: Decimal, time_ms: float | None = None) -> None:
        await self.venue.feed_price(symbol, price, time_ms)

    # --- Exchange interface ---------------------------------------------------------------------

    def market(self, symbol: str) -> Market:
        name = symbol[:-2] if symbol.upper().endswith(".P") else symbol
        if not _TICKER.match(name):
            raise OrderRejected(
                f"unknown ticker {symbol!r}: the paper venue takes letters and digits"
            )
        if self.account.symbols is not None and name not in self.account.symbols:
            allowed = ", ".join(sorted(self.account.symbols))
            raise OrderRejected(
                f"unknown ticker {symbol!r} for account {self.account.name} ({allowed})"
            )
        return Market(symbol=name.upper(), quote=self.account.currency, **DEFAULT_MARKET)

    async def fetch_balance(self) -> Balance:
        async with self._call():
            return self.engine.balance_record()

    async def fetch_positions(self) -> list[Position]:
        async with self._call():
            return [
                self.engine.position(symbol, self.venue.prices.get(symbol))
                for symbol, state in self.engine.positions.items()
                if state.size
            ]

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        async with self._call():
            return [o for o in self.engine.open_orders.values() if symbol in (None, o.symbol)]

    async def fetch_order(self, client_id: str, symbol: str) -> Order | None:
        async with self._call():
            found = self.orders.get(client_id) or self.finished.get(client_id)
            if found is not None:
                return found
            return await self.venue.store.run(
                lambda conn: paper_store.find_order(conn, self.account.name, client_id)
            )

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1h", since: int | None = None, limit: int = 120
    ) -> list[Candle]:
        async with self._call():
            return self.venue.candles.fetch(self.market(symbol).symbol, timeframe, since, limit)

    async def create_order(
        self,
        symbol: str,
        type: OrderType,
        side: Side,
        amount: Decimal,
        price: Decimal | None = None,
        *,
        client_id: str,
        trigger_price: Decimal | None = None,
        reduce_only: bool = False,
        attach: Attach | None = None,
    ) -> Order:
        if attach is not None:
            raise OrderRejected("the paper venue attaches no protection: place it separately")
        if amount <= 0:
            raise OrderRejected(f"amount must be positive, got {amount}")
        async with self._call(write=True):
            order = self.engine.place(
                symbol=symbol,
                type=type,
                side=side,
                amount=amount,
                price=price,
                trigger_price=trigger_price,
                reduce_only=reduce_only,
                client_id=client_id,
                last=self.venue.prices.get(symbol),
                now_ms=self.venue.now_ms(),
            )
        return order

    async def attached_orders(self, entry: Order, attach: Attach) -> dict[str, Order]:
        return {}

    async def cancel_order(self, order_id: str, symbol: str) -> Order:
        async with self._call(write=True):
            return self.engine.cancel(order_id, self.venue.now_ms())

    async def cancel_all_orders(self, symbol: str | None = None) -> list[Order]:
        async with self._call(write=True):
            ids = [o.id for o in self.engine.open_orders.values() if symbol in (None, o.symbol)]
            return [self.engine.cancel(i, self.venue.now_ms()) for i in ids]

    async def amend_order(
        self,
        order_id: str,
        symbol: str,
        *,
        amount: Decimal | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> Order:
        async with self._call(write=True):
            return self.engine.amend(
                order_id,
                amount=amount,
                price=price,
                trigger_price=trigger_price,
                last=self.venue.prices.get(symbol),
                now_ms=self.venue.now_ms(),
            )

    # --- internals ------------------------------------------------------------------------------

    def _call(self, write: bool = False) -> _Call:
        return _Call(self, write)

    def flush(self) -> Callable[[sqlite3.Connection], None]:
        """Take the engine's changes: remember orders, queue events, return the store writer."""
        changes: Changes = self.engine.take_changes()
        for order in changes.orders.values():
            if order.is_open:
                self.orders[order.client_id] = order
                continue
            self.orders.pop(order.client_id, None)
            keep_newest(self.finished, order.client_id, order, FINISHED_KEPT)
        self._pending_events.extend(changes.events)
        if changes.balance:
            self._pending_events.append(
                ExchangeEvent(
                    kind="balance",
                    balance=self.engine.balance_record(),
                    time=self.venue.now_ms(),
                )
            )
        return paper_store.changes_writer(self.account.name, self.engine, changes)

    def note_price(self, symbol: str, price: Decimal, now: float) -> None:
        self._pending_events.append(
            ExchangeEvent(kind="price", symbol=symbol, price=price, time=now)
        )

    def emit_pending(self) -> None:
        events, self._pending_events = self._pending_events, []
        for event in events:
            notify(self._listeners, event, self.name)


class _Call:
    """One venue call: half the latency out, the work, a durable write, half the latency back."""

    def __init__(self, exchange: PaperExchange, write: bool) -> None:
        self.exchange, self.write = exchange, write

    async def __aenter__(self) -> None:
        venue = self.exchange.venue
        venue.calls += 1
        if venue.latency_s:
            await asyncio.sleep(venue.latency_s / 2)

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        venue = self.exchange.venue
        if self.write:
            writer = self.exchange.flush()
            await venue.store.run(writer)
        for exchange in venue.accounts.values():
            exchange.emit_pending()
        if venue.latency_s:
            await asyncio.sleep(venue.latency_s / 2)
