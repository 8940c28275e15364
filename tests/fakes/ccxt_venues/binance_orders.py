"""Binance order endpoints: /api/v3/order, /fapi/v1/order and /fapi/v1/algoOrder."""

from __future__ import annotations

import math
from typing import Any

from .dialect import _Dialect
from .model import (
    CANCELED,
    EXPIRED,
    FILLED,
    OPEN,
    TRIGGERED,
    Market,
    Order,
    RecordedRequest,
    Trigger,
    VenueError,
    default_direction,
    fmt,
    now_ms,
)

_BINANCE_COMMON = {"symbol", "recvWindow", "timestamp", "signature"}
_BINANCE_SPOT_PARAMS = _BINANCE_COMMON | {
    "side",
    "type",
    "timeInForce",
    "quantity",
    "quoteOrderQty",
    "price",
    "newClientOrderId",
    "strategyId",
    "strategyType",
    "stopPrice",
    "trailingDelta",
    "icebergQty",
    "newOrderRespType",
    "selfTradePreventionMode",
}
_BINANCE_FUT_PARAMS = _BINANCE_COMMON | {
    "side",
    "positionSide",
    "type",
    "timeInForce",
    "quantity",
    "reduceOnly",
    "price",
    "newClientOrderId",
    "stopPrice",
    "closePosition",
    "activationPrice",
    "callbackRate",
    "workingType",
    "priceProtect",
    "newOrderRespType",
    "priceMatch",
    "selfTradePreventionMode",
    "goodTillDate",
}
_BINANCE_ALGO_PARAMS = (_BINANCE_FUT_PARAMS - {"newClientOrderId", "stopPrice"}) | {
    "algoType",
    "triggerPrice",
    "clientAlgoId",
    "activatePrice",
}
# venue type -> (executes as, trigger kind)
_BINANCE_TYPES = {
    "MARKET": ("market", None),
    "LIMIT": ("limit", None),
    "LIMIT_MAKER": ("limit", None),
    "STOP_LOSS": ("market", "stop_loss"),
    "STOP_LOSS_LIMIT": ("limit", "stop_loss"),
    "TAKE_PROFIT": ("market", "take_profit"),
    "TAKE_PROFIT_LIMIT": ("limit", "take_profit"),
    "STOP_MARKET": ("market", "stop_loss"),
    "STOP": ("limit", "stop_loss"),
    "TAKE_PROFIT_MARKET": ("market", "take_profit"),
}
_BINANCE_STATUS = {OPEN: "NEW", FILLED: "FILLED", CANCELED: "CANCELED", EXPIRED: "EXPIRED"}
_BINANCE_ALGO_STATUS = {
    OPEN: "NEW",
    TRIGGERED: "FINISHED",
    CANCELED: "CANCELED",
    EXPIRED: "EXPIRED",
    FILLED: "FINISHED",
}


class _BinanceOrders(_Dialect):
    """Binance order parsing, lookups, edits and rendering; _Binance adds the rest."""

    @staticmethod
    def _err(code: int, msg: str, status: int = 400) -> VenueError:
        return VenueError(status, {"code": code, "msg": msg})

    # -- order parsing ---------------------------------------------------------------------
    def _check_params(self, p: dict[str, Any], allowed: set[str]) -> None:
        extra = sorted(set(p) - allowed)
        if extra:  # the live API refuses unknown parameters, e.g. reduceOnly on spot
            raise self._err(
                -1104,
                f"Not all sent parameters were read; read '{len(p) - len(extra)}'"
                f" parameter(s) but was sent '{len(p)}'.",
            )

    def _order_from(self, p: dict[str, Any], market: Market, *, algo: bool) -> Order:
        vtype = p.get("type", "")
        if vtype not in _BINANCE_TYPES:
            raise self._err(-1116, "Invalid orderType.")
        executes, kind = _BINANCE_TYPES[vtype]
        side = p.get("side", "").lower()
        cid_field = "clientAlgoId" if algo else "newClientOrderId"
        order = Order(
            id="",
            symbol=market.symbol,
            market_id=market.id,
            market_type=market.type,
            side=side,
            type=executes,
            amount=float(p.get("quantity") or 0),
            price=float(p["price"]) if p.get("price") else None,
            client_id=p.get(cid_field) or f"web_{self.v.new_id()}",
            client_id_field=cid_field if p.get(cid_field) else None,
            reduce_only=p.get("reduceOnly") == "true",
            close_position=p.get("closePosition") == "true",
            algo=algo,
            venue_type=vtype,
            params=dict(p),
            extra={
                "timeInForce": p.get("timeInForce", "GTC"),
                "positionSide": p.get("positionSide", "BOTH"),
            },
        )
        if kind is not None:
            trig_field = "triggerPrice" if algo else "stopPrice"
            if not p.get(trig_field):
                raise self._err(-1102, f"Mandatory parameter '{trig_field}' was not sent.")
            px = float(p[trig_field])
            mark = self.v.mark(market.symbol)
            order.triggers = [
                Trigger(kind, px, default_direction(kind, side, px, mark), trig_field)
            ]
        return order

    def spot_create(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.params
        self._check_params(p, _BINANCE_SPOT_PARAMS)
        market = self._market(p.get("symbol"), "spot")
        if p.get("quoteOrderQty") and not p.get("quantity"):
            qty = float(p["quoteOrderQty"]) / self.v.mark(market.symbol)
            p["quantity"] = fmt(math.floor(qty / market.amount_step) * market.amount_step)
        order = self.v.place(self._order_from(p, market, algo=False), req)
        return self._ack(order, p.get("newOrderRespType", "FULL"))

    def fut_create(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.params
        self._check_params(p, _BINANCE_FUT_PARAMS)
        if p.get("type") not in ("LIMIT", "MARKET"):
            # since the 2025-12 algo migration conditional types only go to /fapi/v1/algoOrder
            raise self._err(
                -4120,
                "Order type not supported for this endpoint. Please use the "
                "Algo Order API endpoints instead.",
            )
        market = self._market(p.get("symbol"), "swap")
        order = self.v.place(self._order_from(p, market, algo=False), req)
        return self._ack(order, p.get("newOrderRespType", "ACK"))

    def algo_create(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.params
        self._check_params(p, _BINANCE_ALGO_PARAMS)
        if p.get("algoType") != "CONDITIONAL":
            raise self._err(-1102, "Mandatory parameter 'algoType' was not sent.")
        market = self._market(p.get("symbol"), "swap")
        order = self.v.place(self._order_from(p, market, algo=True), req)
        return self.render_algo(order)

    def _ack(self, order: Order, resp_type: str) -> dict[str, Any]:
        if order.market_type == "swap":
            return self.render_fut(order)
        body = self.render_spot(order)
        keep = (
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "price",
            "origQty",
            "executedQty",
            "cummulativeQuoteQty",
            "status",
            "timeInForce",
            "type",
            "side",
            "workingTime",
            "selfTradePreventionMode",
        )
        ack = {k: body[k] for k in keep} | {"transactTime": order.created_at}
        if order.triggers:
            ack["stopPrice"] = body["stopPrice"]
        if resp_type == "FULL":
            ack["fills"] = (
                []
                if order.status != FILLED
                else [
                    {
                        "price": fmt(order.average),
                        "qty": fmt(order.filled),
                        "commission": "0",
                        "commissionAsset": "BNB",
                        "tradeId": int(self.v.new_id()),
                    }
                ]
            )
        return ack

    # -- order lookups ---------------------------------------------------------------------
    def _lookup(self, p: dict[str, Any], market_type: str, *, algo: bool) -> Order | None:
        id_key, cid_keys = (
            ("algoId", ("clientAlgoId",)) if algo else ("orderId", ("origClientOrderId",))
        )
        book = [
            o
            for o in self.v.orders.values()
            if o.algo == algo
            and o.market_type == market_type
            and p.get("symbol") in (None, o.market_id)
        ]
        return self.match(book, p, id_key, cid_keys)

    @staticmethod
    def _mtype(req: RecordedRequest) -> str:
        return "swap" if req.path.startswith("/fapi") else "spot"

    def _render(self, order: Order) -> dict[str, Any]:
        return self.render_fut(order) if order.market_type == "swap" else self.render_spot(order)

    def get_order(self, req: RecordedRequest) -> dict[str, Any]:
        order = self._lookup(req.params, self._mtype(req), algo=False)
        if order is None:
            raise self._err(-2013, "Order does not exist.")
        return self._render(order)

    def cancel_order(self, req: RecordedRequest) -> dict[str, Any]:
        order = self._lookup(req.params, self._mtype(req), algo=False)
        if order is None or not order.is_open:
            raise self._err(-2011, "Unknown order sent.")
        return self._render(self.v.cancel(order))

    def open_orders(self, req: RecordedRequest) -> list[dict[str, Any]]:
        mtype, sym = self._mtype(req), req.params.get("symbol")
        return [
            self._render(o)
            for o in self.v.open_orders()
            if not o.algo
            and o.market_type == mtype
            and sym in (None, o.market_id)
            and self.v.visible(o)
        ]

    def algo_get(self, req: RecordedRequest) -> dict[str, Any]:
        order = self._lookup(req.params, "swap", algo=True)
        if order is None:
            raise self._err(-2013, "Order does not exist.")
        return self.render_algo(order)

    def algo_cancel(self, req: RecordedRequest) -> dict[str, Any]:
        order = self._lookup(req.params, "swap", algo=True)
        if order is None or not order.is_open:
            raise self._err(-2011, "Unknown order sent.")
        self.v.cancel(order)
        return {
            "algoId": int(order.id),
            "clientAlgoId": order.client_id,
            "code": "200",
            "msg": "success",
        }

    def algo_open(self, req: RecordedRequest) -> list[dict[str, Any]]:
        sym = req.params.get("symbol")
        return [
            self.render_algo(o)
            for o in self.v.open_orders()
            if o.algo and sym in (None, o.market_id) and self.v.visible(o)
        ]

    # -- edits -----------------------------------------------------------------------------
    def cancel_replace(self, req: RecordedRequest) -> dict[str, Any]:
        p = dict(req.params)
        old = self._lookup(
            {
                "symbol": p.get("symbol"),
                "orderId": p.get("cancelOrderId"),
                "origClientOrderId": p.get("cancelOrigClientOrderId"),
            },
            "spot",
            algo=False,
        )
        if old is None or not old.is_open:
            raise self._err(-2011, "Unknown order sent.")
        self.v.cancel(old)
        for key in (
            "cancelReplaceMode",
            "cancelOrderId",
            "cancelOrigClientOrderId",
            "cancelNewClientOrderId",
            "cancelRestrictions",
            "orderRateLimitExceededMode",
        ):
            p.pop(key, None)
        new = self.v.place(self._order_from(p, self.v.market(old.symbol), algo=False), req)
        return {
            "cancelResult": "SUCCESS",
            "newOrderResult": "SUCCESS",
            "cancelResponse": self.render_spot(old) | {"origClientOrderId": old.client_id},
            "newOrderResponse": self._ack(new, "FULL"),
        }

    def fut_amend(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.params
        order = self._lookup(p, "swap", algo=False)
        if order is None or not order.is_open:
            raise self._err(-2013, "Order does not exist.")
        if order.type != "limit":
            raise self._err(-4028, "Only limit orders can be modified.")
        order.amount = float(p.get("quantity") or order.amount)
        order.price = float(p.get("price") or order.price or 0)
        order.updated_at = now_ms()
        self.v.set_price(order.symbol, self.v.mark(order.symbol))  # the new price may cross
        return self.render_fut(order)

    # -- rendering -------------------------------------------------------------------------
    def render_spot(self, o: Order) -> dict[str, Any]:
        return {
            "symbol": o.market_id,
            "orderId": int(o.id),
            "orderListId": -1,
            "clientOrderId": o.client_id,
            "price": fmt(o.price),
            "origQty": fmt(o.amount),
            "executedQty": fmt(o.filled),
            "cummulativeQuoteQty": fmt(o.filled * (o.average or 0)),
            "status": _BINANCE_STATUS[o.status],
            "timeInForce": o.extra.get("timeInForce", "GTC"),
            "type": o.venue_type or o.type.upper(),
            "side": o.side.upper(),
            "stopPrice": fmt(o.trigger_price),
            "icebergQty": "0",
            "time": o.created_at,
            "updateTime": o.updated_at,
            "isWorking": not o.pending_trigger,
            "workingTime": o.created_at,
            "origQuoteOrderQty": "0",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }

    def render_fut(self, o: Order) -> dict[str, Any]:
        return {
            "orderId": int(o.id),
            "symbol": o.market_id,
            "status": _BINANCE_STATUS[o.status],
            "clientOrderId": o.client_id,
            "price": fmt(o.price),
            "avgPrice": fmt(o.average),
            "origQty": fmt(o.amount),
            "executedQty": fmt(o.filled),
            "cumQty": fmt(o.filled),
            "cumQuote": fmt(o.filled * (o.average or 0)),
            "timeInForce": o.extra.get("timeInForce", "GTC"),
            "type": o.venue_type or o.type.upper(),
            "reduceOnly": o.reduce_only,
            "closePosition": o.close_position,
            "side": o.side.upper(),
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": o.venue_type or o.type.upper(),
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": o.created_at,
            "updateTime": o.updated_at,
        }

    def render_algo(self, o: Order) -> dict[str, Any]:
        spawned = self.v.orders.get(o.spawned_id or "")
        return {
            "algoId": int(o.id),
            "clientAlgoId": o.client_id,
            "algoType": "CONDITIONAL",
            "orderType": o.venue_type,
            "symbol": o.market_id,
            "side": o.side.upper(),
            "positionSide": "BOTH",
            "timeInForce": o.extra.get("timeInForce", "GTC"),
            "quantity": fmt(o.amount),
            "algoStatus": _BINANCE_ALGO_STATUS[o.status],
            "actualOrderId": spawned.id if spawned else "",
            "actualPrice": fmt(spawned.average) if spawned else "0",
            "triggerPrice": fmt(o.trigger_price),
            "price": fmt(o.price),
            "icebergQuantity": None,
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": "CONTRACT_PRICE",
            "priceMatch": "NONE",
            "closePosition": o.close_position,
            "priceProtect": False,
            "reduceOnly": o.reduce_only,
            "createTime": o.created_at,
            "updateTime": o.updated_at,
            "triggerTime": o.updated_at if o.triggered else 0,
            "goodTillDate": 0,
        }
