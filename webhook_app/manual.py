"""Manual actions from the account API (cancel, amend), queued with the alerts of their symbol."""

from __future__ import annotations

import logging
from decimal import Decimal

from .errors import Halted, MalformedAlert, NotFound, OrderNotFound
from .exchanges.base import Order
from .execution import Executor
from .guard import ACTIVE, HALTED, TradingSwitch
from .venues import Venue

logger = logging.getLogger(__name__)


class ManualActions:
    def __init__(self, executor: Executor, switch: TradingSwitch) -> None:
        self.executor, self.switch = executor, switch

    async def _find(self, venue: Venue, order_id: str) -> Order:
        order = venue.book.orders.get(order_id)
        if order is None:
            order = next(
                (o for o in await venue.exchange.fetch_open_orders() if o.id == order_id), None
            )
        if order is None:
            raise NotFound(f"no open order {order_id} on account {venue.account.name}")
        return order

    async def cancel(
        self, venue: Venue, *, order_id: str | None, symbol: str | None, by: str
    ) -> list[Order]:
        """Seed 004's rule: an order id cancels that order; a symbol, its orders; neither, all."""
        if order_id:
            order = await self._find(venue, order_id)
            return [await self._queued(venue, order.symbol, self._cancel_one(venue, order))]
        exchange = venue.exchange
        cancelled = await self._queued(venue, symbol or "*", exchange.cancel_all_orders(symbol))
        for order in cancelled:
            venue.book.note_order(order)
        logger.info(
            "%s cancelled %d order(s) on %s %s",
            by,
            len(cancelled),
            venue.account.name,
            symbol or "(all symbols)",
        )
        return cancelled

    async def _cancel_one(self, venue: Venue, order: Order) -> Order:
        try:
            cancelled = await venue.exchange.cancel_order(order.id, order.symbol)
        except OrderNotFound:
            raise NotFound(f"order {order.id} is no longer open") from None
        venue.book.note_order(cancelled)
        return cancelled

    async def amend(
        self, venue: Venue, *, order_id: str, size: Decimal | None, price: Decimal | None, by: str
    ) -> Order:
        """A new size and/or price (the trigger, for a stop or take-profit)."""
        if size is None and price is None:
            raise MalformedAlert("give 'size', 'price' or both")
        order = await self._find(venue, order_id)
        mode = self.switch.get(venue.account.name).mode
        if mode == HALTED or (mode != ACTIVE and not order.reduce_only):
            raise Halted(self.switch.get(venue.account.name).describe(venue.account.name))
        trigger = order.trigger_price is not None and order.price is None
        amended = await self._queued(
            venue,
            order.symbol,
            venue.exchange.amend_order(
                order.id,
                order.symbol,
                amount=size,
                price=None if trigger else price,
                trigger_price=price if trigger else None,
            ),
        )
        venue.book.note_order(amended)
        logger.info("%s amended %s on %s", by, order.id, venue.account.name)
        return amended

    async def _queued(self, venue: Venue, symbol: str, work):  # type: ignore[no-untyped-def]
        """Run after what is already queued for this symbol (alerts included)."""

        async def run():  # type: ignore[no-untyped-def]
            return await work

        return await self.executor.queues.submit((venue.account.name, symbol), run)
