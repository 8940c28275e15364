"""Interactive Brokers (TWS or IB Gateway) through ib_async, behind the Exchange interface.

An entry with its stop and take-profit is one bracket: the parent and two children, only the last
one transmitted, so TWS releases all three together. Every order carries our client id in
`orderRef`, which TWS does not check for uniqueness, so this adapter does: an id already among
the session's trades is never sent again. A lost connection is retried with backoff, forever,
until close(); ib_async re-syncs the open orders, which are found again by `orderRef`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from ..accounts import Account
from ..errors import (
    DuplicateClientId,
    ExchangeUnavailable,
    ExecutionError,
    OrderNotFound,
    OrderRejected,
)
from ..models import OrderType, Side
from ..money import dec
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
    cancel_each,
    notify,
)
from .ib_client import IBClient
from .ib_contracts import parse_spec
from .ib_records import order_from_trade, position_from_ib

logger = logging.getLogger(__name__)

RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # then every 30 s, until close()
CONNECT_TIMEOUT_S = 4.0
_WAIT_STEP_S = 0.02


class IbExchange:
    priced_by_alerts = False
    features = Features(
        attaches=frozenset({"stop", "tp"}),  # the bracket's two children
        reduce_only=False,
        take_profits="final",
        amends_stops=True,  # modify the stop: same order, new auxPrice
        balance_is_equity=True,  # NetLiquidation
    )

    def __init__(
        self,
        account: Account,
        tickers: dict[str, str],
        *,
        client: IBClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        reconnect_delays: tuple[float, ...] = RECONNECT_DELAYS,
    ) -> None:
        self.account = account
        self.name = f"ib:{account.name}"
        self.specs = {spec.text: spec for spec in (parse_spec(v) for v in tickers.values())}
        self._aliases = {ticker: parse_spec(value).text for ticker, value in tickers.items()}
        self.ib: Any = client
        self._sleep, self.reconnect_delays = sleep, reconnect_delays
        self._contracts: dict[str, Any] = {}  # spec text → qualified Contract
        self._markets: dict[str, Market] = {}
        self._listeners: list[EventListener] = []
        self._closing = False
        self._reconnect: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.ib is None:
            from ib_async import IB  # only an IB account pays for importing ib_async

            self.ib = IB()
        self.ib.disconnectedEvent += self._on_disconnected
        self.ib.orderStatusEvent += self._on_status
        self.ib.execDetailsEvent += self._on_execution
        self.ib.positionEvent += self._on_position
        self.ib.errorEvent += self._on_error
        mode = "PAPER" if self.account.sandbox else "LIVE"
        logger.warning(
            "%s: %s account at %s:%s", self.name, mode, self.account.ib_host, self.account.ib_port
        )
        if not await self._connect(attempts=2):
            self._schedule_reconnect()
            raise ExchangeUnavailable(f"{self.name}: TWS / IB Gateway not reachable; retrying")

    async def close(self) -> None:
        self._closing = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            await asyncio.gather(self._reconnect, return_exceptions=True)
        if self.ib is not None:
            self.ib.disconnect()

    async def _connect(self, attempts: int) -> bool:
        for attempt in range(attempts):
            if attempt:
                await self._sleep(
                    self.reconnect_delays[min(attempt - 1, len(self.reconnect_delays) - 1)]
                )
            try:
                await self.ib.connectAsync(
                    self.account.ib_host,
                    self.account.ib_port,
                    clientId=self.account.ib_client_id,
                    timeout=CONNECT_TIMEOUT_S,
                )
            except (OSError, ConnectionError) as e:  # refused, timeout, bad host, id in use
                logger.warning("%s: connect failed (%s)", self.name, type(e).__name__)
                continue
            await self._qualify()
            self.connected.set()
            return True
        return False

    async def _qualify(self) -> None:
        missing = [text for text in self.specs if text not in self._contracts]
        if not missing:
            return
        contracts = [self.specs[text].contract() for text in missing]
        for text, found in zip(
            missing, await self.ib.qualifyContractsAsync(*contracts), strict=True
        ):
            if found is None or isinstance(found, list):
                logger.error(
                    "%s: IB does not know the contract %s (or it is ambiguous)", self.name, text
                )
                continue
            self._contracts[text] = found
            multiplier = (
                Decimal(str(found.multiplier)) if getattr(found, "multiplier", "") else None
            )
            self._markets[text] = self.specs[text].market(multiplier)

    def _on_disconnected(self) -> None:
        self.connected.clear()
        if not self._closing:
            logger.error("%s: connection to TWS lost; reconnecting", self.name)
            self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        attempt = 0
        while not self._closing and not self.ib.isConnected():
            await self._sleep(self.reconnect_delays[min(attempt, len(self.reconnect_delays) - 1)])
            if await self._connect(attempts=1):
                logger.warning("%s: reconnected; open orders re-synced by TWS", self.name)
                return
            attempt += 1

    # --- events ---------------------------------------------------------------------------------

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def _emit(self, event: ExchangeEvent) -> None:
        notify(self._listeners, event, self.name)

    def _on_status(self, trade: Any) -> None:
        self._tell(trade)

    def _on_execution(self, trade: Any, fill: Any) -> None:
        """One execution: the fill at its own price (the status carries the order's average)."""
        self._tell(trade, Decimal(str(fill.execution.price)))

    def _tell(self, trade: Any, fill_price: Decimal | None = None) -> None:
        order, now = self._ours(trade), time.time() * 1000
        self._emit(
            ExchangeEvent("order", order.symbol, order=order, fill_price=fill_price, time=now)
        )

    def _ours(self, trade: Any) -> Order:
        """An ib_async Trade as our Order, in the symbol and units of its contract."""
        return order_from_trade(trade, self._symbol_of(trade.contract), self._size(trade.contract))

    def _on_position(self, position: Any) -> None:
        ours = position_from_ib(
            position, self._symbol_of(position.contract), self._size(position.contract)
        )
        self._emit(ExchangeEvent("position", ours.symbol, position=ours))

    def _on_error(self, req_id: int, code: int, text: str, contract: Any) -> None:
        if not 2100 <= code < 2200:  # 2100-2199 are data-farm notices
            logger.warning("%s: IB error %s on request %s: %s", self.name, code, req_id, text)

    # --- markets --------------------------------------------------------------------------------

    def market(self, symbol: str) -> Market:
        text = self._aliases.get(symbol, symbol)
        if text in self._markets:
            return self._markets[text]
        if text in self.specs:
            raise OrderRejected(f"{symbol}: IB has not confirmed this contract (see the log)")
        known = ", ".join(sorted(self._aliases)) or "none"
        raise OrderRejected(
            f"unknown ticker {symbol!r} for IB: map it in the accounts file's [tickers.ib] "
            f"(mapped: {known})"
        )

    def _symbol_of(self, contract: Any) -> str:
        for text, known in self._contracts.items():
            if known.conId and known.conId == contract.conId:
                return text
        return f"{contract.secType}:{contract.localSymbol or contract.symbol}"

    def _size(self, contract: Any) -> Decimal:
        market = self._markets.get(self._symbol_of(contract))
        return market.contract_size if market else Decimal(1)

    # --- reads (ib_async keeps these current: no round trip) ------------------------------------

    async def fetch_balance(self) -> Balance:
        self._require()
        values = {(v.tag, v.currency): v.value for v in self.ib.accountValues()}
        currency = self.account.currency
        net = dec(values.get(("NetLiquidation", currency)))
        if net is None:
            raise ExecutionError(f"{self.name}: no NetLiquidation in {currency} from IB yet")
        free = dec(values.get(("AvailableFunds", currency)))
        return Balance(currency, net, net if free is None else free)

    async def fetch_positions(self) -> list[Position]:
        self._require()
        out = []
        for item in self.ib.positions():
            if item.position:
                out.append(
                    position_from_ib(
                        item, self._symbol_of(item.contract), self._size(item.contract)
                    )
                )
        return out

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        self._require()
        out = []
        for trade in self.ib.openTrades():
            ours = self._symbol_of(trade.contract)
            if symbol in (None, ours):
                out.append(order_from_trade(trade, ours, self._size(trade.contract)))
        return out

    async def fetch_order(self, client_id: str, symbol: str) -> Order | None:
        self._require()
        trade = self._by_ref(client_id)
        if trade is None:
            return None
        return self._ours(trade)

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1h", since: int | None = None, limit: int = 120
    ) -> list[Candle]:
        raise OrderRejected("candles from Interactive Brokers are not supported yet")

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
        self._require()
        market = self.market(symbol)
        contract = self._contracts[market.symbol]
        for ref in (client_id, attach and attach.stop_client_id, attach and attach.tp_client_id):
            if ref and self._by_ref(ref) is not None:  # TWS would take it twice: we do not
                raise DuplicateClientId(f"{self.name}: {ref} was already sent to IB")
        order = self._order(
            side, type, self._units(market, amount), price, trigger_price, client_id
        )
        legs = [order]
        if attach is not None:
            order.transmit = False
            legs += self._children(order, side, market, amount, attach)
        trades = []
        try:
            for leg in legs:
                trades.append(self.ib.placeOrder(contract, leg))
                if leg is order and attach is not None:
                    for child in legs[1:]:
                        child.parentId = order.orderId
        except ConnectionError as e:
            for trade in trades:  # a held parent would sit untransmitted in TWS
                self.ib.cancelOrder(trade.order)
            raise ExchangeUnavailable(f"{self.name}: not connected to TWS") from e
        filled = type is OrderType.MARKET
        await self._settle(trades[0], filled=filled)
        return order_from_trade(trades[0], market.symbol, market.contract_size)

    def _order(
        self,
        side: Side,
        type: OrderType,
        units: float,
        price: Decimal | None,
        trigger: Decimal | None,
        ref: str,
    ) -> Any:
        from ib_async import LimitOrder, MarketOrder, StopOrder

        action = "BUY" if side is Side.BUY else "SELL"
        if type is OrderType.MARKET:
            return MarketOrder(action, units, orderRef=ref)
        if type is OrderType.LIMIT:
            return LimitOrder(action, units, float(_need(price, "price")), orderRef=ref)
        if type is OrderType.STOP:
            return StopOrder(action, units, float(_need(trigger, "stop")), orderRef=ref, tif="GTC")
        # A take-profit rests as a limit order at its level, as in IB's own brackets.
        return LimitOrder(
            action, units, float(_need(trigger, "take-profit")), orderRef=ref, tif="GTC"
        )

    def _children(
        self, parent: Any, side: Side, market: Market, amount: Decimal, attach: Attach
    ) -> list[Any]:
        """The bracket's stop and take-profit: one OCA group, only the last leg transmitted."""
        children = []
        if attach.stop is not None:
            children.append(
                self._order(
                    side.opposite,
                    OrderType.STOP,
                    self._units(market, amount),
                    None,
                    attach.stop,
                    attach.stop_client_id or "",
                )
            )
        if attach.take_profit is not None:
            size = attach.tp_amount or amount
            children.append(
                self._order(
                    side.opposite,
                    OrderType.TAKE_PROFIT,
                    self._units(market, size),
                    None,
                    attach.take_profit,
                    attach.tp_client_id or "",
                )
            )
        for child in children:
            child.ocaGroup, child.ocaType, child.transmit = f"{parent.orderRef}oca", 1, False
        children[-1].transmit = True
        return children

    async def attached_orders(self, entry: Order, attach: Attach) -> dict[str, Order]:
        found = {}
        for role, ref in (("stop", attach.stop_client_id), ("tp", attach.tp_client_id)):
            trade = self._by_ref(ref) if ref else None
            if trade is not None:
                found[role] = order_from_trade(trade, entry.symbol, self._size(trade.contract))
        return found

    async def cancel_order(self, order_id: str, symbol: str) -> Order:
        self._require()
        trade = self._open_trade(order_id)
        self.ib.cancelOrder(trade.order)
        await self._settle(trade, done=True)
        return self._ours(trade)

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
        """Modify in place: the same Order object (same id and OCA group), sent again."""
        self._require()
        trade = self._open_trade(order_id)
        order, size = trade.order, self._size(trade.contract)
        if amount is not None:
            order.totalQuantity = float(amount / size)
        if trigger_price is not None:
            if order.orderType == "STP":
                order.auxPrice = float(trigger_price)
            else:
                order.lmtPrice = float(trigger_price)  # a take-profit rests as a limit
        if price is not None:
            order.lmtPrice = float(price)
        order.transmit = True  # a child placed untransmitted must be transmitted when modified
        self.ib.placeOrder(trade.contract, order)
        await self._settle(trade, modified=True)
        return order_from_trade(trade, self._symbol_of(trade.contract), size)

    # --- helpers --------------------------------------------------------------------------------

    def _require(self) -> None:
        if self.ib is None or not self.ib.isConnected():
            raise ExchangeUnavailable(f"{self.name}: not connected to TWS / IB Gateway")

    def _by_ref(self, ref: str) -> Any:
        """The newest trade carrying this orderRef (this session's, or re-synced after a
        reconnect)."""
        matches = [t for t in self.ib.trades() if t.order.orderRef == ref]
        return matches[-1] if matches else None

    def _open_trade(self, order_id: str) -> Any:
        for trade in self.ib.openTrades():
            if str(trade.order.orderId) == str(order_id):
                return trade
        raise OrderNotFound(f"{self.name}: no open order {order_id}")

    @staticmethod
    def _units(market: Market, amount: Decimal) -> float:
        units = amount / market.contract_size
        if units <= 0 or units != units.to_integral_value() and market.symbol[:4] != "CASH":
            raise OrderRejected(f"{amount} is not a whole number of {market.symbol} contracts")
        return float(units)

    async def _settle(
        self, trade: Any, *, filled: bool = False, done: bool = False, modified: bool = False
    ) -> None:
        """Wait (bounded by the account's timeout) for TWS to answer; an error is a refusal."""
        deadline = time.monotonic() + self.account.timeout_ms / 1000
        start = len(trade.log)
        while time.monotonic() < deadline:
            status = trade.orderStatus.status
            error = _error_of(trade, start)
            if error is not None:
                raise OrderRejected(f"IB refused the order: {error}")
            if (
                (done and trade.isDone())
                or (filled and status == "Filled")
                or (modified and any(e.message == "Modified" for e in trade.log[start:]))
                or (not (filled or done or modified) and status not in ("PendingSubmit", ""))
                or (not done and status in ("Cancelled", "ApiCancelled", "Inactive"))
            ):
                return
            await asyncio.sleep(_WAIT_STEP_S)
        logger.warning(
            "%s: order %s still %s after the timeout",
            self.name,
            trade.order.orderRef,
            trade.orderStatus.status,
        )


def _error_of(trade: Any, start: int) -> str | None:
    for entry in trade.log[start:]:
        if getattr(entry, "errorCode", 0) and entry.errorCode not in (0, 399):
            return f"{entry.message} (code {entry.errorCode})"
    return None


def _need(value: Decimal | None, what: str) -> Decimal:
    if value is None:
        raise OrderRejected(f"a {what} price is required")
    return value


__all__ = ["IbExchange"]
