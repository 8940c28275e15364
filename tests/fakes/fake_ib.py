"""In-process fake of the ``IBClient`` protocol (see ib_protocol.py).

It hands out ib_async's *real* data classes (Trade, OrderStatus, Fill, Position,
...) and ``eventkit.Event`` objects, and mimics the behaviour of ``ib_async.IB``
+ TWS that an order adapter depends on (all verified against ib_async 2.1.0
source, see GUIDE.md):

* ``placeOrder``/``cancelOrder``/``reqGlobalCancel`` raise
  ``ConnectionError("Not connected")`` when not connected.
* ``placeOrder`` with ``orderId == 0`` assigns the next id and writes it into the
  order; it also sets ``order.clientId``. A second ``placeOrder`` of an order
  whose (clientId, orderId) is known is a *modification* (asserts not done).
* The new Trade starts ``PendingSubmit``; broker reactions (status changes,
  fills, position updates) are delivered *later* via ``loop.call_soon`` -- never
  synchronously inside placeOrder -- just like socket data.
* ``transmit=False`` orders are held until an order of the same parent group is
  placed with ``transmit=True``. A transmitted MKT parent fills at
  ``self.price``; its children go PreSubmitted, then Submitted after the fill.
* Bracket/OCA: when one child fills, its siblings are cancelled; cancelling a
  parent cancels its children.
* ``cancelOrder`` sets ``PendingCancel`` immediately (``Cancelled`` right away if
  the order was never transmitted), the broker confirms ``Cancelled`` later.
* ``disconnect()``/``drop()`` emit ``disconnectedEvent`` and clear the session
  state (trades, fills, positions) like ``Wrapper.reset()``; the broker-side book
  survives. ``connectAsync`` re-syncs: open orders of this clientId come back as
  *new* Trade objects (same orderId/orderRef), like reqOpenOrders at startup.
* Errors: ``reject()`` emits ``errorEvent(reqId, code, msg, contract)`` and marks
  the trade ``Cancelled`` (that is what ib_async's Wrapper.error does).

Test hooks: ``price``, ``refuse_connect``, ``trigger(order_id, price)``,
``drop()``, ``reject(order_id, code, msg)``, ``settle()``, ``calls``.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from eventkit import Event
from ib_async import (
    AccountValue,
    CommissionReport,
    Contract,
    Execution,
    Fill,
    Order,
    OrderStatus,
    Position,
    Trade,
)
from ib_async.objects import TradeLogEntry

UTC = dt.UTC


@dataclass
class _BrokerOrder:
    """Broker-side (TWS) view of an order; survives client disconnects."""

    client_id: int
    contract: Contract
    order: Order  # broker's own copy
    status: str = "Held"  # Held | PreSubmitted | Submitted | Filled | Cancelled
    filled: float = 0.0
    avg_price: float = 0.0
    perm_id: int = 0


class FakeIB:
    def __init__(
        self,
        *,
        price: float = 100.0,
        account: str = "DU0000001",
        next_order_id: int = 1,
        contracts: dict[tuple[str, str], int] | None = None,
        executions_first: bool = False,
    ) -> None:
        # TWS sends a fill's execution before the order status that counts it; the fake sends
        # the status first unless told otherwise.
        self.executions_first = executions_first
        self.connectedEvent = Event("connectedEvent")
        self.disconnectedEvent = Event("disconnectedEvent")
        self.orderStatusEvent = Event("orderStatusEvent")
        self.execDetailsEvent = Event("execDetailsEvent")
        self.positionEvent = Event("positionEvent")
        self.errorEvent = Event("errorEvent")
        # extra IB events the fake also emits (not part of IBClient)
        self.newOrderEvent = Event("newOrderEvent")
        self.orderModifyEvent = Event("orderModifyEvent")
        self.price = price
        self.account = account
        self.refuse_connect = False
        self.calls: list[tuple[str, Any]] = []  # (method, payload) journal for assertions
        self.net_liquidation = 100_000.0
        self.available_funds = 80_000.0
        # (symbol, secType) -> conId for qualifyContractsAsync
        self.contracts = contracts or {
            ("AAPL", "STK"): 265598,
            ("ES", "FUT"): 495512563,
            ("ES", "CONTFUT"): 495512563,
            ("EUR", "CASH"): 12087792,
        }
        self._connected = False
        self._client_id = -1
        self._next_id = next_order_id
        self._perm = itertools.count(1_000_001)
        self._exec = itertools.count(1)
        self._book: dict[tuple[int, int], _BrokerOrder] = {}
        self._broker_positions: dict[int, tuple[Contract, float, float]] = {}
        self._reset_session()

    # ------------------------------------------------------------ session
    def _reset_session(self) -> None:
        self._trades: dict[tuple[int, int], Trade] = {}
        self._fills: dict[str, Fill] = {}
        self._positions: dict[int, Position] = {}

    async def connectAsync(
        self,
        host: str = "127.0.0.1",
        port: int = 7497,
        clientId: int = 1,
        timeout: float | None = 4,  # noqa: ASYNC109 - ib_async's signature
        *args: Any,
        **kwargs: Any,
    ) -> FakeIB:
        self.calls.append(("connectAsync", (host, port, clientId, timeout)))
        await asyncio.sleep(0)
        if self.refuse_connect:
            raise ConnectionRefusedError(111, f"Connect call failed ('{host}', {port})")
        self._connected, self._client_id = True, int(clientId)
        # startup sync: positions + this client's open orders (new Trade objects)
        for con_id, (c, qty, avg) in self._broker_positions.items():
            self._positions[con_id] = Position(self.account, c, qty, avg)
        for key, bo in self._book.items():
            if bo.client_id == self._client_id and bo.status in ("PreSubmitted", "Submitted"):
                o = copy.copy(bo.order)
                st = OrderStatus(
                    orderId=o.orderId,
                    status=bo.status,
                    remaining=o.totalQuantity,
                    permId=bo.perm_id,
                    parentId=o.parentId,
                    clientId=self._client_id,
                )
                self._trades[key] = Trade(bo.contract, o, st, [], [])
            self._next_id = max(self._next_id, key[1] + 1)
        self.connectedEvent.emit()
        return self

    def disconnect(self) -> str | None:
        self.calls.append(("disconnect", None))
        if not self._connected:
            return None
        self._connected = False
        self.disconnectedEvent.emit()
        self._reset_session()
        return "Disconnecting from fake"

    def isConnected(self) -> bool:
        return self._connected

    # ------------------------------------------------------------ contracts
    async def qualifyContractsAsync(
        self, *contracts: Contract, returnAll: bool = False
    ) -> list[Contract | list[Contract | None] | None]:
        self._require()
        await asyncio.sleep(0)
        out: list[Contract | list[Contract | None] | None] = []
        for c in contracts:
            con_id = self.contracts.get((c.symbol, c.secType))
            if con_id is None:
                self.errorEvent.emit(
                    -1, 200, "No security definition has been found for the request", c
                )
                out.append(None)
            else:
                c.conId = con_id  # in place, like util.dataclassUpdate
                out.append(c)
        return out

    # ------------------------------------------------------------ orders
    def placeOrder(self, contract: Contract, order: Order) -> Trade:
        self._require()
        order_id = order.orderId or self._new_id()
        key = (self._client_id, order_id)
        trade = self._trades.get(key)
        self.calls.append(("placeOrder", _snapshot(order, order_id)))
        if trade:  # modification
            assert trade.orderStatus.status not in OrderStatus.DoneStates
            trade.log.append(TradeLogEntry(_now(), trade.orderStatus.status, "Modify"))
            self.orderModifyEvent.emit(trade)
            self._later(self._broker_modify, key, copy.copy(order))
            return trade
        order.clientId, order.orderId = self._client_id, order_id
        status = OrderStatus(orderId=order_id, status=OrderStatus.PendingSubmit)
        trade = Trade(contract, order, status, [], [TradeLogEntry(_now(), status.status)])
        self._trades[key] = trade
        self.newOrderEvent.emit(trade)
        self._later(self._broker_new, key, contract, copy.copy(order))
        return trade

    def cancelOrder(self, order: Order, manualCancelOrderTime: str = "") -> Trade | None:
        self._require()
        self.calls.append(("cancelOrder", order.orderId))
        key = (order.clientId, order.orderId)
        trade = self._trades.get(key)
        if trade and not trade.isDone():
            st = trade.orderStatus.status
            new = (
                OrderStatus.Cancelled
                if (st == OrderStatus.PendingSubmit and not order.transmit)
                or st == OrderStatus.Inactive
                else OrderStatus.PendingCancel
            )
            trade.orderStatus.status = new
            trade.log.append(TradeLogEntry(_now(), new))
            self.orderStatusEvent.emit(trade)
            trade.statusEvent.emit(trade)
        self._later(self._broker_cancel, key, True)
        return trade

    def reqGlobalCancel(self) -> None:
        self._require()
        self.calls.append(("reqGlobalCancel", None))
        for key, bo in list(self._book.items()):
            if bo.status not in ("Filled", "Cancelled"):
                self._later(self._broker_cancel, key, False)

    # ------------------------------------------------------------ state
    def openTrades(self) -> list[Trade]:
        return [
            t for t in self._trades.values() if t.orderStatus.status not in OrderStatus.DoneStates
        ]

    def trades(self) -> list[Trade]:
        return list(self._trades.values())

    def positions(self, account: str = "") -> list[Position]:
        return [p for p in self._positions.values() if not account or p.account == account]

    def fills(self) -> list[Fill]:
        return list(self._fills.values())

    def accountValues(self, account: str = "") -> list[AccountValue]:
        if not self._connected:
            return []
        return self._account_rows()

    def reqPositionsAsync(self):  # -> Awaitable[list[Position]]
        self._require()

        async def _r() -> list[Position]:
            await asyncio.sleep(0)
            return self.positions()

        return _r()

    def reqOpenOrdersAsync(self):  # -> Awaitable[list[Trade]]
        self._require()

        async def _r() -> list[Trade]:
            await asyncio.sleep(0)
            return self.openTrades()

        return _r()

    async def accountSummaryAsync(self, account: str = "") -> list[AccountValue]:
        self._require()
        await asyncio.sleep(0)
        return self._account_rows()

    def _account_rows(self) -> list[AccountValue]:
        return [
            AccountValue(self.account, "NetLiquidation", f"{self.net_liquidation:.2f}", "USD", ""),
            AccountValue(self.account, "AvailableFunds", f"{self.available_funds:.2f}", "USD", ""),
        ]

    # ------------------------------------------------------------ test hooks
    async def settle(self, rounds: int = 5) -> None:
        """Let scheduled broker reactions run."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    def drop(self) -> None:
        """Simulate TWS/Gateway closing the socket (restart, network loss)."""
        if self._connected:
            self._connected = False
            self.disconnectedEvent.emit()
            self._reset_session()

    def trigger(
        self, order_id: int, price: float | None = None, client_id: int | None = None
    ) -> None:
        """The market hits a working STP/LMT order: fill it (and cancel its OCA siblings)."""
        bo = self._book[(self._client_id if client_id is None else client_id, order_id)]
        assert bo.status == "Submitted", f"order {order_id} is {bo.status}, not working"
        o = bo.order
        level = o.auxPrice if o.orderType == "STP" else o.lmtPrice
        assert level is not None
        self._broker_fill(bo, price if price is not None else float(level))

    def reject(
        self, order_id: int, code: int = 201, msg: str = "Order rejected - reason:test"
    ) -> None:
        key = (self._client_id, order_id)
        bo = self._book.get(key)
        if bo:
            bo.status = "Cancelled"
        trade = self._trades.get(key)
        if trade and not trade.isDone():
            trade.orderStatus.status = OrderStatus.Cancelled
            trade.log.append(
                TradeLogEntry(_now(), OrderStatus.Cancelled, f"Error {code}: {msg}", code)
            )
            self.orderStatusEvent.emit(trade)
            trade.statusEvent.emit(trade)
            trade.cancelledEvent.emit(trade)
        self.errorEvent.emit(order_id, code, msg, trade.contract if trade else None)

    # ------------------------------------------------------------ broker side
    def _require(self) -> None:
        if not self._connected:
            raise ConnectionError("Not connected")

    def _new_id(self) -> int:
        i = self._next_id
        self._next_id += 1
        return i

    def _later(self, fn, *args) -> None:
        asyncio.get_running_loop().call_soon(fn, *args)

    def _broker_new(self, key, contract: Contract, order: Order) -> None:
        bo = _BrokerOrder(key[0], contract, order, perm_id=next(self._perm))
        self._book[key] = bo
        if not order.transmit:
            return  # held in TWS, status stays PendingSubmit on the client
        pid = order.parentId
        group = [
            b
            for k, b in self._book.items()
            if k[0] == key[0]
            and b.status == "Held"
            and (
                k[1] in (key[1], pid)
                or (pid and b.order.parentId == pid)
                or b.order.parentId == key[1]
            )
        ]
        parents = [b for b in group if not b.order.parentId]
        children = [b for b in group if b.order.parentId]
        for b in parents:
            self._set_status(b, "PreSubmitted" if b.order.orderType == "MKT" else "Submitted")
        for b in children:
            parent = self._book.get((key[0], b.order.parentId))
            self._set_status(
                b, "Submitted" if parent and parent.status == "Filled" else "PreSubmitted"
            )
        for b in parents:
            if b.order.orderType == "MKT":
                self._broker_fill(b, self.price)

    def _broker_modify(self, key, order: Order) -> None:
        bo = self._book.get(key)
        if bo is None or bo.status in ("Filled", "Cancelled"):
            self.errorEvent.emit(key[1], 104, "Cannot modify a filled order.", None)
            return
        if order.ocaGroup != bo.order.ocaGroup:
            self.reject(key[1], 201, "Order rejected - reason:OCA group revision is not allowed.")
            return
        for f in ("totalQuantity", "lmtPrice", "auxPrice", "orderType", "tif", "transmit"):
            setattr(bo.order, f, getattr(order, f))
        trade = self._trades.get(key)
        if trade:
            if bo.status == "Held":
                return
            trade.log.append(TradeLogEntry(_now(), bo.status, "Modified"))
            self.orderStatusEvent.emit(trade)
            trade.statusEvent.emit(trade)

    def _broker_cancel(self, key, cascade: bool) -> None:
        bo = self._book.get(key)
        if bo is None:
            if key not in self._trades:
                self.errorEvent.emit(key[1], 135, f"Can't find order with id ={key[1]}", None)
            return
        if bo.status in ("Filled", "Cancelled"):
            return
        self._set_status(bo, "Cancelled")
        if cascade:
            for k, ch in list(self._book.items()):
                if (
                    k[0] == key[0]
                    and ch.order.parentId == key[1]
                    and ch.status not in ("Filled", "Cancelled")
                ):
                    self._set_status(ch, "Cancelled")

    def _set_status(self, bo: _BrokerOrder, status: str) -> None:
        bo.status = status
        trade = self._trades.get((bo.client_id, bo.order.orderId))
        if not trade:
            return
        old = trade.orderStatus.status
        s = trade.orderStatus
        s.status, s.filled, s.remaining = status, bo.filled, bo.order.totalQuantity - bo.filled
        s.avgFillPrice, s.permId, s.parentId, s.clientId = (
            bo.avg_price,
            bo.perm_id,
            bo.order.parentId,
            bo.client_id,
        )
        trade.order.permId = bo.perm_id
        trade.log.append(TradeLogEntry(_now(), status))
        self.orderStatusEvent.emit(trade)
        trade.statusEvent.emit(trade)
        if status != old and status == OrderStatus.Filled:
            trade.filledEvent.emit(trade)
        elif status != old and status == OrderStatus.Cancelled:
            trade.cancelledEvent.emit(trade)

    def _broker_fill(self, bo: _BrokerOrder, price: float) -> None:
        o = bo.order
        if not self.executions_first:
            bo.filled, bo.avg_price = o.totalQuantity, price
            self._set_status(bo, "Filled")
        # execution + fill
        ex = Execution(
            execId=f"0000fake.{next(self._exec):08x}.01.01",  # IB: <base>.<correction>
            time=_now(),
            acctNumber=self.account,
            exchange="SMART",
            side="BOT" if o.action == "BUY" else "SLD",
            shares=o.totalQuantity,
            price=price,
            permId=bo.perm_id,
            clientId=bo.client_id,
            orderId=o.orderId,
            cumQty=o.totalQuantity,
            avgPrice=price,
            orderRef=o.orderRef,
        )
        trade = self._trades.get((bo.client_id, o.orderId))
        fill = Fill(bo.contract, ex, CommissionReport(execId=ex.execId), ex.time)
        if trade:
            self._fills[ex.execId] = fill
            trade.fills.append(fill)
            self.execDetailsEvent.emit(trade, fill)
            trade.fillEvent.emit(trade, fill)
        if self.executions_first:
            bo.filled, bo.avg_price = o.totalQuantity, price
            self._set_status(bo, "Filled")
        # position
        con_id = bo.contract.conId
        _, qty, _avg = self._broker_positions.get(con_id, (bo.contract, 0.0, 0.0))
        qty += o.totalQuantity if o.action == "BUY" else -o.totalQuantity
        if qty:
            self._broker_positions[con_id] = (bo.contract, qty, price)
        else:
            self._broker_positions.pop(con_id, None)
        pos = Position(self.account, bo.contract, qty, price)
        if self._connected and bo.client_id == self._client_id:
            if qty:
                self._positions[con_id] = pos
            else:
                self._positions.pop(con_id, None)
            self.positionEvent.emit(pos)
        # children of a filled parent go live
        for ch in self._book.values():
            if (
                ch.client_id == bo.client_id
                and ch.order.parentId == o.orderId
                and ch.status == "PreSubmitted"
            ):
                self._set_status(ch, "Submitted")
        # bracket / OCA siblings
        for sib in self._book.values():
            if sib is bo or sib.status in ("Filled", "Cancelled"):
                continue
            same_oca = bool(o.ocaGroup) and sib.order.ocaGroup == o.ocaGroup
            same_bracket = (
                bool(o.parentId)
                and sib.order.parentId == o.parentId
                and sib.client_id == bo.client_id
            )
            if same_oca or same_bracket:
                self._set_status(sib, "Cancelled")


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


def _snapshot(order: Order, order_id: int) -> dict[str, Any]:
    return dict(
        orderId=order_id,
        action=order.action,
        qty=order.totalQuantity,
        orderType=order.orderType,
        lmtPrice=order.lmtPrice,
        auxPrice=order.auxPrice,
        orderRef=order.orderRef,
        transmit=order.transmit,
        parentId=order.parentId,
        ocaGroup=order.ocaGroup,
        ocaType=order.ocaType,
        tif=order.tif,
    )
