"""Bybit order endpoints: /v5/order/create, realtime, history, cancel and amend."""

from __future__ import annotations

from typing import Any

from .dialect import _attached_order, _Dialect
from .model import (
    CANCELED,
    EXPIRED,
    FILLED,
    OPEN,
    Market,
    Order,
    RecordedRequest,
    Trigger,
    VenueError,
    default_direction,
    fmt,
    now_ms,
)

_BYBIT_ORDER_STATIC = {
    "blockTradeId": "",
    "isLeverage": "",
    "positionIdx": 0,
    "cancelType": "UNKNOWN",
    "rejectReason": "EC_NoError",
    "leavesValue": "0",
    "cumExecFee": "0",
    "orderIv": "",
    "tpTriggerBy": "",
    "slTriggerBy": "",
    "lastPriceOnCreated": "",
    "closeOnTrigger": False,
    "placeType": "",
    "smpType": "None",
    "smpGroup": 0,
    "smpOrderId": "",
}


class _BybitOrders(_Dialect):
    """Bybit order parsing, lookups, cancel/amend and rendering; _Bybit adds the rest."""

    @staticmethod
    def _err(code: int, msg: str, status: int = 200) -> VenueError:
        return VenueError(
            status,
            {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": now_ms()},
        )

    @staticmethod
    def ok(result: Any) -> dict[str, Any]:
        return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now_ms()}

    # -- create ----------------------------------------------------------------------------
    def _order_from(self, p: dict[str, Any], market: Market) -> Order:
        side = str(p.get("side", "")).lower()
        order = Order(
            id="",
            symbol=market.symbol,
            market_id=market.id,
            market_type=market.type,
            side=side,
            type=str(p.get("orderType", "")).lower(),
            amount=float(p.get("qty") or 0),
            price=float(p["price"]) if p.get("price") else None,
            client_id=p.get("orderLinkId") or "",
            client_id_field="orderLinkId" if p.get("orderLinkId") else None,
            reduce_only=bool(p.get("reduceOnly")),
            venue_type=str(p.get("orderType", "")),
            params=dict(p),
            extra={
                "category": p.get("category"),
                "timeInForce": p.get("timeInForce"),
                "orderFilter": p.get("orderFilter")
                or ("StopOrder" if p.get("triggerPrice") else "Order"),
            },
        )
        for kind, key in (("stop_loss", "stopLoss"), ("take_profit", "takeProfit")):
            if p.get(key):
                order.attached[kind] = float(p[key])
        return order

    def _trigger_from(self, p: dict[str, Any], order: Order) -> None:
        if not p.get("triggerPrice"):
            return
        px = float(p["triggerPrice"])
        direction = {1: "above", 2: "below"}.get(int(p.get("triggerDirection") or 0))
        if direction is None and order.market_type == "swap":
            raise self._err(10001, "params error: TriggerDirection invalid")
        if direction is None:
            direction = default_direction("trigger", order.side, px, self.v.mark(order.symbol))
        order.triggers = [Trigger("trigger", px, direction, "triggerPrice")]

    def create(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.json or {}
        category = p.get("category")
        if category not in ("linear", "spot"):
            raise self._err(10001, "params error: category invalid")
        market = self._market(p.get("symbol"), "spot" if category == "spot" else "swap")
        order = self._order_from(p, market)
        self._trigger_from(p, order)
        if order.market_type == "spot":
            order.reduce_only = False  # ccxt adds reduceOnly to spot TP/SL; spot has no position
        self.v.place(order, req)
        return self.ok({"orderId": order.id, "orderLinkId": order.client_id})

    def attached_children(self, order: Order) -> list[Order]:
        """Bybit turns an entry's stopLoss/takeProfit into position TP/SL orders on fill."""
        names = {"stop_loss": ("stopLoss", "StopLoss"), "take_profit": ("takeProfit", "TakeProfit")}
        children = []
        for kind, price in order.attached.items():
            field_name, stop_type = names[kind]
            child = _attached_order(order, kind, price, field_name, "Market", algo=False)
            child.extra = {
                "category": order.extra.get("category"),
                "stopOrderType": stop_type,
                "orderFilter": "StopOrder" if order.market_type == "swap" else "tpslOrder",
            }
            children.append(child)
        return children

    # -- lookups ---------------------------------------------------------------------------
    def _category_of(self, order: Order) -> str:
        return "spot" if order.market_type == "spot" else "linear"

    def _find(self, p: dict[str, Any]) -> Order | None:
        book = [o for o in self.v.orders.values() if self._category_of(o) == p.get("category")]
        return self.match(book, p, "orderId", ("orderLinkId",))

    def _listed(self, order: Order, p: dict[str, Any]) -> bool:
        if self._category_of(order) != p.get("category") or not self.v.visible(order):
            return False
        if p.get("symbol") not in (None, order.market_id):
            return False
        wanted = p.get("orderFilter")
        if wanted is None:  # spot lists only plain orders unless asked; linear lists all
            return order.market_type == "swap" or order.extra.get("orderFilter") == "Order"
        return order.extra.get("orderFilter") == wanted

    def realtime(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.params
        if p.get("orderId") or p.get("orderLinkId"):
            found = self._find(p)
            rows = [found] if found is not None else []
        else:
            rows = [o for o in self.v.open_orders() if self._listed(o, p)]
        return self.ok(
            {
                "category": p.get("category"),
                "nextPageCursor": "",
                "list": [self.render(o) for o in rows],
            }
        )

    def history(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.params
        rows = [
            o
            for o in self.v.orders.values()
            if not o.is_open
            and self._category_of(o) == p.get("category")
            and self.v.visible(o)
            and p.get("orderId") in (None, o.id)
            and p.get("orderLinkId") in (None, o.client_id)
        ]
        return self.ok(
            {
                "category": p.get("category"),
                "nextPageCursor": "",
                "list": [self.render(o) for o in rows],
            }
        )

    def cancel(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.json or {}
        order = self._find(p)
        if (
            order is not None
            and order.market_type == "spot"
            and (order.extra.get("orderFilter") != p.get("orderFilter", "Order"))
        ):
            order = None  # spot cancels need the matching orderFilter (Order/tpslOrder/StopOrder)
        if order is None or not order.is_open:
            raise self.error("cancel_not_found", order or self._stub(p))
        self.v.cancel(order)
        return self.ok({"orderId": order.id, "orderLinkId": order.client_id})

    @staticmethod
    def _stub(p: dict[str, Any]) -> Order:
        return Order("", "", "", "spot" if p.get("category") == "spot" else "swap", "", "", 0)

    def amend(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.json or {}
        order = self._find(p)
        if order is None or not order.is_open:
            return_code = 170213 if p.get("category") == "spot" else 110001
            raise self._err(return_code, "order not exists or too late to replace")
        if p.get("triggerPrice") and order.triggers:
            self.v.retrigger(order, {order.triggers[0].kind: float(p["triggerPrice"])})
        if p.get("qty"):
            order.amount = float(p["qty"])
        if p.get("price"):
            order.price = float(p["price"])
        for kind, key in (("stop_loss", "stopLoss"), ("take_profit", "takeProfit")):
            if p.get(key):
                order.attached[kind] = float(p[key])
        order.updated_at = now_ms()
        self.v.set_price(order.symbol, self.v.mark(order.symbol))
        return self.ok({"orderId": order.id, "orderLinkId": order.client_id})

    def render(self, o: Order) -> dict[str, Any]:
        status = {
            OPEN: "Untriggered" if o.pending_trigger else "New",
            FILLED: "Filled",
            CANCELED: "Deactivated" if o.pending_trigger else "Cancelled",
            EXPIRED: "Deactivated",
        }[o.status]
        row = _BYBIT_ORDER_STATIC | {
            "orderId": o.id,
            "orderLinkId": o.client_id,
            "symbol": o.market_id,
            "price": fmt(o.price),
            "qty": fmt(o.amount),
            "side": o.side.capitalize(),
            "orderStatus": status,
            "avgPrice": fmt(o.average) if o.average else "",
            "leavesQty": fmt(o.amount - o.filled if o.is_open else 0),
            "cumExecQty": fmt(o.filled),
            "cumExecValue": fmt(o.filled * (o.average or 0)),
            "timeInForce": o.extra.get("timeInForce") or ("GTC" if o.type == "limit" else "IOC"),
            "orderType": o.type.capitalize(),
            "reduceOnly": o.reduce_only,
            "createdTime": str(o.created_at),
            "updatedTime": str(o.updated_at),
        }
        row |= self._trigger_fields(o)
        if o.market_type == "swap":
            # ccxt tells linear from spot (when it has no market) by this key's presence
            row["tpslMode"] = "Full" if o.attached else ""
        return row

    @staticmethod
    def _trigger_fields(o: Order) -> dict[str, Any]:
        stop_type = o.extra.get("stopOrderType") or (
            "tpslOrder"
            if o.extra.get("orderFilter") == "tpslOrder"
            else "Stop"
            if o.triggers
            else ""
        )
        direction = o.triggers[0].direction if o.triggers else ""
        return {
            "stopOrderType": stop_type,
            "triggerPrice": fmt(o.trigger_price),
            "takeProfit": fmt(o.attached.get("take_profit")),
            "stopLoss": fmt(o.attached.get("stop_loss")),
            "triggerDirection": {"above": 1, "below": 2}.get(direction, 0),
            "triggerBy": "LastPrice" if o.triggers else "",
        }
