"""Venue-neutral order engine: validation, triggers, fills, positions and balances."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from .model import (
    CANCELED,
    EXPIRED,
    FILLED,
    TRIGGERED,
    Fault,
    Market,
    Order,
    Position,
    RecordedRequest,
    Trigger,
    _crossed,
    _on_grid,
    assets,
    now_ms,
)

if TYPE_CHECKING:
    from .dialect import _Dialect


class OrderEngine:
    """Order, position and balance state of a FakeVenue and the rules that move it.

    FakeVenue creates the state annotated below and provides `api` (its dialect) and
    `_take_fault`; the engine only reads and updates them.
    """

    venue: str
    api: _Dialect
    markets: list[Market]
    prices: dict[str, float]
    balances: dict[str, float]
    leverage: int
    orders: dict[str, Order]
    positions: dict[str, Position]
    created_orders: dict[str, list[Order]]
    _ids: Iterator[int]
    clock: Callable[[], float]

    def _take_fault(self, req: RecordedRequest, kinds: tuple[str, ...]) -> Fault | None:
        raise NotImplementedError  # FakeVenue's fault queue

    # -- queries -----------------------------------------------------------------------------
    def market(self, symbol_or_id: str, market_type: str | None = None) -> Market:
        for m in self.markets:
            if symbol_or_id in (m.symbol, m.id) and market_type in (None, m.type):
                return m
        raise KeyError(f"{self.venue}: no market {symbol_or_id!r} ({market_type})")

    def find_order(
        self, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order | None:
        if order_id is not None:
            return self.orders.get(str(order_id))
        newest_first = reversed(list(self.orders.values()))  # a client id may be reused
        return next((o for o in newest_first if client_id and o.client_id == client_id), None)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.orders.values() if o.is_open and symbol in (None, o.symbol)]

    # -- order engine ------------------------------------------------------------------------
    def new_id(self) -> str:
        return str(next(self._ids))

    def visible(self, order: Order | None) -> Order | None:
        """Lookups see an order only once its injected not_found_for window has passed."""
        if order is None or self.clock() < order.hidden_until:
            return None
        return order

    def place(self, order: Order, req: RecordedRequest) -> Order:
        """Validate a new order with the venue's rules, accept it and fill what fills now."""
        market = self.market(order.symbol)
        self._check_client_id(order)
        self._check_filters(order, market)
        self._check_triggers(order)
        self._check_reduce_only(order)
        self._check_funds(order, market)
        order.id = order.id or self.new_id()
        order.path = req.path
        self.orders[order.id] = order
        self.created_orders.setdefault(order.client_id or f"#{order.id}", []).append(order)
        fault = self._take_fault(req, ("not_found_for",))
        if fault is not None:
            order.hidden_until = self.clock() + float(fault.options["seconds"])
        if not order.triggers:
            self._execute(order, self.prices[order.symbol], placing=True)
        return order

    def _check_client_id(self, order: Order) -> None:
        cid = order.client_id
        if not cid:
            return
        if not self.api.client_id_ok(cid):
            raise self.api.error("bad_client_id", order)
        for other in self.orders.values():
            # each book (spot, futures, algo) checks its own ids
            same_book = (other.market_type, other.algo) == (order.market_type, order.algo)
            if (
                other.client_id == cid
                and same_book
                and (other.is_open or self.api.client_id_unique_forever)
            ):
                raise self.api.error("duplicate", order)

    def _check_filters(self, order: Order, market: Market) -> None:
        if order.close_position:
            return
        if order.amount < market.min_amount - 1e-12:
            raise self.api.error("min_amount", order)
        if not _on_grid(order.amount, market.amount_step):
            raise self.api.error("amount_step", order)
        for px in [order.price, *(t.price for t in order.triggers)]:
            if px is not None and not _on_grid(px, market.price_tick):
                raise self.api.error("price_tick", order)
        px = order.price or order.trigger_price or self.prices[order.symbol]
        notional = order.amount * market.contract_size * px
        if market.min_cost and not order.reduce_only and notional < market.min_cost - 1e-9:
            raise self.api.error("min_cost", order)

    def _check_triggers(self, order: Order) -> None:
        mark = self.prices[order.symbol]
        for trig in order.triggers:
            if _crossed(trig, mark):
                raise self.api.error("would_trigger", order, trigger=trig, mark=mark)

    def retrigger(self, order: Order, prices: dict[str, float]) -> None:
        """Move trigger levels (by kind) as an amend does, refused like a create if a new level
        is already crossed: the order is only changed once the new levels pass."""
        moved = [replace(t, price=prices.get(t.kind, t.price)) for t in order.triggers]
        self._check_triggers(replace(order, triggers=moved))
        order.triggers = moved

    def _check_reduce_only(self, order: Order) -> None:
        if order.market_type != "swap" or not order.reduce_only or order.triggers:
            return  # venues accept reduce-only conditionals and re-check when they fire
        if self._reducible(order) <= 0:
            raise self.api.error("reduce_only", order)

    def _check_funds(self, order: Order, market: Market) -> None:
        if order.reduce_only and market.type == "swap":
            return
        base_asset, quote_asset = assets(order.symbol)
        px = order.price or order.trigger_price or self.prices[order.symbol]
        base = order.amount * market.contract_size
        if market.type == "spot" and order.side == "sell":
            short = base > self.free(base_asset) + 1e-12
        else:
            need = base * px / (self.leverage if market.type == "swap" else 1)
            short = need > self.free(quote_asset) + 1e-9
        if short:
            raise self.api.error("insufficient", order)

    def _reducible(self, order: Order) -> float:
        """Base qty this order may close: the opposite-side position size, else 0."""
        pos = self.positions.get(order.symbol, Position()).qty
        if (order.side == "sell" and pos > 0) or (order.side == "buy" and pos < 0):
            return abs(pos)
        return 0.0

    def cancel(self, order: Order) -> Order:
        order.status = CANCELED
        order.updated_at = now_ms()
        return order

    def _sweep(self, symbol: str, price: float) -> list[Order]:
        moved = []
        for order in list(self.orders.values()):
            if order.symbol != symbol or not order.is_open:
                continue
            if order.pending_trigger:
                fired = next((t for t in order.triggers if _crossed(t, price)), None)
                if fired is not None:
                    self._fire(order, fired, price)
                    moved.append(order)
            elif order.type == "limit" and self._limit_crossed(order, price):
                self._fill(order, order.price or price)
                moved.append(order)
        return moved

    @staticmethod
    def _limit_crossed(order: Order, price: float) -> bool:
        assert order.price is not None
        return price <= order.price if order.side == "buy" else price >= order.price

    def _fire(self, order: Order, trig: Trigger, price: float) -> None:
        order.triggered = True
        order.fired_kind = trig.kind
        order.updated_at = now_ms()
        self._cancel_siblings(order)
        if not order.algo:
            self._execute(order, price)
            return
        # Binance futures algo and OKX algo orders place a separate regular order when they fire.
        child = Order(
            id=self.new_id(),
            symbol=order.symbol,
            market_id=order.market_id,
            market_type=order.market_type,
            side=order.side,
            type=order.type,
            amount=order.amount,
            price=order.price,
            reduce_only=order.reduce_only,
            close_position=order.close_position,
            parent_id=order.id,
        )
        self.orders[child.id] = child
        order.spawned_id = child.id
        order.status = TRIGGERED
        self._execute(child, price)
        if child.status == EXPIRED:
            order.status = EXPIRED

    def _cancel_siblings(self, order: Order) -> None:
        """An armed TP and SL from one entry act as a pair: when one fires the other goes."""
        if order.parent_id is None:
            return
        for other in self.orders.values():
            if other.parent_id == order.parent_id and other is not order and other.pending_trigger:
                if other.is_open:
                    self.cancel(other)

    def _execute(self, order: Order, price: float, placing: bool = False) -> None:
        """Market orders fill now; limits fill if marketable (at the mark), else rest."""
        if order.type == "market":
            self._fill(order, price)
        elif order.price is not None and self._limit_crossed(order, price):
            self._fill(order, price if placing else order.price)

    def _fill(self, order: Order, price: float) -> None:
        market = self.market(order.symbol)
        qty = order.amount * market.contract_size
        if market.type == "swap" and (order.reduce_only or order.close_position):
            qty = (
                self._reducible(order) if order.close_position else min(qty, self._reducible(order))
            )
            if qty <= 0:
                order.status = EXPIRED  # a reduce-only order with nothing left to reduce
                order.updated_at = now_ms()
                return
        order.filled = qty / market.contract_size
        order.average = price
        order.status = FILLED
        order.updated_at = now_ms()
        if market.type == "spot":
            self._settle_spot(order.symbol, order.side, qty, price)
        else:
            self._settle_swap(order.symbol, qty if order.side == "buy" else -qty, price)
        self._arm_attached(order)

    def _settle_spot(self, symbol: str, side: str, qty: float, price: float) -> None:
        base, quote = assets(symbol)
        sign = 1 if side == "buy" else -1
        self.balances[base] = self.balances.get(base, 0.0) + sign * qty
        self.balances[quote] = self.balances.get(quote, 0.0) - sign * qty * price

    def _settle_swap(self, symbol: str, signed: float, price: float) -> None:
        pos = self.positions.setdefault(symbol, Position())
        if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            total = pos.qty + signed
            pos.entry = (pos.entry * abs(pos.qty) + price * abs(signed)) / abs(total)
            pos.qty = total
            return
        closed = min(abs(signed), abs(pos.qty))
        pnl = closed * (price - pos.entry) * (1 if pos.qty > 0 else -1)
        pos.realized += pnl
        self.balances["USDT"] = self.balances.get("USDT", 0.0) + pnl
        remainder = pos.qty + signed
        if abs(remainder) < 1e-12:
            pos.qty = 0.0
            self._drop_attached(symbol)
        elif (remainder > 0) != (pos.qty > 0):
            pos.qty, pos.entry = remainder, price  # flipped: the rest opens at this price
        else:
            pos.qty = remainder

    def _arm_attached(self, order: Order) -> None:
        if not order.attached:
            return
        for child in self.api.attached_children(order):
            child.id = child.id or self.new_id()
            child.parent_id = order.id
            self.orders[child.id] = child

    def _drop_attached(self, symbol: str) -> None:
        """Position TP/SL that came from attached orders go away when the position closes."""
        for order in self.orders.values():
            if (
                order.symbol == symbol
                and order.is_open
                and order.parent_id
                and order.pending_trigger
            ):
                self.cancel(order)

    # -- balances ----------------------------------------------------------------------------
    def mark(self, symbol: str) -> float:
        return self.prices[symbol]

    def position_margin(self) -> float:
        return sum(abs(p.qty) * self.prices[s] / self.leverage for s, p in self.positions.items())

    def unrealized(self, symbol: str | None = None) -> float:
        return sum(
            p.qty * (self.prices[s] - p.entry)
            for s, p in self.positions.items()
            if symbol in (None, s)
        )

    def locked(self, asset: str) -> float:
        """Balance held by open orders (and, for USDT, by position margin)."""
        total = self.position_margin() if asset == "USDT" else 0.0
        for order in self.open_orders():
            market = self.market(order.symbol)
            base = order.amount * market.contract_size
            px = order.price or order.trigger_price or self.prices[order.symbol]
            base_asset, quote_asset = assets(order.symbol)
            if market.type == "spot" and order.side == "sell" and asset == base_asset:
                total += base
            elif market.type == "spot" and order.side == "buy" and asset == quote_asset:
                total += base * px
            elif market.type == "swap" and asset == quote_asset and not order.reduce_only:
                total += base * px / self.leverage
        return total

    def free(self, asset: str) -> float:
        return self.balances.get(asset, 0.0) - self.locked(asset)
