"""Venue changes → the product's events: order placed / amended / cancelled / filled, fill,
position changed, position closed. One tracker per account keeps what it has told, so a venue that
repeats itself or reports out of order (polling, websockets, reconnects) is told once, in order."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .exchanges.base import ExchangeEvent, Order, Position
from .plan_rows import alert_of, role_of

ORDER, FILL, POSITION, CLOSED = "order_update", "fill_update", "position_update", "position_closed"
ALERT, APPROVAL = "alert", "approval"


@dataclass(frozen=True)
class Draft:
    """An event before it has its id (the hub numbers and journals it)."""

    topic: str
    venue: str  # the account
    sym: str | None
    data: dict[str, Any]
    alert_id: str | None = None


@dataclass(frozen=True)
class StreamEvent:
    id: int
    topic: str
    venue: str
    sym: str | None
    data: dict[str, Any]
    time: float  # ms
    alert_id: str | None = None

    def message(self) -> dict[str, Any]:
        """Seed 004's shape: {"type": topic, "data": …}, with our id to replay from."""
        data = {"venue": self.venue, "sym": self.sym, "time": self.time, **self.data}
        if self.alert_id:
            data["alert_id"] = self.alert_id
        return {"type": self.topic, "id": self.id, "data": data}


@dataclass
class _Seen:
    final: bool
    filled: Decimal
    status: str
    shape: tuple[Any, ...]  # amount, price, trigger: a change is an amendment
    fee: Decimal = Decimal(0)


@dataclass
class _Trade:
    """The open position of a symbol, as the tracker saw it open."""

    entry: Decimal
    side: int  # +1 long, -1 short
    size: Decimal
    realized: Decimal = Decimal(0)  # net of fees
    known_pnl: bool = True
    alert_id: str | None = None


@dataclass
class _Opening:
    """Fills seen before their position (a venue reports the fill first)."""

    alert_id: str | None = None
    fees: Decimal = Decimal(0)


FINAL_KEPT = 10_000  # finished orders remembered, to drop their repeated news


@dataclass
class EventTracker:
    account: str
    orders: dict[str, _Seen] = field(default_factory=dict)
    finished: deque[str] = field(default_factory=deque)  # oldest first, to forget past the cap
    positions: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    trades: dict[str, _Trade] = field(default_factory=dict)
    opening: dict[str, _Opening] = field(default_factory=dict)

    def _finished(self, order_id: str) -> None:
        """Keep the last FINAL_KEPT finished orders: memory stays flat however long it runs. A
        venue repeats news of recent orders (a reconnect, a poll), not of ten thousand ago."""
        self.finished.append(order_id)
        while len(self.finished) > FINAL_KEPT:
            old = self.finished.popleft()
            seen = self.orders.get(old)
            if seen is not None and seen.final:
                del self.orders[old]

    def translate(self, event: ExchangeEvent) -> list[Draft]:
        out: list[Draft] = []
        if event.order is not None:
            out += self._order(event.order, event)
        if event.position is not None:
            out += self._position(event.position)
        return out

    # --- orders -------------------------------------------------------------------------------

    def _order(self, order: Order, event: ExchangeEvent) -> list[Draft]:
        seen = self.orders.get(order.id)
        final = not order.is_open
        shape = (order.amount, order.price, order.trigger_price)
        if seen is not None and (
            (seen.final and not final)
            or order.filled < seen.filled  # older than what we told
            or (
                seen.final == final
                and seen.filled == order.filled
                and seen.status == order.status
                and seen.shape == shape
            )  # the same news again
        ):
            return []
        fee_before = seen.fee if seen is not None else Decimal(0)
        self.orders[order.id] = _Seen(final, order.filled, order.status, shape, order.fee)
        if final and (seen is None or not seen.final):
            self._finished(order.id)
        out = []
        before = seen.filled if seen is not None else Decimal(0)
        if order.filled > before:
            price = event.fill_price if event.fill_price is not None else order.average
            fee = max(order.fee - fee_before, Decimal(0))
            out.append(self._fill(order, order.filled - before, price, event.realized_pnl, fee))
        if seen is None:
            change = "placed" if not final else order.status
        elif seen.status != order.status:
            change = "cancelled" if order.status == "canceled" else order.status
        elif seen.shape != shape:
            change = "amended"
        else:
            change = ""
        if change:
            out.append(
                Draft(
                    ORDER,
                    self.account,
                    order.symbol,
                    {"event": change, **_order(order)},
                    alert_of(order.client_id),
                )
            )
        return out

    def _fill(
        self,
        order: Order,
        qty: Decimal,
        price: Decimal | None,
        realized: Decimal | None,
        fee: Decimal,
    ) -> Draft:
        trade = self.trades.get(order.symbol)
        if trade is None:  # opens (or adds before the position is reported)
            opening = self.opening.setdefault(order.symbol, _Opening())
            opening.fees += fee
            if role_of(order.client_id) in ("entry", "order"):
                opening.alert_id = opening.alert_id or alert_of(order.client_id)
        else:
            trade.realized -= fee
            if order.side.sign != trade.side and realized is not None:
                trade.realized += realized
            elif order.side.sign != trade.side and price is not None:  # from the entry price
                trade.realized += (price - trade.entry) * qty * trade.side
            elif order.side.sign != trade.side:
                trade.known_pnl = False
        data = {**_order(order), "qty": _s(qty), "price": _s(price), "fee": _s(fee)}
        if realized is not None:
            data["realized_pnl"] = _s(realized)
        return Draft(FILL, self.account, order.symbol, data, alert_of(order.client_id))

    # --- positions ----------------------------------------------------------------------------

    def _position(self, position: Position) -> list[Draft]:
        now = (position.size, position.entry_price)
        before = self.positions.get(position.symbol, (Decimal(0), Decimal(0)))
        if now == before:
            return []
        self.positions[position.symbol] = now
        sym, size = position.symbol, position.size
        out = [
            Draft(
                POSITION,
                self.account,
                sym,
                {
                    "size": str(size),
                    "entry_price": str(position.entry_price),
                    "side": "long" if size > 0 else "short" if size < 0 else "flat",
                },
            )
        ]
        trade = self.trades.get(sym)
        if before[0] == 0 and size != 0:
            opening = self.opening.pop(sym, _Opening())
            self.trades[sym] = _Trade(
                position.entry_price,
                1 if size > 0 else -1,
                abs(size),
                realized=-opening.fees,
                alert_id=opening.alert_id,
            )
        elif size != 0 and trade is not None:
            trade.size = max(trade.size, abs(size))
        elif size == 0 and before[0] != 0:
            closed = self.trades.pop(sym, None) or _Trade(
                before[1], 1 if before[0] > 0 else -1, abs(before[0]), known_pnl=False
            )
            out.append(
                Draft(
                    CLOSED,
                    self.account,
                    sym,
                    {
                        "side": "long" if closed.side > 0 else "short",
                        "size": str(closed.size),
                        "entry_price": str(closed.entry),
                        "realized_pnl": str(closed.realized) if closed.known_pnl else None,
                    },
                    closed.alert_id,
                )
            )
        return out


def _order(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "client_id": order.client_id or None,
        "role": role_of(order.client_id),
        "side": str(order.side),
        "type": str(order.type),
        "amount": _s(order.amount),
        "price": _s(order.price),
        "trigger_price": _s(order.trigger_price),
        "status": order.status,
        "filled": _s(order.filled),
    }


def _s(value: Decimal | None) -> str | None:
    """A number as text without trailing zeros (0.250 → 0.25, 40000.0 → 40000)."""
    return None if value is None else f"{value.normalize():f}"
