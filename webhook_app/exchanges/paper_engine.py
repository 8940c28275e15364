"""The paper venue's matching and accounting for one account: pure state, no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from ..errors import DuplicateClientId, OrderNotFound, OrderRejected
from ..models import OrderType, Side
from ..money import KeyedSum
from .base import CANCELED, CLOSED, EXPIRED, OPEN, Balance, ExchangeEvent, Order, Position

ZERO = Decimal(0)


@dataclass
class PositionState:
    size: Decimal = ZERO
    entry: Decimal = ZERO


@dataclass
class TradeState:
    """One round trip, from flat to flat (a reversal closes one trade and opens the next)."""

    symbol: str
    side: Side
    opened_ms: float
    entry_price: Decimal
    size: Decimal = ZERO  # largest absolute size reached
    pnl: Decimal = ZERO  # realized PnL minus fees
    exit_value: Decimal = ZERO
    exit_amount: Decimal = ZERO
    closed_ms: float | None = None
    closed_by: str | None = None  # client id of the order that made it flat


@dataclass
class Changes:
    """What one operation changed, for the store and the event listeners."""

    orders: dict[str, Order] = field(default_factory=dict)
    positions: dict[str, PositionState] = field(default_factory=dict)
    balance: bool = False
    fills: list[dict] = field(default_factory=list)
    trades: list[TradeState] = field(default_factory=list)
    events: list[ExchangeEvent] = field(default_factory=list)


class PaperEngine:
    """Balances, one-way positions and resting orders of one paper account."""

    def __init__(
        self,
        *,
        balance: Decimal,
        currency: str,
        max_leverage: Decimal,
        taker_fee: Decimal,
        maker_fee: Decimal,
        prices: dict[str, Decimal],
        spot: bool = False,
        cancel_reduce_only_when_flat: bool = True,
    ) -> None:
        self.spot = spot  # spot: sells only what is held; cash pays for buys (leverage 1)
        self.prices = prices  # the venue's last prices, shared by every account
        self.balance = balance
        self.currency = currency
        self.max_leverage = max_leverage
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.cancel_reduce_only_when_flat = cancel_reduce_only_when_flat
        self.positions: dict[str, PositionState] = {}
        self.open_orders: dict[str, Order] = {}
        self._open_by_symbol: dict[str, dict[str, Order]] = {}
        self._upnl = KeyedSum()  # per symbol, so equity costs O(1) however many positions
        self._notional = KeyedSum()
        self._cost = KeyedSum()  # size × entry per symbol: what the holdings cost (spot cash)
        self.client_ids: set[str] = set()
        self.trades: dict[str, TradeState] = {}
        self.seq = 0
        self.changes = Changes()

    # --- queries --------------------------------------------------------------------------------

    def position(self, symbol: str, price: Decimal | None) -> Position:
        state = self.positions.get(symbol, PositionState())
        upnl = state.size * (price - state.entry) if price is not None and state.size else ZERO
        return Position(
            symbol=symbol, size=state.size, entry_price=state.entry, unrealized_pnl=upnl
        )

    def equity(self) -> Decimal:
        return self.balance + self._upnl.total

    def balance_record(self) -> Balance:
        used = self._notional.total / self.max_leverage
        equity = self.equity()
        assets = {self.currency: self.balance}
        if self.spot:  # cash is what is left after paying for the holdings; holdings are assets
            assets = {self.currency: self.balance - self._cost.total}
            for symbol, state in self.positions.items():
                if state.size:
                    assets[symbol.removesuffix(self.currency) or symbol] = state.size
        return Balance(
            currency=self.currency, total=self.balance, free=equity - used, assets=assets
        )

    def revalue(self, symbol: str) -> None:
        """Refresh one symbol's share of unrealized PnL and notional after a price or a fill."""
        state = self.positions.get(symbol)
        if state is None or not state.size:
            self._upnl.set(symbol, ZERO)
            self._notional.set(symbol, ZERO)
            self._cost.set(symbol, ZERO)
            return
        price = self.prices.get(symbol, state.entry)
        self._upnl.set(symbol, state.size * (price - state.entry))
        self._notional.set(symbol, abs(state.size) * price)
        self._cost.set(symbol, state.size * state.entry)

    def load(self, positions: dict[str, PositionState], open_orders: list[Order]) -> None:
        self.positions = positions
        for order in open_orders:
            self._add_open(order)
        for symbol in positions:
            self.revalue(symbol)

    def take_changes(self) -> Changes:
        changes, self.changes = self.changes, Changes()
        return changes

    # --- orders ---------------------------------------------------------------------------------

    def place(
        self,
        *,
        symbol: str,
        type: OrderType,
        side: Side,
        amount: Decimal,
        price: Decimal | None,
        trigger_price: Decimal | None,
        reduce_only: bool,
        client_id: str,
        last: Decimal | None,
        now_ms: float,
    ) -> Order:
        if client_id in self.client_ids:
            raise DuplicateClientId(f"client order id {client_id} was already used")
        self._check_shape(type, side, price, trigger_price, last)
        position = self.positions.get(symbol, PositionState())
        if reduce_only and type is OrderType.MARKET and not _reduces(position.size, side):
            raise OrderRejected(f"reduce-only {side} on {symbol} would not reduce the position")
        if (
            self.spot
            and side is Side.SELL
            and not reduce_only
            and amount > max(position.size, ZERO)
        ):
            held = max(position.size, ZERO)
            raise OrderRejected(f"insufficient {symbol} to sell: holding {held}, selling {amount}")
        if not reduce_only:
            reference = price if type is OrderType.LIMIT and price is not None else last
            self._check_margin(symbol, side, amount, reference)
        self.seq += 1
        self.client_ids.add(client_id)
        order = Order(
            id=f"P{self.seq}",
            client_id=client_id,
            symbol=symbol,
            side=side,
            type=type,
            amount=amount,
            price=price,
            trigger_price=trigger_price,
            reduce_only=reduce_only,
            timestamp=now_ms,
        )
        self._record(order, "order", now_ms)
        if type is OrderType.MARKET or (type is OrderType.LIMIT and _marketable(side, price, last)):
            assert last is not None
            order = self._fill(order, last, self.taker_fee, now_ms)
        else:
            self._add_open(order)
        return order

    def cancel(self, order_id: str, now_ms: float, status: str = CANCELED) -> Order:
        order = self._remove_open(order_id)
        if order is None:
            raise OrderNotFound(f"no open order {order_id}")
        order = replace(order, status=status)
        self._record(order, "order", now_ms)
        return order

    def amend(
        self,
        order_id: str,
        *,
        amount: Decimal | None,
        price: Decimal | None,
        trigger_price: Decimal | None,
        last: Decimal | None,
        now_ms: float,
    ) -> Order:
        order = self.open_orders.get(order_id)
        if order is None:
            raise OrderNotFound(f"no open order {order_id}")
        new = replace(
            order,
            amount=amount if amount is not None else order.amount,
            price=price if price is not None else order.price,
            trigger_price=trigger_price if trigger_price is not None else order.trigger_price,
        )
        if new.amount <= new.filled:
            raise OrderRejected(f"amount {new.amount} is not above the filled {new.filled}")
        self._check_shape(new.type, new.side, new.price, new.trigger_price, last)
        self._add_open(new)
        self._record(new, "order", now_ms)
        return new

    def on_price(
        self,
        symbol: str,
        previous: Decimal | None,
        price: Decimal,
        now_ms: float,
        swept: bool = False,
        volume: Decimal | None = None,
    ) -> None:
        """A new market price: fill the resting orders it reaches, nearest trigger first. A stop
        or take-profit fills at the new price (the market jumped there), or at its own level when
        the market `swept` every price on the way (a replayed bar's path). `volume`, when given,
        is all that traded: resting limits share it and may fill only in part."""
        self.revalue(symbol)
        resting = self._open_by_symbol.get(symbol, {})
        due = [o for o in resting.values() if _is_hit(o, price)]
        reference = previous if previous is not None else price
        due.sort(key=lambda o: (abs(_level(o) - reference), o.timestamp))
        for order in due:
            if self._remove_open(order.id) is None:
                continue  # cancelled by an earlier fill (position went flat)
            if order.type is OrderType.LIMIT:
                assert order.price is not None
                part = order.remaining if volume is None else min(order.remaining, volume)
                if part <= 0:
                    self._add_open(order)  # nothing left to trade against at this price
                    continue
                filled = self._fill(order, order.price, self.maker_fee, now_ms, part)
                if volume is not None:
                    volume -= part
                if filled.is_open:
                    self._add_open(filled)
            else:
                fill = _level(order) if swept and previous is not None else price
                self._fill(order, fill, self.taker_fee, now_ms)

    # --- internals ------------------------------------------------------------------------------

    def _add_open(self, order: Order) -> None:
        self.open_orders[order.id] = order
        self._open_by_symbol.setdefault(order.symbol, {})[order.id] = order

    def _remove_open(self, order_id: str) -> Order | None:
        order = self.open_orders.pop(order_id, None)
        if order is not None:
            self._open_by_symbol[order.symbol].pop(order_id, None)
        return order

    def _check_shape(
        self,
        type: OrderType,
        side: Side,
        price: Decimal | None,
        trigger: Decimal | None,
        last: Decimal | None,
    ) -> None:
        if type is OrderType.LIMIT and price is None:
            raise OrderRejected("a limit order needs a price")
        if type in (OrderType.STOP, OrderType.TAKE_PROFIT):
            if trigger is None:
                raise OrderRejected(f"a {type} order needs a trigger price")
            if last is not None and _triggered(type, side, trigger, last):
                raise OrderRejected(
                    f"{type} {side} trigger {trigger} would trigger immediately (market {last})"
                )
        if type in (OrderType.MARKET,) and last is None:
            raise OrderRejected("no market price known yet for this symbol")

    def _check_margin(
        self,
        symbol: str,
        side: Side,
        amount: Decimal,
        reference: Decimal | None,
    ) -> None:
        if reference is None:
            return
        current = self.positions.get(symbol, PositionState()).size
        projected = abs(current + amount * side.sign)
        if projected <= abs(current):
            return
        equity = self.equity()
        others = self._notional.total - self._notional.get(symbol)
        limit = equity * self.max_leverage
        if others + projected * reference > limit * Decimal("1.0001"):
            raise OrderRejected(
                f"insufficient margin: {projected * reference:.2f} {self.currency} on {symbol} "
                f"would exceed equity {equity:.2f} x leverage {self.max_leverage}"
            )

    def _fill(
        self,
        order: Order,
        price: Decimal,
        fee_rate: Decimal,
        now_ms: float,
        amount: Decimal | None = None,
    ) -> Order:
        state = self.positions.setdefault(order.symbol, PositionState())
        volume_limited = amount is not None
        amount = order.remaining if amount is None else amount
        if order.reduce_only or (self.spot and order.side is Side.SELL):  # spot never goes short
            amount = min(amount, abs(state.size)) if _reduces(state.size, order.side) else ZERO
            if amount <= 0:
                expired = replace(order, status=EXPIRED)
                self._record(expired, "order", now_ms)
                return expired
        fee = amount * price * fee_rate
        realized = self._apply_to_position(order, state, amount, price, fee, now_ms)
        self.balance += realized - fee
        self.revalue(order.symbol)
        done = order.filled + amount
        average = (
            price
            if not order.filled or order.average is None
            else (order.average * order.filled + price * amount) / done
        )
        filled = replace(
            order,
            # Only a limit short of volume stays open for the rest; a reduce-only order cut to
            # the position is done (nothing is left for it to reduce).
            status=order.status if volume_limited and done < order.amount else CLOSED,
            filled=done,
            average=average,
            fee=order.fee + fee,
        )
        self.changes.balance = True
        self.changes.positions[order.symbol] = state
        self.changes.fills.append(
            {
                "order_id": order.id,
                "client_id": order.client_id,
                "symbol": order.symbol,
                "side": str(order.side),
                "amount": amount,
                "price": price,
                "fee": fee,
                "realized": realized,
                "time": now_ms,
            }
        )
        self._record(
            filled, "fill", now_ms, fill_amount=amount, fill_price=price, realized=realized
        )
        self.changes.events.append(
            ExchangeEvent(
                kind="position",
                symbol=order.symbol,
                position=Position(order.symbol, state.size, state.entry, timestamp=now_ms),
                time=now_ms,
            )
        )
        if state.size == 0 and self.cancel_reduce_only_when_flat:
            for other in list(self._open_by_symbol.get(order.symbol, {}).values()):
                if other.reduce_only:
                    self.cancel(other.id, now_ms)
        return filled

    def _apply_to_position(
        self,
        order: Order,
        state: PositionState,
        amount: Decimal,
        price: Decimal,
        fee: Decimal,
        now_ms: float,
    ) -> Decimal:
        signed = amount * order.side.sign
        trade = self.trades.get(order.symbol)
        if state.size == 0 or (state.size > 0) == (signed > 0):
            new_size = state.size + signed
            state.entry = (abs(state.size) * state.entry + amount * price) / abs(new_size)
            state.size = new_size
            trade = self._trade_for(order, state, price, now_ms)
            trade.size = max(trade.size, abs(state.size))
            trade.pnl -= fee
            return ZERO
        closing = min(amount, abs(state.size))
        realized = closing * (price - state.entry) * (1 if state.size > 0 else -1)
        new_size = state.size + signed
        if trade is not None:
            trade.pnl += realized - fee * closing / amount
            trade.exit_value += closing * price
            trade.exit_amount += closing
        if new_size == 0 or (new_size > 0) != (state.size > 0):
            if trade is not None:
                trade.closed_ms, trade.closed_by = now_ms, order.client_id
                self.changes.trades.append(trade)
                del self.trades[order.symbol]
            state.entry = price if new_size else ZERO
            state.size = new_size
            if new_size:
                opened = self._trade_for(order, state, price, now_ms)
                opened.size = abs(new_size)
                opened.pnl -= fee * (amount - closing) / amount
        else:
            state.size = new_size
        return realized

    def _trade_for(
        self, order: Order, state: PositionState, price: Decimal, now_ms: float
    ) -> TradeState:
        trade = self.trades.get(order.symbol)
        if trade is None:
            side = Side.BUY if state.size > 0 else Side.SELL
            trade = TradeState(symbol=order.symbol, side=side, opened_ms=now_ms, entry_price=price)
            self.trades[order.symbol] = trade
        trade.entry_price = state.entry
        self.changes.trades.append(trade)
        return trade

    def _record(
        self,
        order: Order,
        kind: str,
        now_ms: float,
        *,
        fill_amount: Decimal | None = None,
        fill_price: Decimal | None = None,
        realized: Decimal | None = None,
    ) -> None:
        self.changes.orders[order.id] = order
        self.changes.events.append(
            ExchangeEvent(
                kind=kind,
                symbol=order.symbol,
                order=order,
                fill_amount=fill_amount,
                fill_price=fill_price,
                realized_pnl=realized,
                time=now_ms,
            )
        )


def _reduces(size: Decimal, side: Side) -> bool:
    return (size > 0 and side is Side.SELL) or (size < 0 and side is Side.BUY)


def _marketable(side: Side, price: Decimal | None, last: Decimal | None) -> bool:
    if price is None or last is None:
        return False
    return price >= last if side is Side.BUY else price <= last


def _triggered(type: OrderType, side: Side, trigger: Decimal, price: Decimal) -> bool:
    # A sell stop protects a long (fires on a fall); a sell take-profit fires on a rise.
    falls = (type is OrderType.STOP) == (side is Side.SELL)
    return price <= trigger if falls else price >= trigger


def _is_hit(order: Order, price: Decimal) -> bool:
    if order.status != OPEN:
        return False
    if order.type is OrderType.LIMIT:
        assert order.price is not None
        return price <= order.price if order.side is Side.BUY else price >= order.price
    assert order.trigger_price is not None
    return _triggered(order.type, order.side, order.trigger_price, price)


def _level(order: Order) -> Decimal:
    level = order.price if order.type is OrderType.LIMIT else order.trigger_price
    assert level is not None
    return level
