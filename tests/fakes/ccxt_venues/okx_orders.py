"""OKX order endpoints: trade/order, batch-orders, order-algo, cancel, amend, pending lists."""

from __future__ import annotations

from typing import Any

from .dialect import _attached_order, _Dialect
from .model import (
    CANCELED,
    EXPIRED,
    FILLED,
    OPEN,
    TRIGGERED,
    Order,
    RecordedRequest,
    Trigger,
    VenueError,
    default_direction,
    fmt,
    now_ms,
)

_OKX_ERRORS = {  # reason -> (sCode, sMsg)
    "bad_client_id": ("51000", "Parameter clOrdId error"),
    "duplicate": ("51016", "Duplicated clOrdId"),
    "insufficient": ("51008", "Order failed. Insufficient USDT balance in account."),
    "reduce_only": (
        "51169",
        "Order failed because you don't have any positions in this "
        "direction for this contract to reduce or close.",
    ),
    "min_amount": ("51020", "Order amount should be greater than the min available amount."),
    "amount_step": ("51121", "Order quantity must be a multiple of the lot size."),
    "price_tick": ("51000", "Parameter px error"),
    "min_cost": ("51020", "Order amount should be greater than the min available amount."),
    "bad_symbol": ("51001", "Instrument ID does not exist."),
    "cancel_not_found": (
        "51400",
        "Cancellation failed as the order has been filled, canceled or does not exist.",
    ),
    "amend_not_found": (
        "51503",
        "Order modification failed as the order has been filled, canceled or does not exist.",
    ),
}

_OKX_ORDER_STATIC = {
    "posSide": "net",
    "fee": "0",
    "feeCcy": "USDT",
    "rebate": "0",
    "rebateCcy": "USDT",
    "pnl": "0",
    "category": "normal",
    "tpTriggerPx": "",
    "slTriggerPx": "",
    "source": "",
    "cancelSource": "",
    "stpMode": "cancel_maker",
}
_OKX_ALGO_STATIC = {
    "posSide": "net",
    "tpTriggerPxType": "last",
    "slTriggerPxType": "last",
    "triggerPxType": "last",
    "actualPx": "",
}


class _OkxOrders(_Dialect):
    """OKX order parsing, lookups, cancel/amend and rendering; _Okx adds the rest."""

    @staticmethod
    def _err(code: str, msg: str, status: int = 200) -> VenueError:
        return VenueError(status, {"code": str(code), "msg": msg, "data": []})

    @staticmethod
    def _item_err(code: str, msg: str, **ids: str) -> VenueError:
        # per-order failures: top-level code "1" and the reason in data[0].sCode / sMsg
        entry = {
            "ordId": "",
            "clOrdId": "",
            "tag": "",
            "ts": str(now_ms()),
            **ids,
            "sCode": str(code),
            "sMsg": msg,
        }
        return VenueError(200, {"code": "1", "msg": "All operations failed", "data": [entry]})

    @staticmethod
    def ok(data: list[Any]) -> dict[str, Any]:
        return {"code": "0", "msg": "", "data": data}

    # -- create ----------------------------------------------------------------------------
    def _base_order(self, p: dict[str, Any], *, algo: bool) -> Order:
        inst = self._market(
            p.get("instId"), "swap" if str(p.get("instId", "")).endswith("-SWAP") else "spot"
        )
        cid_field = "algoClOrdId" if algo and p.get("algoClOrdId") else "clOrdId"
        cid = p.get(cid_field) or ""
        return Order(
            id="",
            symbol=inst.symbol,
            market_id=inst.id,
            market_type=inst.type,
            side=str(p.get("side", "")),
            type="limit" if p.get("px") else "market",
            amount=float(p.get("sz") or 0),
            price=float(p["px"]) if p.get("px") else None,
            client_id=cid,
            client_id_field=cid_field if cid else None,
            reduce_only=p.get("reduceOnly") in (True, "true") and inst.type == "swap",
            close_position=p.get("closeFraction") == "1",
            algo=algo,
            venue_type=str(p.get("ordType", "")),
            params=dict(p),
            extra={
                "tdMode": p.get("tdMode", "cash"),
                "tag": p.get("tag", ""),
                "tgtCcy": p.get("tgtCcy", ""),
                "posSide": p.get("posSide", "net"),
            },
        )

    def _place(self, p: dict[str, Any], req: RecordedRequest) -> dict[str, Any]:
        order = self._base_order(p, algo=False)
        if order.venue_type not in ("market", "limit", "post_only", "fok", "ioc"):
            raise self._item_err("51000", "Parameter ordType error")
        for attach in p.get("attachAlgoOrds") or []:
            for kind, key in (("stop_loss", "slTriggerPx"), ("take_profit", "tpTriggerPx")):
                if attach.get(key):
                    order.attached[kind] = float(attach[key])
        self.v.place(order, req)
        return {
            "ordId": order.id,
            "clOrdId": order.client_id,
            "tag": order.extra["tag"],
            "ts": str(order.created_at),
            "sCode": "0",
            "sMsg": "Order placed",
        }

    def single_order(self, req: RecordedRequest) -> dict[str, Any]:
        return self.ok([self._place(req.json or {}, req)])

    def batch_orders(self, req: RecordedRequest) -> dict[str, Any]:
        oks, errors = [], []
        for p in req.json or []:
            try:
                oks.append(self._place(p, req))
            except VenueError as exc:
                errors.append(exc.body["data"][0])
        if errors and not oks:
            raise VenueError(200, {"code": "1", "msg": "All operations failed", "data": errors})
        return {"code": "2" if errors else "0", "msg": "", "data": oks + errors}

    def order_algo(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.json or {}
        order = self._base_order(p, algo=True)
        order.price = None
        order.triggers = self._algo_triggers(p, order)
        leg_px = p.get("orderPx") or p.get("slOrdPx") or p.get("tpOrdPx") or "-1"
        order.type = "market" if leg_px == "-1" else "limit"
        order.price = None if leg_px == "-1" else float(leg_px)
        self.v.place(order, req)
        return self.ok(
            [
                {
                    "algoId": order.id,
                    "clOrdId": order.client_id,
                    "algoClOrdId": order.client_id,
                    "tag": order.extra["tag"],
                    "sCode": "0",
                    "sMsg": "",
                }
            ]
        )

    def _algo_triggers(self, p: dict[str, Any], order: Order) -> list[Trigger]:
        ord_type = p.get("ordType")
        mark = self.v.mark(order.symbol)
        if ord_type == "trigger" and p.get("triggerPx"):
            px = float(p["triggerPx"])
            return [
                Trigger(
                    "trigger", px, default_direction("trigger", order.side, px, mark), "triggerPx"
                )
            ]
        if ord_type not in ("conditional", "oco"):
            raise self._item_err("51000", "Parameter ordType error")
        legs = []
        for kind, key in (("stop_loss", "slTriggerPx"), ("take_profit", "tpTriggerPx")):
            if p.get(key):
                px = float(p[key])
                legs.append(Trigger(kind, px, default_direction(kind, order.side, px, mark), key))
        if not legs:
            raise self._item_err("51000", "Parameter slTriggerPx error")
        return legs

    def attached_children(self, order: Order) -> list[Order]:
        """OKX turns attachAlgoOrds into one algo order: oco with both legs, else conditional."""
        legs = {"stop_loss": "slTriggerPx", "take_profit": "tpTriggerPx"}
        kinds = [k for k in legs if k in order.attached]
        first = kinds[0]
        child = _attached_order(
            order,
            first,
            order.attached[first],
            legs[first],
            "oco" if len(kinds) == 2 else "conditional",
            algo=True,
        )
        for kind in kinds[1:]:
            side = child.side
            px = order.attached[kind]
            child.triggers.append(
                Trigger(kind, px, default_direction(kind, side, px, 0.0), legs[kind])
            )
        child.extra = {
            "tdMode": order.extra.get("tdMode", "cross"),
            "tag": "",
            "tgtCcy": "",
            "posSide": "net",
        }
        return [child]

    # -- lookups ---------------------------------------------------------------------------
    def _find(self, p: dict[str, Any], *, algo: bool) -> Order | None:
        id_key, cid_keys = (
            ("algoId", ("algoClOrdId", "clOrdId")) if algo else ("ordId", ("clOrdId",))
        )
        book = [
            o
            for o in self.v.orders.values()
            if o.algo == algo and p.get("instId") in (None, o.market_id)
        ]
        return self.match(book, p, id_key, cid_keys)

    def get_order(self, req: RecordedRequest) -> dict[str, Any]:
        order = self._find(req.params, algo=False)
        if order is None:
            raise self.error("not_found")
        return self.ok([self.render(order)])

    def get_algo(self, req: RecordedRequest) -> dict[str, Any]:
        order = self._find(req.params, algo=True)
        if order is None:
            raise self.error("not_found")
        return self.ok([self.render_algo(order)])

    def pending(self, req: RecordedRequest) -> dict[str, Any]:
        inst = req.params.get("instId")
        return self.ok(
            [
                self.render(o)
                for o in self.v.open_orders()
                if not o.algo and inst in (None, o.market_id) and self.v.visible(o)
            ]
        )

    def algo_pending(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.params
        types = str(p.get("ordType") or "").split(",")
        return self.ok(
            [
                self.render_algo(o)
                for o in self.v.open_orders()
                if o.algo
                and o.venue_type in types
                and self.v.visible(o)
                and p.get("instId") in (None, o.market_id)
            ]
        )

    def history(self, req: RecordedRequest) -> dict[str, Any]:
        inst = req.params.get("instId")
        return self.ok(
            [
                self.render(o)
                for o in self.v.orders.values()
                if not o.algo and not o.is_open and inst in (None, o.market_id)
            ]
        )

    def cancel(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.json or {}
        order = self._find(p, algo=False)
        if order is None or not order.is_open:
            code, msg = _OKX_ERRORS["cancel_not_found"]
            raise self._item_err(
                code, msg, ordId=str(p.get("ordId", "")), clOrdId=str(p.get("clOrdId", ""))
            )
        self.v.cancel(order)
        return self.ok(
            [
                {
                    "ordId": order.id,
                    "clOrdId": order.client_id,
                    "ts": str(order.updated_at),
                    "sCode": "0",
                    "sMsg": "",
                }
            ]
        )

    def cancel_algos(self, req: RecordedRequest) -> dict[str, Any]:
        out = []
        for p in req.json or []:
            order = self._find(p, algo=True)
            if order is None or not order.is_open:
                code, msg = _OKX_ERRORS["cancel_not_found"]
                raise self._item_err(code, msg, algoId=str(p.get("algoId", "")))
            self.v.cancel(order)
            out.append(
                {
                    "algoId": order.id,
                    "clOrdId": order.client_id,
                    "algoClOrdId": order.client_id,
                    "sCode": "0",
                    "sMsg": "",
                }
            )
        return self.ok(out)

    def amend(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.json or {}
        order = self._find(p, algo=False)
        if order is None or not order.is_open:
            code, msg = _OKX_ERRORS["amend_not_found"]
            raise self._item_err(code, msg, ordId=str(p.get("ordId", "")), reqId="")
        if p.get("newSz"):
            order.amount = float(p["newSz"])
        if p.get("newPx"):
            order.price = float(p["newPx"])
        order.updated_at = now_ms()
        self.v.set_price(order.symbol, self.v.mark(order.symbol))
        return self.ok(
            [
                {
                    "ordId": order.id,
                    "clOrdId": order.client_id,
                    "reqId": p.get("reqId", ""),
                    "ts": str(order.updated_at),
                    "sCode": "0",
                    "sMsg": "",
                }
            ]
        )

    def amend_algo(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.json or {}
        order = self._find(p, algo=True)
        if order is None or not order.is_open:
            code, msg = _OKX_ERRORS["amend_not_found"]
            raise self._item_err(code, msg, algoId=str(p.get("algoId", "")))
        keys = {
            "trigger": "newTriggerPx",
            "stop_loss": "newSlTriggerPx",
            "take_profit": "newTpTriggerPx",
        }
        self.v.retrigger(
            order,
            {t.kind: float(p[keys[t.kind]]) for t in order.triggers if p.get(keys[t.kind])},
        )
        if p.get("newSz"):
            order.amount = float(p["newSz"])
        order.updated_at = now_ms()
        return self.ok(
            [
                {
                    "algoId": order.id,
                    "algoClOrdId": order.client_id,
                    "reqId": p.get("reqId", ""),
                    "sCode": "0",
                    "sMsg": "",
                }
            ]
        )

    # -- rendering -------------------------------------------------------------------------
    def render(self, o: Order) -> dict[str, Any]:
        state = {OPEN: "live", FILLED: "filled", CANCELED: "canceled", EXPIRED: "canceled"}
        swap = o.market_type == "swap"
        return _OKX_ORDER_STATIC | {
            "instType": "SWAP" if swap else "SPOT",
            "instId": o.market_id,
            "ordId": o.id,
            "clOrdId": o.client_id,
            "tag": o.extra.get("tag", ""),
            "px": fmt(o.price) if o.price else "",
            "sz": fmt(o.amount),
            "ordType": o.venue_type or o.type,
            "side": o.side,
            "tdMode": o.extra.get("tdMode", "cash"),
            "tgtCcy": o.extra.get("tgtCcy", ""),
            "accFillSz": fmt(o.filled),
            "fillSz": fmt(o.filled),
            "fillPx": fmt(o.average) if o.average else "",
            "avgPx": fmt(o.average) if o.average else "",
            "state": state[o.status],
            "lever": str(self.v.leverage) if swap else "",
            "reduceOnly": "true" if o.reduce_only else "false",
            "attachAlgoOrds": self._attach_rows(o),
            "algoId": o.parent_id or "",
            "cTime": str(o.created_at),
            "uTime": str(o.updated_at),
        }

    @staticmethod
    def _attach_rows(o: Order) -> list[dict[str, Any]]:
        if not o.attached:
            return []
        sl, tp = o.attached.get("stop_loss"), o.attached.get("take_profit")
        return [
            {
                "attachAlgoId": "",
                "attachAlgoClOrdId": "",
                "slTriggerPx": fmt(sl) if sl else "",
                "slOrdPx": "-1" if sl else "",
                "tpTriggerPx": fmt(tp) if tp else "",
                "tpOrdPx": "-1" if tp else "",
                "slTriggerPxType": "last",
                "tpTriggerPxType": "last",
            }
        ]

    def render_algo(self, o: Order) -> dict[str, Any]:
        state = {
            OPEN: "live",
            TRIGGERED: "effective",
            FILLED: "effective",
            CANCELED: "canceled",
            EXPIRED: "order_failed",
        }
        return (
            _OKX_ALGO_STATIC
            | self._legs(o)
            | {
                "instType": "SWAP" if o.market_type == "swap" else "SPOT",
                "instId": o.market_id,
                "ordId": o.spawned_id or "",
                "ordIdList": [o.spawned_id] if o.spawned_id else [],
                "algoId": o.id,
                "clOrdId": o.client_id,
                "algoClOrdId": o.client_id,
                "sz": fmt(o.amount),
                "closeFraction": "1" if o.close_position else "",
                "ordType": o.venue_type,
                "side": o.side,
                "tdMode": o.extra.get("tdMode", "cross"),
                "tgtCcy": o.extra.get("tgtCcy", ""),
                "state": state[o.status],
                "lever": str(self.v.leverage),
                "actualSz": fmt(o.amount) if o.spawned_id else "",
                "actualSide": {"stop_loss": "sl", "take_profit": "tp"}.get(o.fired_kind or "", ""),
                "reduceOnly": "true" if o.reduce_only else "false",
                "triggerTime": str(o.updated_at) if o.triggered else "",
                "last": fmt(self.v.mark(o.symbol)),
                "cTime": str(o.created_at),
                "uTime": str(o.updated_at),
                "tag": o.extra.get("tag", ""),
            }
        )

    @staticmethod
    def _legs(o: Order) -> dict[str, str]:
        """Trigger and order-price fields; "-1" is OKX's market execution price."""
        legs = {t.field: fmt(t.price) for t in o.triggers}
        ord_px = fmt(o.price) if o.price else "-1"
        return {
            "tpTriggerPx": legs.get("tpTriggerPx", ""),
            "tpOrdPx": ord_px if "tpTriggerPx" in legs else "",
            "slTriggerPx": legs.get("slTriggerPx", ""),
            "slOrdPx": ord_px if "slTriggerPx" in legs else "",
            "triggerPx": legs.get("triggerPx", ""),
            "ordPx": ord_px if "triggerPx" in legs else "",
        }
