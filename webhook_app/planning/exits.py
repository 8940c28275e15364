"""Planning an exit (close and sweep the symbol) and a breakeven (move the stop)."""

from __future__ import annotations

from decimal import Decimal

from ..config import Account
from ..errors import AlertRejected
from ..exchanges.base import Order
from ..models import (
    Alert,
    AlertKind,
    AmendOrder,
    CancelOrder,
    OrderPlan,
    OrderType,
    PlaceOrder,
    Side,
    Step,
)
from ..money import round_price
from .facts import Facts


def close_position(position: Decimal, *, phase: int) -> PlaceOrder:
    """A reduce-only market order for the whole (signed) position."""
    side = Side.SELL if position > 0 else Side.BUY
    return PlaceOrder("close", side, OrderType.MARKET, abs(position), reduce_only=True, phase=phase)


def plan_exit(alert: Alert, account: Account, facts: Facts) -> OrderPlan:
    steps: list[Step] = []
    notes: list[str] = []
    # Where nothing is reduce-only the orders go first: a stop must not fire into the close (and
    # spot coins are locked under it).
    close_phase, sweep_phase = (0, 1) if facts.features.reduce_only else (1, 0)
    if facts.position:
        steps.append(close_position(facts.position, phase=close_phase))
    else:
        notes.append(f"no open position on {facts.market.symbol}")
    # Always sweep the symbol: an order the book does not know about must not survive an exit.
    steps.append(CancelOrder("cancel_all", phase=sweep_phase))
    return OrderPlan(
        kind=AlertKind.EXIT,
        account=account.name,
        symbol=facts.market.symbol,
        steps=tuple(steps),
        size=abs(facts.position) or None,
        notes=tuple(notes),
    )


def plan_breakeven(alert: Alert, account: Account, facts: Facts) -> OrderPlan:
    assert alert.side is not None and alert.breakeven is not None
    market = facts.market
    if not facts.position:
        return OrderPlan(
            kind=AlertKind.BREAKEVEN,
            account=account.name,
            symbol=market.symbol,
            notes=(f"no open position on {market.symbol}: no stop to move",),
        )
    held = Side.BUY if facts.position > 0 else Side.SELL
    expected = alert.side.opposite
    if held is not expected:
        raise AlertRejected(
            f"breakeven for a {expected.direction}, but the {market.symbol} position is "
            f"{held.direction}"
        )
    level = round_price(alert.breakeven, market.price_tick)
    last = facts.last_price
    if last is not None and (last - level) * held.sign <= 0:
        raise AlertRejected(
            f"breakeven {level} is already through the market ({last}): the stop would fire at "
            "once; the current stop is left in place"
        )
    stops = [
        o
        for o in facts.open_orders
        if o.type is OrderType.STOP
        and (o.reduce_only or not facts.features.reduce_only)
        and o.side is held.opposite
    ]
    return OrderPlan(
        kind=AlertKind.BREAKEVEN,
        account=account.name,
        symbol=market.symbol,
        steps=tuple(_move_stop(facts, stops, held, level)),
        side=held,
        size=abs(facts.position),
        stop_price=level,
    )


def _move_stop(facts: Facts, stops: list[Order], held: Side, level: Decimal) -> list[Step]:
    size = abs(facts.position)
    if facts.features.amends_stops and len(stops) == 1 and stops[0].amount == size:
        # The venue moves a stop in place (IB modifies the order): never two, never none.
        return [AmendOrder("be_stop", stops[0].id, stops[0].client_id, trigger_price=level)]
    steps: list[Step] = [
        PlaceOrder(
            "be_stop",
            held.opposite,
            OrderType.STOP,
            size,
            trigger_price=level,
            reduce_only=True,
            phase=0,
        )
    ]
    # The new stop goes in first; the old one is cancelled only once the new one is in place.
    steps.extend(
        CancelOrder("cancel_stop", order_id=o.id, client_id=o.client_id, phase=1) for o in stops
    )
    return steps
