"""Planning the other dialects' orders: plain orders (with optional stop and take-profit),
partial closes, and cancels."""

from __future__ import annotations

from decimal import Decimal

from ..config import Account
from ..errors import AlertRejected
from ..models import Alert, AlertKind, CancelOrder, OrderPlan, OrderType, PlaceOrder, Side, Step
from ..money import floor_to_step, round_price
from .entry import check_minimums
from .facts import HUNDRED, ZERO, Facts


def _reference_price(alert: Alert, facts: Facts) -> Decimal:
    if alert.order_type is OrderType.LIMIT:
        price = alert.price
    else:  # a market order: the market price the alert saw, else the last one known
        price = alert.reference_price or alert.price or facts.last_price
    if price is None:
        raise AlertRejected(
            f"no price known for {facts.market.symbol}: "
            "send a limit price, or an alert that carries a price"
        )
    return round_price(price, facts.market.price_tick)


def opening_amount(alert: Alert, account: Account, facts: Facts, price: Decimal) -> Decimal:
    """A fixed amount wins; else a percentage of what is available: quote for buys, base for
    spot sells (what is held)."""
    market = facts.market
    if alert.amount is not None:
        amount = floor_to_step(alert.amount, market.amount_step)
    elif alert.amount_pct is not None:
        if account.market == "spot" and alert.side is Side.SELL:
            held = max(facts.position, ZERO)
            amount = floor_to_step(held * alert.amount_pct / HUNDRED, market.amount_step)
        else:
            free = facts.free if facts.free is not None else facts.equity
            amount = floor_to_step(free * alert.amount_pct / HUNDRED / price, market.amount_step)
    else:
        raise AlertRejected("the order needs an amount: 'fixed' or 'percent'")
    check_minimums(amount, price, market)
    return amount


def plan_order(alert: Alert, account: Account, facts: Facts) -> OrderPlan:
    """A plain order of a given amount; a stop (`loss`) and a take-profit (`profit`) if sent."""
    assert alert.side is not None
    side, market = alert.side, facts.market
    price = _reference_price(alert, facts)
    amount = opening_amount(alert, account, facts, price)
    limit = alert.order_type is OrderType.LIMIT
    steps: list[Step] = []
    if alert.stop_loss is not None:
        stop = round_price(alert.stop_loss, market.price_tick)
        if (price - stop) * side.sign <= 0:
            raise AlertRejected(f"the stop {stop} is on the wrong side of the price {price}")
        steps.append(
            PlaceOrder(
                "stop",
                side.opposite,
                OrderType.STOP,
                amount,
                trigger_price=stop,
                reduce_only=True,
                phase=2 if limit else 1,
                after_fill=limit,
            )
        )
    steps.append(
        PlaceOrder("order", side, alert.order_type, amount, price=price if limit else None, phase=1)
    )
    if alert.take_profit is not None:
        target = round_price(alert.take_profit, market.price_tick)
        if (target - price) * side.sign <= 0:
            raise AlertRejected(
                f"the take-profit {target} is on the wrong side of the price {price}"
            )
        steps.append(
            PlaceOrder(
                "tp",
                side.opposite,
                OrderType.TAKE_PROFIT,
                amount,
                trigger_price=target,
                reduce_only=True,
                phase=2,
                after_fill=limit,
            )
        )
    return OrderPlan(
        kind=AlertKind.ORDER,
        account=account.name,
        symbol=market.symbol,
        steps=tuple(steps),
        side=side,
        size=amount,
        entry_price=price,
        stop_price=alert.stop_loss,
        notional=amount * price,
        equity=facts.equity,
    )


def plan_close(alert: Alert, account: Account, facts: Facts) -> OrderPlan:
    """Reduce the position by an amount, or a percentage of it; never flip it."""
    assert alert.side is not None
    market, side = facts.market, alert.side
    held = facts.position
    closes = "long" if side is Side.SELL else "short"
    if (held > 0 and side is Side.BUY) or (held < 0 and side is Side.SELL) or not held:
        raise AlertRejected(f"no {closes} position on {market.symbol} to close")
    if alert.amount is not None:
        amount = min(floor_to_step(alert.amount, market.amount_step), abs(held))
    elif alert.amount_pct is not None:
        amount = floor_to_step(abs(held) * alert.amount_pct / HUNDRED, market.amount_step)
    else:
        amount = abs(held)
    if amount <= 0:
        raise AlertRejected(f"nothing to close: {alert.amount_pct}% of {abs(held)} rounds to 0")
    limit = alert.order_type is OrderType.LIMIT
    price = _reference_price(alert, facts) if limit else None
    step = PlaceOrder("close", side, alert.order_type, amount, price=price, reduce_only=True)
    return OrderPlan(
        kind=AlertKind.CLOSE,
        account=account.name,
        symbol=market.symbol,
        steps=(step,),
        side=side,
        size=amount,
    )


def plan_cancel(alert: Alert, account: Account, facts: Facts) -> OrderPlan:
    """Cancel the orders the alert points at (resolved from its client order id)."""
    steps = tuple(CancelOrder("cancel", order_id=i) for i in alert.target_ids)
    notes = () if steps else (f"order {alert.client_order_id} is not open: nothing to cancel",)
    return OrderPlan(
        kind=AlertKind.CANCEL,
        account=account.name,
        symbol=facts.market.symbol,
        steps=steps,
        notes=notes,
    )


def plan_cancel_all(alert: Alert, account: Account, facts: Facts) -> OrderPlan:
    return OrderPlan(
        kind=AlertKind.CANCEL_ALL,
        account=account.name,
        symbol=facts.market.symbol,
        steps=(CancelOrder("cancel_all"),),
    )
