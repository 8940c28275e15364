"""Order, trade and position changes pushed by a ccxt venue (ccxt.pro's watch_orders,
watch_my_trades and watch_positions), told as events the moment they arrive.

Polling stays, as the fallback and the reconciliation: while every stream is connected the poller
runs once a minute, and a reconnect is followed by one poll at once for what was said while no
one listened (a venue does not replay its pushes). A stream that fails is retried with
exponential backoff (1 s, doubling, up to 60 s), and the poller runs at `poll_s` meanwhile. A
venue or market ccxt cannot stream (NotSupported) is polled, as before streams existed.

Duplicated and reordered pushes are the tracker's and the adapter's business (events.py,
CcxtExchange.emit): this module only turns ccxt's records into events.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import BotError
from ..money import dec
from ..plan_rows import role_of
from .base import Position, keep_newest
from .ccxt_errors import translate
from .ccxt_records import parse_position

if TYPE_CHECKING:
    from .ccxt_venue import CcxtExchange

logger = logging.getLogger(__name__)

RECONCILE_S = 60.0  # polling while the streams are connected
BACKOFF_FIRST_S, BACKOFF_MAX_S = 1.0, 60.0
TRADES_KEPT = 1_000  # orders whose trades are remembered
TRADE_GRACE_S = 0.5  # a trade's order update is due by then (both come in one venue message)
_LISTEN_KEY = re.compile(r"(listenKey=)[^&\s'\"]+")


class CcxtStream:
    def __init__(
        self, exchange: CcxtExchange, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self.exchange = exchange
        self._sleep = sleep
        self.poll_s = exchange.account.poll_s
        self.connected = False
        self.connects = 0  # websocket connections opened
        self.failures = 0  # stream errors since start (each followed by a backoff)
        self.supported: list[str] = []  # what this venue streams (the rest is polled)
        self.unsupported: list[str] = []  # what ccxt said it cannot stream after all
        self._tasks: list[asyncio.Task[None]] = []
        # Trades heard, by order: their ids and quantities, and those not yet priced into an
        # update of their order (the price of that fill).
        self._traded: OrderedDict[str, dict[str, Decimal]] = OrderedDict()
        self._unpriced: OrderedDict[str, list[tuple[Decimal, Decimal]]] = OrderedDict()
        # Delayed work, cancelled by stop(): the look after a trade (by order id), a record held
        # back while it may be a fired stop's own order ("spawned:<id>").
        self._checks: dict[str, asyncio.Task[None]] = {}

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._tasks:
            return
        client = self.exchange.client
        has = getattr(client, "has", {}) or {}
        watches: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        if has.get("watchOrders"):
            watches.append(("orders", self._orders))
        if has.get("watchMyTrades"):
            watches.append(("trades", self._my_trades))
        if has.get("watchPositions") and not self.exchange.recipe.spot:
            watches.append(("positions", self._positions))
        if not watches:
            logger.info("%s: ccxt streams nothing here; polling", self.exchange.name)
            return
        self._hook_connections(client)
        self.supported = [name for name, _ in watches]
        for name, step in watches:
            self._tasks.append(asyncio.create_task(self._run(name, step)))

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._checks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def _hook_connections(self, client: Any) -> None:
        """ccxt calls `on_connected` (its hook for users) each time a websocket opens."""
        original = client.on_connected

        def on_connected(ws_client: Any, message: Any = None) -> None:
            original(ws_client, message)
            self._up()

        client.on_connected = on_connected

    def _up(self) -> None:
        """A stream connected: news now arrives by itself; one poll picks up what was missed."""
        reconnect = self.failures > 0
        self.connected = True
        self.connects += 1
        # A stream ccxt cannot serve leaves its news to polling, at its usual pace.
        slow = not self.unsupported
        self.exchange.poller.interval_s = max(self.poll_s, RECONCILE_S) if slow else self.poll_s
        self.exchange.poller.wake()
        logger.info(
            "%s: venue stream %s; polling every %.0f s",
            self.exchange.name,
            "back" if reconnect else "connected",
            self.exchange.poller.interval_s,
        )

    def _down(self) -> None:
        """Polling at its own pace again, from now: the poller may be in a minute-long wait."""
        self.connected = False
        self._poll_fast()

    def _poll_fast(self) -> None:
        self.exchange.poller.interval_s = self.poll_s
        self.exchange.poller.wake()

    async def _run(self, name: str, step: Callable[[], Awaitable[None]]) -> None:
        delay, connects = BACKOFF_FIRST_S, self.connects
        while True:
            try:
                await step()
                delay = BACKOFF_FIRST_S  # it answered: the next failure starts over
                if not self.connected:  # back on a socket that never closed: no on_connected
                    self._up()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # ccxt's NetworkError family, a refused key, a closed socket
                import ccxt

                if isinstance(e, ccxt.NotSupported):  # the other streams go on
                    self.unsupported.append(name)
                    self._poll_fast()
                    logger.warning(
                        "%s: cannot stream %s (%s); polling every %.0f s",
                        self.exchange.name,
                        name,
                        self._reason(name, e),
                        self.poll_s,
                    )
                    return
                self._down()
                if self.connects != connects:  # it was connected since: start over
                    delay, connects = BACKOFF_FIRST_S, self.connects
                self.failures += 1
                logger.warning(
                    "%s: %s stream lost (%s); polling every %.0f s, reconnecting in %.1f s",
                    self.exchange.name,
                    name,
                    self._reason(name, e),
                    self.poll_s,
                    delay,
                )
                await self._sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)

    def _reason(self, name: str, error: Exception) -> str:
        """What went wrong, without raw ccxt text (it carries URLs, keys in them, and bodies):
        ccxt's errors are translated as every REST call's are."""
        import ccxt

        if isinstance(error, ccxt.BaseError):
            return translate(error, self.exchange.recipe.venue, f"{name} stream").message
        return f"{type(error).__name__}: {_clean(error)}"

    # --- what the venue pushes ------------------------------------------------------------------

    async def _orders(self) -> None:
        for raw in await self.exchange.client.watch_orders():
            self._each(self.heard_order, raw)

    def _each(self, handle: Callable[[dict[str, Any]], None], raw: dict[str, Any]) -> None:
        """One record: a fault in our handling of it is logged and the batch goes on (the
        connection is fine, and the next poll reconciles what this record said)."""
        try:
            handle(raw)
        except Exception:
            logger.exception(
                "%s: a pushed record could not be handled (id %s)",
                self.exchange.name,
                raw.get("id"),
            )

    async def _my_trades(self) -> None:
        """Trades are the ledger that does not merge: ccxt keeps one record per order between two
        reads, so two pushes of one order in a burst reach us as the later one, and when the
        venue sent them out of order that is the older. A trade heard for an order we know, but
        do not know filled that far shortly after, has its order read again over REST."""
        for raw in await self.exchange.client.watch_my_trades():
            self._each(self.heard_trade, raw)

    def heard_trade(self, raw: dict[str, Any]) -> None:
        order_id, trade_id = str(raw.get("order") or ""), str(raw.get("id") or "")
        amount, price = dec(raw.get("amount")), dec(raw.get("price"))
        if not (order_id and trade_id and amount and price):
            return
        seen = _recent(self._traded, order_id, dict)
        if trade_id in seen:
            return  # the same trade pushed again
        qty = amount * self.exchange.markets.size(raw.get("symbol"))
        seen[trade_id] = qty
        _recent(self._unpriced, order_id, list).append((qty, price))
        symbol = str(raw.get("symbol"))
        # One look per order, however many trades: its update is due by then.
        self._later(order_id, lambda: self._check(order_id, symbol), replace=False)

    async def _check(self, order_id: str, symbol: str) -> None:
        known = self.exchange.known_filled(order_id)
        traded = sum(self._traded.get(order_id, {}).values(), Decimal(0))
        if known is None or traded <= known:
            return  # not ours (or not yet told: its first news will say it), or up to date
        try:
            await self.exchange.refresh_order(order_id, symbol)
        except BotError as e:
            logger.warning(
                "%s: %s traded %s but reads filled %s; not re-read (%s): the next poll will",
                self.exchange.name,
                order_id,
                traded,
                known,
                e.message,
            )

    async def _positions(self) -> None:
        for raw in await self.exchange.client.watch_positions():
            self._each(self.heard_position, raw)

    def heard_order(self, raw: dict[str, Any]) -> None:
        """An order update, priced by the trades heard for it when they are exactly the amount
        it adds (on Bybit and OKX an update and its trades are separate messages, in either
        order); otherwise the adapter prices the fill from the averages."""
        if raw.get("symbol") not in (self.exchange.client.markets or {}):
            return
        self.exchange.note_spawned(raw)  # at once: the order it names may be waiting
        order_id = str(raw.get("id"))
        trades = self._unpriced.pop(order_id, [])
        qty = sum((q for q, _ in trades), Decimal(0))
        adds = self.exchange.fill_added(raw)
        price = None
        if qty and adds == qty:
            price = sum((q * p for q, p in trades), Decimal(0)) / qty
        if self._maybe_spawned(raw):  # a newer record of it replaces the one waiting
            self._later(f"spawned:{order_id}", lambda: self._heard(raw, price), replace=True)
        else:
            self.exchange.heard(raw, fill_price=price)

    async def _heard(self, raw: dict[str, Any], price: Decimal | None) -> None:
        self._each(lambda record: self.exchange.heard(record, fill_price=price), raw)

    def _maybe_spawned(self, raw: dict[str, Any]) -> bool:
        """An order we did not place and do not know yet, on a venue whose fired stops place
        orders: it may be one, named by its stop's update a moment later (Binance orders its
        pushes only within one event type), so it waits TRADE_GRACE_S before it is told, or
        dropped. (An order placed by hand is told that much later.)"""
        client_id = str(raw.get("clientOrderId") or "")
        return (
            self.exchange.recipe.spawns_orders
            and self.exchange.known_filled(str(raw.get("id"))) is None
            and role_of(client_id) is None
        )

    def _later(self, key: str, action: Callable[[], Awaitable[None]], *, replace: bool) -> None:
        """action() after TRADE_GRACE_S, in a task stop() cancels; one per key at a time: a new
        one replaces the one waiting, or (replace=False) is dropped for it."""
        pending = self._checks.get(key)
        if pending is not None:
            if not replace:
                return
            pending.cancel()

        async def wait_then_act() -> None:
            await asyncio.sleep(TRADE_GRACE_S)  # loop time, whatever sleep the tests inject
            await action()

        task = asyncio.create_task(wait_then_act())
        self._checks[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._checks.get(key) is done:
                del self._checks[key]

        task.add_done_callback(forget)

    def heard_position(self, raw: dict[str, Any]) -> None:
        exchange = self.exchange
        symbol = raw.get("symbol")
        if symbol not in (exchange.client.markets or {}):
            return
        position = parse_position(raw, exchange.markets.size(symbol))
        flat = Position(symbol, Decimal(0), Decimal(0), timestamp=float(raw.get("timestamp") or 0))
        exchange.tell_position(position or flat, pushed=True)


def _recent(table: OrderedDict[str, Any], key: str, make: Callable[[], Any]) -> Any:
    """table[key] (made if missing), as the newest of the TRADES_KEPT keys kept."""
    keep_newest(table, key, table[key] if key in table else make(), TRADES_KEPT)
    return table[key]


def _clean(error: BaseException) -> str:
    """An error's text without the user stream's key (it reads the account's orders)."""
    return _LISTEN_KEY.sub(r"\1***", str(error))[:300]
