"""Binance, Bybit and OKX through ccxt, behind the Exchange interface.

Every call goes through `_send`: it waits out a venue's Retry-After before sending anything, retries
what may be retried (the NetworkError family) with bounded backoff, and maps errors once. A create
is never retried blindly: after a timeout the order is looked up by its client id, for a bounded
while, because a venue can deny an order it accepted for tens of seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ..accounts import Account
from ..errors import ExchangeUnavailable, ExecutionError, OrderNotFound, OrderRejected
from ..models import OrderType, Side
from ..money import dec
from .base import (
    CANCELED,
    Attach,
    Balance,
    Candle,
    EventListener,
    ExchangeEvent,
    Features,
    Market,
    Order,
    Position,
    cancel_each,
    keep_newest,
    notify,
)
from .ccxt_calls import CcxtCalls
from .ccxt_client import make_client, streams
from .ccxt_errors import is_rate_limit
from .ccxt_markets import CcxtMarkets
from .ccxt_recipes import recipe_for
from .ccxt_records import parse_balance, parse_candle, parse_order, parse_position
from .ccxt_stream import CcxtStream
from .polling import VenuePoller

logger = logging.getLogger(__name__)

MARKETS_REFRESH_S = 3600.0
ENDED_KEPT = 10_000  # finished orders remembered, so that a late push cannot reopen one


class CcxtExchange:
    priced_by_alerts = False

    def __init__(
        self,
        account: Account,
        credentials: dict[str, str],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        client_factory: Callable[..., Any] = make_client,
    ) -> None:
        self.account = account
        self.recipe = recipe_for(account.exchange, account.market)
        self.name = f"{account.exchange}:{account.name}"
        spot = self.recipe.spot
        self.features = Features(
            attaches=self.recipe.attaches,
            reduce_only=not spot,
            stop_after_entry=spot,
            take_profits="none" if spot else "ladder",
            amends_stops=self.recipe.amends_triggers,
        )
        self._credentials = credentials
        self._clock, self._sleep, self._factory = clock, sleep, client_factory
        self.client: Any = None
        self.calls = CcxtCalls(self.name, self.recipe.venue, clock, sleep)
        self.markets = CcxtMarkets(self.recipe.spot, account.currency)
        self._triggers: dict[str, bool] = {}  # order id → sits in the venue's trigger book
        self._orders: dict[str, Order] = {}  # last known state by order id, for amends
        self._ended: OrderedDict[str, Decimal] = OrderedDict()  # finished: id → filled
        self._positions: dict[str, Position] = {}  # as last read: a difference is news
        # symbol → (loop time, venue time) of the last position pushed: an older push, or a list
        # asked for before it, is not news.
        self._pushed: dict[str, tuple[float, float]] = {}
        self._spawned: OrderedDict[str, None] = OrderedDict()  # orders fired trigger orders placed
        self._listeners: list[EventListener] = []
        self._tasks: list[asyncio.Task[None]] = []
        # Schedules (polling, market refresh) run on the loop's clock; `sleep` and `clock` time
        # the waits inside one call (backoff, Retry-After, the look-up after a lost answer).
        self.poller = VenuePoller(
            self, self.emit, lambda: dict(self._orders), interval_s=account.poll_s
        )
        self.stream = CcxtStream(self, sleep=sleep)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self.client = self._factory(self.account, self.recipe, self._credentials)
        self.calls.client = self.markets.client = self.client
        mode = "TESTNET" if self.account.sandbox else "LIVE"
        logger.warning(
            "%s: %s trading on %s %s", self.name, mode, self.account.exchange, self.account.market
        )
        await self.calls.send("load markets", self.client.load_markets)
        self._tasks.append(asyncio.create_task(self._refresh_markets()))
        if self._listeners:  # events only serve someone listening
            self._start_events()

    def _start_events(self) -> None:
        self.poller.start()
        if streams(self.account):  # a ccxt.pro client
            self.stream.start()

    async def close(self) -> None:
        await self.stream.stop()
        await self.poller.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.client is not None:
            await self.client.close()

    async def _refresh_markets(self) -> None:
        while True:
            await asyncio.sleep(MARKETS_REFRESH_S)
            try:
                await self.calls.send("reload markets", self.client.load_markets, True)
                self.markets.resolved.clear()
            except ExecutionError as e:
                logger.warning(
                    "%s: markets not refreshed (%s); keeping the old ones", self.name, e.message
                )

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.append(listener)
        if self.client is not None:  # already started
            self._start_events()

    def emit(self, event: ExchangeEvent) -> None:
        """Tell an event, unless it is older than what is known of its order: a venue's pushes
        come twice and out of order, and a late one must not reopen a finished order."""
        if event.order is not None and not self._remember(event.order):
            return
        notify(self._listeners, event, self.name)

    def _stale(self, order: Order) -> bool:
        """Older than what is known: a finished order shown open, or less filled than known."""
        ended = self._ended.get(order.id)
        if ended is not None:
            return order.is_open or order.filled < ended
        known = self._orders.get(order.id)
        return known is not None and order.filled < known.filled

    # --- markets --------------------------------------------------------------------------------

    def market(self, symbol: str) -> Market:
        return self.markets.market(symbol)

    # --- reads ----------------------------------------------------------------------------------

    async def fetch_balance(self) -> Balance:
        raw = await self.calls.send("balance", self.client.fetch_balance)
        return parse_balance(raw, self.account.currency, self.recipe.venue, self.recipe.spot)

    async def fetch_positions(self) -> list[Position]:
        if self.recipe.spot:
            return await self._holdings()
        asked = asyncio.get_running_loop().time()
        raw = await self.calls.send("positions", self.client.fetch_positions)
        out: list[Position] = []
        for item in raw:
            if item.get("symbol") in (self.client.markets or {}):  # ours, not a delisted one
                position = parse_position(item, self.markets.size(item["symbol"]))
                if position is not None:
                    out.append(position)
        self._tell_positions(out, asked)
        return out

    def _tell_positions(self, positions: list[Position], asked: float) -> None:
        """Whoever read them (the poller, a refresh before a plan), changes become events; a
        symbol missing from the list is flat. A symbol the venue pushed news of after the list
        was asked for keeps the push: the list may be older."""
        now = {p.symbol: p for p in positions}
        for symbol in set(self._positions) | set(now):
            if self._pushed.get(symbol, (float("-inf"), 0.0))[0] > asked:
                continue
            self.tell_position(now.get(symbol) or Position(symbol, Decimal(0), Decimal(0)))

    def tell_position(self, new: Position, *, pushed: bool = False) -> None:
        """One position as read or pushed: a difference from the last one is news. A push older
        (by the venue's time) than the last one heard was sent out of order: not news."""
        if pushed:
            last = self._pushed.get(new.symbol)
            if new.timestamp and last is not None and new.timestamp < last[1]:
                return
            self._pushed[new.symbol] = (asyncio.get_running_loop().time(), new.timestamp)
        old = self._positions.get(new.symbol)
        if old is None and not new.size:
            return
        if old is not None and (old.size, old.entry_price) == (new.size, new.entry_price):
            return
        if new.size:
            self._positions[new.symbol] = new
        else:
            self._positions.pop(new.symbol, None)
        self.emit(ExchangeEvent("position", new.symbol, position=new))

    async def _holdings(self) -> list[Position]:
        """Spot has no positions: what is held of a traded pair's coin stands in for one (dust
        under the pair's minimum is not a position). Its entry price is not known."""
        balance = await self.fetch_balance()
        out = []
        for market in {id(m): m for m in self.markets.resolved.values()}.values():
            base = market.symbol.split("/")[0]
            held = balance.assets.get(base, Decimal(0))
            if held >= market.min_amount:
                out.append(Position(market.symbol, held, Decimal(0)))
        return out

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        """Whoever lists them (the poller, a refresh before a plan), changes become events, as
        with positions: a read that updates what is known must also tell what it saw."""
        known = dict(self._orders)
        found: dict[str, Order] = {}
        for params in self.recipe.open_order_lists():
            raw = await self.calls.send(
                "open orders", self.client.fetch_open_orders, symbol, None, None, dict(params)
            )
            for item in raw:
                order = self._parse(item, trigger=bool(params))
                if order.is_open:
                    found[order.id] = order
        for order in found.values():
            if known.get(order.id) != order:
                self.emit(ExchangeEvent("order", order.symbol, order=order))
        return list(found.values())

    async def fetch_order(self, client_id: str, symbol: str) -> Order | None:
        return await self._lookup(client_id, symbol)

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1h", since: int | None = None, limit: int = 120
    ) -> list[Candle]:
        rows = await self.calls.send(
            "candles", self.client.fetch_ohlcv, self.market(symbol).symbol, timeframe, since, limit
        )
        return [parse_candle(row) for row in rows]

    # --- orders ---------------------------------------------------------------------------------

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
        market = self.market(symbol)
        units = self.markets.units(market, amount)
        limit = self.markets.price(market, price) if type is OrderType.LIMIT else None
        trigger = self.markets.price(market, trigger_price)
        params = self.recipe.create_params(
            client_id=client_id, type=type, side=side, trigger=trigger, reduce_only=reduce_only
        )
        if attach is not None:
            params |= self.recipe.attach_params(
                self.markets.price(market, attach.stop),
                self.markets.price(market, attach.take_profit),
            )
        self.markets.check_minimums(market, Decimal(units) * market.contract_size, limit or trigger)
        kind = "limit" if type is OrderType.LIMIT else "market"
        try:
            raw = await self.calls.send(
                f"create {client_id}",
                self.client.create_order,
                market.symbol,
                kind,
                str(side),
                units,
                None if limit is None else float(limit),
                params,
                retry=is_rate_limit,
            )
        except ExchangeUnavailable as e:
            if e.retry_after is not None:  # refused for the rate: it was never placed
                raise
            found = await self._after_lost_answer(client_id, market.symbol, trigger is not None, e)
            return self._told(found)
        order = self._parse(raw, trigger=trigger is not None)
        if not raw.get("status"):  # Bybit and OKX answer ids only: ask for the order itself
            order = await self._complete(order, raw, amount, side, type, trigger, reduce_only)
        return self._told(order)

    def _told(self, order: Order) -> Order:
        """Our own calls are news too: the event stream hears of them now, not at the next poll."""
        self.emit(ExchangeEvent("order", order.symbol, order=order))
        return order

    async def _after_lost_answer(
        self, client_id: str, symbol: str, trigger: bool, error: ExchangeUnavailable
    ) -> Order:
        """The create may or may not have been placed: look for it by client id, bounded."""
        window = self.account.lookup_window_s
        logger.warning(
            "%s: %s (%s); looking the order up for up to %.0f s",
            self.name,
            client_id,
            error.message,
            window,
        )
        deadline, delay = self._clock() + window, 0.5
        while True:
            try:
                found = await self._lookup(client_id, symbol, trigger_first=trigger)
            except ExecutionError:
                found = None  # unknown yet: keep looking, never resend
            if found is not None:
                logger.warning("%s: %s was placed after all: adopted", self.name, client_id)
                return found
            left = deadline - self._clock()
            if left <= 0:
                raise ExecutionError(
                    f"{error.message}, and the venue still does not show the order after "
                    f"{window:.0f} s: NOT sent again; check the venue"
                )
            await self._sleep(min(delay, left))
            delay = min(delay * 2, 5.0)

    async def _complete(
        self,
        order: Order,
        raw: dict[str, Any],
        amount: Decimal,
        side: Side,
        type: OrderType,
        trigger: Decimal | None,
        reduce_only: bool,
    ) -> Order:
        """An answer with ids only (Bybit, OKX). A trigger order rests as sent, so it is not
        worth a round trip; anything that may have filled is read back."""
        fetched = None
        if trigger is None:
            try:
                fetched = await self._by_id(order.id, order.symbol, False)
            except ExecutionError as e:
                logger.warning(
                    "%s: %s accepted, its state not read (%s)", self.name, order.id, e.message
                )
        if fetched is not None:
            return fetched
        made = Order(
            order.id,
            str(raw.get("clientOrderId") or order.client_id),
            order.symbol,
            side,
            type,
            amount,
            trigger_price=trigger,
            reduce_only=reduce_only,
        )
        self._remember(made)
        return made

    async def attached_orders(self, entry: Order, attach: Attach) -> dict[str, Order]:
        """Find the reduce-only triggers the venue armed when the entry filled (no client id of
        ours is on them): by side and trigger level. Looked for three times, briefly."""
        for delay in (0.0, 0.3, 1.0):
            if delay:
                await self._sleep(delay)
            found: dict[str, Order] = {}
            for order in await self.fetch_open_orders(entry.symbol):
                if order.side is entry.side or order.trigger_price is None:
                    continue
                if (
                    attach.stop is not None
                    and order.type is OrderType.STOP
                    and _near(order.trigger_price, attach.stop)
                ):
                    found["stop"] = order
                elif attach.take_profit is not None and _near(
                    order.trigger_price, attach.take_profit
                ):
                    found["tp"] = order
            if "stop" in found or attach.stop is None:
                return found
        return found

    async def cancel_order(self, order_id: str, symbol: str) -> Order:
        known = self._triggers.get(order_id)
        kinds = [known] if known is not None else [False, True]
        error: ExecutionError | None = None
        for trigger in kinds:
            params = self.recipe.cancel_params(trigger)
            try:
                raw = await self.calls.send(
                    f"cancel {order_id}", self.client.cancel_order, order_id, symbol, params
                )
            except OrderNotFound as e:
                error = e
                continue
            order = self._parse(raw, trigger=trigger)
            if not raw.get("status"):
                previous = self._orders.get(order_id, order)
                order = replace(previous, symbol=symbol, status=CANCELED)
            return self._told(order)
        assert error is not None
        raise error

    async def cancel_all_orders(self, symbol: str | None = None) -> list[Order]:
        return await cancel_each(self, symbol)

    async def amend_order(
        self,
        order_id: str,
        symbol: str,
        *,
        amount: Decimal | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> Order:
        current = self._orders.get(order_id)
        if current is None:
            raise OrderNotFound(f"{self.name}: order {order_id} is not one this process placed")
        trigger = self._triggers.get(order_id, False)
        if trigger and not self.recipe.amends_triggers:
            raise OrderRejected(f"{self.recipe.venue} cannot amend a trigger order in place")
        market = self.market(symbol)
        units = self.markets.units(market, amount if amount is not None else current.amount)
        level = trigger_price if trigger_price is not None else current.trigger_price
        params = self.recipe.amend_params(
            trigger, current.type, self.markets.price(market, level), current.client_id
        )
        limit = price if price is not None else current.price
        kind = self.recipe.amend_type(trigger, current.type)
        raw = await self.calls.send(
            f"amend {order_id}",
            self.client.edit_order,
            order_id,
            symbol,
            kind,
            str(current.side),
            units,
            None if limit is None else float(limit),
            params,
        )
        order = self._parse(raw, trigger=trigger)
        if not raw.get("status"):
            order = await self._by_id(order.id, symbol, trigger) or order
        return self._told(order)

    # --- helpers --------------------------------------------------------------------------------

    async def _lookup(
        self, client_id: str, symbol: str, *, trigger_first: bool = False
    ) -> Order | None:
        lookups = self.recipe.lookups(client_id)
        if trigger_first:
            lookups = sorted(lookups, key=lambda item: not item[1].get("trigger"))
        for method, params in lookups:
            try:
                raw = await self.calls.send(
                    f"look up {client_id}",
                    getattr(self.client, method),
                    *_lookup_args(method, symbol),
                    dict(params),
                )
            except OrderNotFound:
                continue
            items = raw if isinstance(raw, list) else [raw]
            for item in items:
                if item and item.get("clientOrderId") == client_id:
                    return self._parse(item, trigger=bool(params.get("trigger")))
        return None

    async def _by_id(self, order_id: str, symbol: str, trigger: bool) -> Order | None:
        try:
            raw = await self.calls.send(
                f"fetch {order_id}",
                self.client.fetch_order,
                order_id,
                symbol,
                self.recipe.fetch_params(trigger),
            )
        except OrderNotFound:
            return None
        return self._parse(raw, trigger=trigger)

    def _parse(self, raw: dict[str, Any], *, trigger: bool, remember: bool = True) -> Order:
        order = parse_order(raw, self.markets.size(raw.get("symbol")), trigger_book=trigger)
        self._triggers[order.id] = trigger or order.trigger_price is not None
        if raw.get("status") and remember:
            self._remember(order)
        return order

    def known_filled(self, order_id: str) -> Decimal | None:
        """How much of one of our orders is known filled (None: not an order we know)."""
        if order_id in self._ended:
            return self._ended[order_id]
        known = self._orders.get(order_id)
        return None if known is None else known.filled

    async def refresh_order(self, order_id: str, symbol: str) -> None:
        """Read one order again and tell what changed (the stream doubts what it heard)."""
        order = await self._by_id(order_id, symbol, self._triggers.get(order_id, False))
        if order is not None:
            self.emit(ExchangeEvent("order", order.symbol, order=order))

    def fill_added(self, raw: dict[str, Any]) -> Decimal:
        """How much a pushed order adds to what is known filled of it."""
        filled = (dec(raw.get("filled")) or Decimal(0)) * self.markets.size(raw.get("symbol"))
        return filled - (self.known_filled(str(raw.get("id"))) or Decimal(0))

    def note_spawned(self, raw: dict[str, Any]) -> None:
        """A fired trigger order names the order it placed: that one is never told."""
        spawned = self.recipe.spawned_order_id(raw)
        if spawned:
            keep_newest(self._spawned, spawned, None, ENDED_KEPT)

    def heard(self, raw: dict[str, Any], fill_price: Decimal | None = None) -> None:
        """An order as the venue pushed it (the stream): told unless stale (see emit). Without
        the price of its trades, a second fill of an order is priced from the two averages."""
        self.note_spawned(raw)
        order_id = str(raw.get("id"))
        if self.recipe.told_by_its_trigger(raw) or order_id in self._spawned:
            return
        order = self._parse(raw, trigger=self._triggers.get(order_id, False), remember=False)
        known = self._orders.get(order_id)
        if (
            fill_price is None
            and known is not None
            and known.average
            and order.average
            and order.filled > known.filled > 0
        ):
            paid = order.average * order.filled - known.average * known.filled
            fill_price = paid / (order.filled - known.filled)
        self.emit(ExchangeEvent("order", order.symbol, order=order, fill_price=fill_price))

    def _remember(self, order: Order) -> bool:
        """Keep an order's latest state; False (and nothing kept) when it is older than that."""
        if self._stale(order):
            return False
        if order.is_open:
            self._orders[order.id] = order
            return True
        self._orders.pop(order.id, None)
        for gone in keep_newest(self._ended, order.id, order.filled, ENDED_KEPT):
            self._triggers.pop(gone, None)
        return True


def _lookup_args(method: str, symbol: str) -> tuple[Any, ...]:
    return (symbol, None, None) if method == "fetch_open_orders" else (None, symbol)


def _near(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= abs(b) * Decimal("0.0001")
