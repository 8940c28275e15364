"""What the planner knows of an account and a market at one moment."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..exchanges.base import Features, Market, Order
from ..money import ZERO

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Facts:
    """What the planner knows of the account and the market at this moment."""

    market: Market
    equity: Decimal
    last_price: Decimal | None = None
    position: Decimal = ZERO  # signed size on this symbol (what is held, on a spot account)
    open_orders: tuple[Order, ...] = field(default=())
    free: Decimal | None = None  # quote currency available for new orders
    features: Features = Features()  # how the venue protects a position
    # For the risk guard: positions open on the account's other symbols, orders sent in the
    # last minute, and the equity the day started with.
    open_positions: int = 0
    orders_last_minute: int = 0
    day_start_equity: Decimal | None = None
