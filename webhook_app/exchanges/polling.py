"""Events for a venue that does not push them, and the reconciliation of one that does: poll open
orders, positions and the balance, and emit what changed. An order that leaves the open list is
looked up once to learn how it ended; positions are compared by the adapter itself, whoever reads
them. `interval_s` is read before each wait, and `wake()` cuts a wait short (a stream came back:
what it missed is asked for at once)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from ..errors import BotError
from .base import CANCELED, ExchangeEvent, Order

if TYPE_CHECKING:
    from .base import Exchange

logger = logging.getLogger(__name__)


class VenuePoller:
    def __init__(
        self,
        exchange: Exchange,
        emit: Callable[[ExchangeEvent], None],
        known: Callable[[], dict[str, Order]],
        *,
        interval_s: float,
    ) -> None:
        self.exchange, self.emit, self.known = exchange, emit, known
        self.interval_s = interval_s
        self.balance_total: Decimal | None = None
        self._task: asyncio.Task[None] | None = None
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._woken.wait(), self.interval_s)
            except TimeoutError:
                pass
            self._woken.clear()
            try:
                await self.poll()
            except BotError as e:
                logger.warning(
                    "%s: polling failed (%s); trying again", self.exchange.name, e.message
                )
            except Exception:
                logger.exception("%s: polling crashed; trying again", self.exchange.name)

    async def poll(self) -> None:
        """One round: compare the venue with what was known and emit the differences."""
        known = self.known()  # the open orders as last seen: listed, or placed by us since
        # The adapter tells every change it reads, to orders and positions; what it cannot see
        # in a list is an order that left it, looked up here.
        orders = {o.id: o for o in await self.exchange.fetch_open_orders()}
        await self.exchange.fetch_positions()
        balance = await self.exchange.fetch_balance()
        for gone in set(known) - set(orders):
            ended = await self._ended(known[gone])
            self.emit(ExchangeEvent("order", ended.symbol, order=ended))
        if balance.total != self.balance_total:
            self.emit(ExchangeEvent("balance", balance=balance))
        self.balance_total = balance.total

    async def _ended(self, order: Order) -> Order:
        """How an order that left the open list ended: filled, or cancelled (the default)."""
        found = None
        if order.client_id:
            try:
                found = await self.exchange.fetch_order(order.client_id, order.symbol)
            except BotError:
                found = None
        if found is not None and not found.is_open:
            return found
        return replace(order, status=CANCELED)  # gone without a trace: cancelled
