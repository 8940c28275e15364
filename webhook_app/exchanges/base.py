"""The Exchange interface every venue adapter implements, and the records it returns."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from ..errors import OrderNotFound
from ..models import OrderType, Side

logger = logging.getLogger(__name__)

# ccxt's order statuses, so adapters pass them through unchanged.
OPEN, CLOSED, CANCELED, REJECTED, EXPIRED = "open", "closed", "canceled", "rejected", "expired"
FINAL_STATUSES = frozenset({CLOSED, CANCELED, REJECTED, EXPIRED})


@dataclass(frozen=True)
class Market:
    """Trading rules of one symbol."""

    symbol: str
    amount_step: Decimal
    price_tick: Decimal | None
    min_amount: Decimal
    min_notional: Decimal = Decimal(0)
    quote: str = "USDT"
    contract_size: Decimal = Decimal(1)


@dataclass(frozen=True)
class Order:
    id: str
    client_id: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    status: str = OPEN
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    reduce_only: bool = False
    filled: Decimal = Decimal(0)
    average: Decimal | None = None
    timestamp: float = 0.0  # ms since the epoch, the exchange's own clock
    fee: Decimal = Decimal(0)
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


@dataclass(frozen=True)
class Position:
    symbol: str
    size: Decimal  # signed: > 0 long, < 0 short
    entry_price: Decimal
    unrealized_pnl: Decimal = Decimal(0)
    timestamp: float = 0.0

    @property
    def side(self) -> Side | None:
        if self.size > 0:
            return Side.BUY
        if self.size < 0:
            return Side.SELL
        return None


@dataclass(frozen=True)
class Balance:
    currency: str
    total: Decimal  # wallet balance: deposits + realized PnL - fees
    free: Decimal
    assets: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Candle:
    time: int  # ms, start of the bar
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = Decimal(0)


@dataclass(frozen=True)
class ExchangeEvent:
    """A change at the venue: an order (placed, filled, cancelled), a position or a balance."""

    kind: str  # order | fill | position | balance
    symbol: str | None = None
    order: Order | None = None
    position: Position | None = None
    balance: Balance | None = None
    fill_amount: Decimal | None = None
    fill_price: Decimal | None = None
    realized_pnl: Decimal | None = None
    price: Decimal | None = None  # kind "price": the market moved
    time: float = 0.0


EventListener = Callable[[ExchangeEvent], None]


@dataclass(frozen=True)
class Features:
    """How a venue protects a position, which the planner and placement adapt to."""

    # Protection the venue arms itself when the entry fills ("stop", "tp"): sent with the entry.
    attaches: frozenset[str] = frozenset()
    # Reduce-only orders exist (not on spot, not at Interactive Brokers): without them a stop can
    # open the other side, so orders are cancelled before a position is closed.
    reduce_only: bool = True
    # Spot: there is nothing to stop out before the coins are bought.
    stop_after_entry: bool = False
    # "ladder" (TP1, TP2 … and the final TP), "final" (one TP for the whole position: a partial
    # take-profit would leave an oversized stop where nothing is reduce-only) or "none" (spot:
    # the coins are locked under the stop; exit alerts take the profit).
    take_profits: str = "ladder"
    # Breakeven moves the stop in one request instead of placing a new one and cancelling the old.
    amends_stops: bool = False
    # The venue's events tell every change (the paper venue); otherwise the book is refreshed
    # from the venue before each plan.
    complete_events: bool = False
    # The balance the venue reports is the equity (open PnL included): the book adds none.
    balance_is_equity: bool = False


@dataclass(frozen=True)
class Attach:
    """Protection that rides on the entry order itself (Bybit stopLoss/takeProfit, OKX
    attachAlgoOrds, an Interactive Brokers bracket): the venue arms it when the entry fills."""

    stop: Decimal | None = None
    take_profit: Decimal | None = None
    stop_client_id: str | None = None  # where the venue gives attached orders ids (IB orderRef)
    tp_client_id: str | None = None
    tp_amount: Decimal | None = None


@runtime_checkable
class Exchange(Protocol):
    """One account at one venue. Method names follow ccxt and the seed-004 API."""

    name: str
    priced_by_alerts: bool  # True for the paper venue: alert prices move its market
    features: Features

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def market(self, symbol: str) -> Market:
        """The market's rules; raises OrderRejected (unknown symbol) if it has none."""
        ...

    async def fetch_balance(self) -> Balance: ...

    async def fetch_positions(self) -> list[Position]: ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def fetch_order(self, client_id: str, symbol: str) -> Order | None:
        """Look an order up by our client id; None when the venue does not know it."""
        ...

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1h", since: int | None = None, limit: int = 120
    ) -> list[Candle]: ...

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
        """Place an order under our client id. `attach` only where features.attaches allows."""
        ...

    async def attached_orders(self, entry: Order, attach: Attach) -> dict[str, Order]:
        """The protection the venue armed for a filled entry, by role ("stop", "tp")."""
        ...

    async def cancel_order(self, order_id: str, symbol: str) -> Order: ...

    async def cancel_all_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def amend_order(
        self,
        order_id: str,
        symbol: str,
        *,
        amount: Decimal | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> Order: ...

    def subscribe(self, listener: EventListener) -> None:
        """Call `listener` for every ExchangeEvent, in the order the venue reports them."""
        ...


def notify(listeners: list[EventListener], event: ExchangeEvent, name: str) -> None:
    """Tell every listener; one that fails is logged and does not stop the others."""
    for listener in listeners:
        try:
            listener(event)
        except Exception:
            logger.exception("%s: event listener failed", name)


def keep_newest(table: OrderedDict[str, Any], key: str, value: Any, cap: int) -> list[str]:
    """table[key] = value as the newest entry; the oldest past `cap` are dropped (and returned):
    what an adapter remembers of finished orders stays flat however long it runs."""
    table[key] = value
    table.move_to_end(key)
    dropped = []
    while len(table) > cap:
        dropped.append(table.popitem(last=False)[0])
    return dropped


async def cancel_each(exchange: Exchange, symbol: str | None) -> list[Order]:
    """cancel_all_orders for a venue without one call for it: each open order in turn. One gone
    meanwhile (filled, or cancelled with its bracket's parent) is skipped, not an error."""
    cancelled = []
    for order in await exchange.fetch_open_orders(symbol):
        try:
            cancelled.append(await exchange.cancel_order(order.id, order.symbol))
        except OrderNotFound:
            continue
    return cancelled
