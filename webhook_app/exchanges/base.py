"""The Exchange interface every venue adapter implements, and the records it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from ..models import OrderType, Side

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


@runtime_checkable
class Exchange(Protocol):
    """One account at one venue. Method names follow ccxt and the seed-004 API."""

    name: str
    priced_by_alerts: bool  # True for the paper venue: alert prices move its market

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
    ) -> Order: ...

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
