"""Planning an entry: risk sizing with its caps, the stop and the take-profit ladder."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from ..config import Account
from ..errors import AlertRejected
from ..exchanges.base import Market
from ..models import Alert, AlertKind, CancelOrder, OrderPlan, OrderType, PlaceOrder, Side, Step
from ..money import floor_to_step, round_price, tidy
from .exits import close_position
from .facts import HUNDRED, ZERO, Facts


@dataclass(frozen=True)
class Sizing:
    size: Decimal
    risk_amount: Decimal
    notes: tuple[str, ...]


def size_by_risk(
    *,
    equity: Decimal,
    risk_pct: Decimal,
    price: Decimal,
    stop: Decimal,
    account: Account,
    market: Market,
) -> Sizing:
    """Size = equity × risk / |price − stop|, capped by leverage and notional, floored to step."""
    if equity <= 0:
        raise AlertRejected(f"account equity is {equity:.2f}: nothing to risk")
    risk_amount = equity * risk_pct / HUNDRED
    size = risk_amount / abs(price - stop)
    notes: list[str] = []
    leverage_cap = equity * account.max_leverage / price
    if size > leverage_cap:
        notes.append(f"size capped by max leverage {account.max_leverage}x")
        size = leverage_cap
    if account.max_notional is not None and size * price > account.max_notional:
        notes.append(f"size capped by max notional {account.max_notional} {market.quote}")
        size = account.max_notional / price
    size = floor_to_step(size, market.amount_step)
    check_minimums(size, price, market)
    return Sizing(size=size, risk_amount=size * abs(price - stop), notes=tuple(notes))


def check_minimums(size: Decimal, price: Decimal, market: Market) -> None:
    if size < market.min_amount or size <= 0:
        raise AlertRejected(
            f"size {size} {market.symbol} is below the minimum {market.min_amount} "
            f"(step {market.amount_step})"
        )
    if size * price < market.min_notional:
        raise AlertRejected(
            f"order value {size * price:.2f} {market.quote} is below the minimum "
            f"{market.min_notional} {market.quote}"
        )


def plan_entry(alert: Alert, account: Account, facts: Facts) -> OrderPlan:
    assert alert.side is not None and alert.stop_loss is not None
    market, side = facts.market, alert.side
    price = _entry_price(alert, facts)
    stop = round_price(alert.stop_loss, market.price_tick)
    if (price - stop) * side.sign <= 0:
        raise AlertRejected(f"the stop {stop} is on the wrong side of the entry {price}")
    risk_pct = account.risk_pct
    if alert.risk_pct is not None:  # an approver's edit, or the alert's own: never above the cap
        cap = account.max_risk_pct if account.max_risk_pct is not None else account.risk_pct
        if alert.risk_pct > cap:
            raise AlertRejected(
                f"risk {alert.risk_pct}% is above account {account.name}'s maximum {cap}% "
                "(max_risk_pct in the accounts file)"
            )
        risk_pct = alert.risk_pct
    if alert.amount is not None:
        size = floor_to_step(alert.amount, market.amount_step)
        check_minimums(size, price, market)
        sizing = Sizing(size, size * abs(price - stop), ("fixed size from the alert",))
    else:
        sizing = size_by_risk(
            equity=facts.equity,
            risk_pct=risk_pct,
            price=price,
            stop=stop,
            account=account,
            market=market,
        )
    size = sizing.size
    steps: list[Step] = [*_clear_symbol(facts)]
    limit = alert.order_type is OrderType.LIMIT
    features = facts.features
    steps.append(
        PlaceOrder(
            "stop",
            side.opposite,
            OrderType.STOP,
            size,
            trigger_price=stop,
            reduce_only=True,
            phase=2 if limit or features.stop_after_entry else 1,
            after_fill=limit,
        )
    )
    steps.append(
        PlaceOrder("entry", side, alert.order_type, size, price=price if limit else None, phase=1)
    )
    notes = sizing.notes
    wants_tps = alert.take_profit is not None or bool(alert.tp_mults)
    if features.take_profits == "none" and wants_tps:
        notes += (
            "spot: the stop holds the coins, so no take-profit orders were placed; "
            "exit alerts take the profit",
        )
    elif features.take_profits == "final":
        if alert.tp_mults:
            notes += (
                "one take-profit for the whole position: TP1/TP2 would leave an oversized "
                "stop, as nothing is reduce-only here",
            )
        steps.extend(
            take_profit_ladder(replace(alert, tp_mults=()), side, price, stop, size, market, limit)
        )
    else:
        steps.extend(take_profit_ladder(alert, side, price, stop, size, market, limit))
    return OrderPlan(
        kind=AlertKind.ENTRY,
        account=account.name,
        symbol=market.symbol,
        steps=tuple(steps),
        side=side,
        size=size,
        entry_price=price,
        stop_price=stop,
        risk_amount=sizing.risk_amount,
        notional=size * price,
        equity=facts.equity,
        notes=notes,
    )


def _entry_price(alert: Alert, facts: Facts) -> Decimal:
    """A limit enters at its price. A market entry enters at the market: the last price known,
    refused when it has moved more than half-way from the alert's price to its stop."""
    market = facts.market
    if alert.order_type is OrderType.LIMIT or facts.last_price is None:
        price = alert.price if alert.price is not None else facts.last_price
        if price is None:
            raise AlertRejected(f"no price for {market.symbol}: the entry alert must carry 'price'")
        return round_price(price, market.price_tick)
    current = facts.last_price
    if alert.price is not None and alert.stop_loss is not None:
        distance = abs(alert.price - alert.stop_loss)
        if abs(current - alert.price) > distance / 2:
            raise AlertRejected(
                f"the price moved from {alert.price} to {current} since the alert, more than "
                f"half-way to the stop {alert.stop_loss}: not entered"
            )
    return round_price(current, market.price_tick)


def _clear_symbol(facts: Facts) -> list[Step]:
    """Close whatever position the symbol holds and cancel its other orders, each by id, before a
    new entry (an order of this very alert, from before a restart, is not among them). Where
    nothing is reduce-only, the orders go first: a stop must not fire into the close (and spot
    coins are locked under it)."""
    cancel_phase = 0 if facts.features.reduce_only else -1
    steps: list[Step] = []
    if facts.position:
        steps.append(close_position(facts.position, phase=0))
    steps.extend(
        CancelOrder("cancel", order_id=o.id, client_id=o.client_id, phase=cancel_phase)
        for o in facts.open_orders
    )
    return steps


def take_profit_ladder(
    alert: Alert,
    side: Side,
    entry: Decimal,
    stop: Decimal,
    size: Decimal,
    market: Market,
    after_fill: bool,
) -> list[PlaceOrder]:
    """The final TP takes what the ladder leaves, so the TPs never add up to more than the size."""
    risk = abs(entry - stop)
    ladder: list[PlaceOrder] = []
    pct = alert.tp_close_pct or ZERO
    for n, mult in enumerate(alert.tp_mults, start=1):
        amount = floor_to_step(size * pct / HUNDRED, market.amount_step)
        if amount < market.min_amount or amount <= 0:
            continue  # too small to place: its share stays with the final TP
        level = round_price(entry + side.sign * risk * mult, market.price_tick)
        ladder.append(
            PlaceOrder(
                f"tp{n}",
                side.opposite,
                OrderType.TAKE_PROFIT,
                amount,
                trigger_price=level,
                reduce_only=True,
                phase=2,
                after_fill=after_fill,
            )
        )
    remaining = tidy(size - sum((o.amount for o in ladder), ZERO))
    whole = pct * len(ladder) >= HUNDRED  # the rungs were meant to close it all
    if ladder and 0 < remaining and (whole or remaining < market.min_amount):
        # Rounding dust, not a share of its own: the last rung takes it, so the ladder still
        # closes the whole position and no order is too small for the venue.
        ladder[-1] = replace(ladder[-1], amount=tidy(ladder[-1].amount + remaining))
        remaining = ZERO
    final: list[PlaceOrder] = []
    if alert.take_profit is not None and remaining > 0:
        level = round_price(alert.take_profit, market.price_tick)
        final.append(
            PlaceOrder(
                "tp",
                side.opposite,
                OrderType.TAKE_PROFIT,
                remaining,
                trigger_price=level,
                reduce_only=True,
                phase=2,
                after_fill=after_fill,
            )
        )
    return final + ladder


def resize_for_fill(
    steps: list[PlaceOrder], planned: Decimal, filled: Decimal, market: Market
) -> list[PlaceOrder]:
    """Scale protection planned for `planned` to a partial fill; the final TP takes the rest."""
    if filled >= planned:
        return steps
    out: list[PlaceOrder] = []
    ladder_total = ZERO
    for step in steps:
        if step.role == "stop":
            out.append(replace(step, amount=filled))
        elif step.role.startswith("tp") and step.role != "tp":
            amount = floor_to_step(step.amount * filled / planned, market.amount_step)
            if amount >= market.min_amount and amount > 0:
                out.append(replace(step, amount=amount))
                ladder_total += amount
    for step in steps:
        if step.role == "tp" and filled - ladder_total > 0:
            out.append(replace(step, amount=tidy(filled - ladder_total)))
    return out
