"""ib_async's Trade and Position → our records, in base units (a future is `multiplier` units)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..models import OrderType, Side
from .base import CANCELED, CLOSED, OPEN, REJECTED, Order, Position

_STATUS = {
    "Filled": CLOSED,
    "Cancelled": CANCELED,
    "ApiCancelled": CANCELED,
    "Inactive": REJECTED,
}
_UNSET = 1e300  # ib_async's UNSET_DOUBLE is 1.79e308: "no price"


def order_from_trade(trade: Any, symbol: str, size: Decimal) -> Order:
    """The order as its status says, or as its executions say when they are ahead: TWS sends an
    execution before the status that counts it."""
    order, status = trade.order, trade.orderStatus
    kind, trigger, limit = _kind(order)
    filled, average = _d(status.filled), _d(status.avgFillPrice) if status.avgFillPrice else None
    executions = _current(getattr(trade, "fills", ()) or ())
    executed = min(sum((_d(e.shares) for e in executions), Decimal(0)), _d(order.totalQuantity))
    if executed > filled:
        filled = executed
        average = sum((_d(e.shares) * _d(e.price) for e in executions), Decimal(0)) / executed
    fee = sum((_commission(f) for f in getattr(trade, "fills", ()) or ()), Decimal(0))
    return Order(
        id=str(order.orderId),
        client_id=order.orderRef or "",
        symbol=symbol,
        side=Side.BUY if order.action == "BUY" else Side.SELL,
        type=kind,
        amount=_d(order.totalQuantity) * size,
        status=_STATUS.get(status.status, OPEN),
        price=limit,
        trigger_price=trigger,
        reduce_only=False,  # IB has no reduce-only orders
        filled=filled * size,
        average=average,
        fee=fee,
    )


def _current(fills: Any) -> list[Any]:
    """The executions of a trade, a correction replacing the one it corrects: IB numbers them
    `<base>.01`, `<base>.02`… (the last part of the execId)."""
    latest: dict[str, Any] = {}
    for fill in fills:
        execution = fill.execution
        base, _, number = str(execution.execId).rpartition(".")
        key = base or number
        if key not in latest or str(execution.execId) > str(latest[key].execId):
            latest[key] = execution
    return list(latest.values())


def _commission(fill: Any) -> Decimal:
    """A fill's commission, once its report came (0 until then; ib_async's unset is huge)."""
    report = getattr(fill, "commissionReport", None)
    value = getattr(report, "commission", 0) or 0
    return Decimal(0) if abs(float(value)) >= _UNSET else _d(value)


def _kind(order: Any) -> tuple[OrderType, Decimal | None, Decimal | None]:
    """Stops are STP orders; a take-profit rests as a GTC limit (or a bracket's limit child)."""
    if order.orderType == "STP":
        return OrderType.STOP, _price(order.auxPrice), None
    if order.orderType == "LMT":
        if order.parentId or order.tif == "GTC":
            return OrderType.TAKE_PROFIT, _price(order.lmtPrice), None
        return OrderType.LIMIT, None, _price(order.lmtPrice)
    return OrderType.MARKET, None, None


def position_from_ib(item: Any, symbol: str, size: Decimal) -> Position:
    """IB's avgCost of a future includes its multiplier: the entry price is per point."""
    return Position(
        symbol=symbol,
        size=_d(item.position) * size,
        entry_price=_d(item.avgCost) / size if size else _d(item.avgCost),
    )


def _price(value: Any) -> Decimal | None:
    if value is None or abs(float(value)) >= _UNSET:
        return None
    return _d(value)


def _d(value: Any) -> Decimal:
    return Decimal(str(value or 0))
