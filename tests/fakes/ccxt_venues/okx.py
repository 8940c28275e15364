"""OKX v5 dialect: routes, auth, error bodies, positions, balance and market data."""

from __future__ import annotations

import base64
import re
from typing import Any

from .dialect import HTML_502, HTML_503, HTML_504, Route
from .fixtures import candles, raw_instrument
from .model import API_KEY, API_PASSWORD, Fault, Order, RecordedRequest, VenueError, fmt, now_ms
from .okx_orders import _OKX_ERRORS, _OkxOrders

_OKX_CID = re.compile(r"[A-Za-z0-9]{1,32}")
_OKX_TF = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1H": 3_600_000,
    "4H": 14_400_000,
    "1D": 86_400_000,
    "1Dutc": 86_400_000,
}

_OKX_WOULD_TRIGGER = {  # (kind, side) -> (sCode, sMsg)
    ("stop_loss", "sell"): ("51280", "SL trigger price cannot be higher than the last price."),
    ("stop_loss", "buy"): ("51278", "SL trigger price cannot be lower than the last price."),
    ("take_profit", "sell"): ("51279", "TP trigger price cannot be lower than the last price."),
    ("take_profit", "buy"): ("51277", "TP trigger price cannot be higher than the last price."),
}
_OKX_ORDER_OPS = ("create_order", "cancel_order", "edit_order")


class _Okx(_OkxOrders):
    """OKX v5: trade/order, batch-orders, order-algo, cancel(-algos), amend, pending lists."""

    client_id_pattern = _OKX_CID

    def routes(self) -> dict[tuple[str, str], Route]:
        t = "/api/v5/trade"
        return {
            ("POST", f"{t}/order"): Route("create_order", self.single_order),
            ("POST", f"{t}/batch-orders"): Route("create_order", self.batch_orders),
            ("POST", f"{t}/order-algo"): Route("create_order", self.order_algo),
            ("GET", f"{t}/order"): Route("fetch_order", self.get_order),
            ("GET", f"{t}/order-algo"): Route("fetch_order", self.get_algo),
            ("GET", f"{t}/orders-pending"): Route("fetch_open_orders", self.pending),
            ("GET", f"{t}/orders-algo-pending"): Route("fetch_open_orders", self.algo_pending),
            ("GET", f"{t}/orders-history"): Route("fetch_closed_orders", self.history),
            ("POST", f"{t}/cancel-order"): Route("cancel_order", self.cancel),
            ("POST", f"{t}/cancel-algos"): Route("cancel_order", self.cancel_algos),
            ("POST", f"{t}/amend-order"): Route("edit_order", self.amend),
            ("POST", f"{t}/amend-algos"): Route("edit_order", self.amend_algo),
            ("GET", "/api/v5/account/positions"): Route("fetch_positions", self.positions),
            ("GET", "/api/v5/account/balance"): Route("fetch_balance", self.balance),
            ("GET", "/api/v5/account/config"): Route("fetch_account", self.config),
            ("POST", "/api/v5/account/set-leverage"): Route("set_leverage", self.set_leverage),
            ("GET", "/api/v5/asset/currencies"): Route("load_markets", self.currencies),
            ("GET", "/api/v5/market/candles"): Route("fetch_ohlcv", self.candles, private=False),
            ("GET", "/api/v5/market/history-candles"): Route("fetch_ohlcv", self.candles, False),
            ("GET", "/api/v5/public/instruments"): Route("load_markets", self.instruments, False),
            ("GET", "/api/v5/public/time"): Route("fetch_time", self.server_time, private=False),
        }

    def check_auth(self, req: RecordedRequest, route: Route) -> VenueError | None:
        if not route.private:
            return None
        h = req.headers
        if h.get("OK-ACCESS-KEY") != API_KEY:
            return self._err("50111", "Invalid OK-ACCESS-KEY", 401)
        if h.get("OK-ACCESS-PASSPHRASE") != API_PASSWORD:
            return self._err("50105", "Invalid OK-ACCESS-PASSPHRASE", 401)
        path = req.path + ("?" + req.raw_query if req.raw_query else "")
        payload = h.get("OK-ACCESS-TIMESTAMP", "") + req.method + path + (req.body or "")
        if h.get("OK-ACCESS-SIGN") != base64.b64encode(self._hmac(payload)).decode():
            return self._err("50113", "Invalid Sign", 401)
        return None

    def error(self, reason: str, order: Order | None = None, **kw: Any) -> VenueError:
        ids = {"clOrdId": order.client_id} if order is not None else {}
        if reason == "would_trigger" and order is not None:
            code, msg = _OKX_WOULD_TRIGGER.get(
                (kw["trigger"].kind, order.side), ("51000", "Parameter triggerPx error")
            )
            return self._item_err(code, msg, **ids)
        if reason == "not_found":
            return self._err("51603", "Order does not exist")
        code, msg = _OKX_ERRORS[reason]
        if reason == "bad_client_id" and order is not None and order.algo:
            msg = "Parameter algoClOrdId error"
        return self._item_err(code, msg, **ids)

    def fault_error(self, fault: Fault, req: RecordedRequest) -> VenueError:
        if fault.kind == "insufficient_funds":
            return self.error("insufficient")
        code, msg = str(fault.options["code"]), fault.options["msg"]
        if req.op in _OKX_ORDER_OPS:
            return self._item_err(code, msg)
        return self._err(code, msg, fault.options["status"] or 200)

    def rate_limit_error(self, status: int, body: Any) -> VenueError:
        default = {"code": "50011", "msg": "Too Many Requests", "data": []}
        return VenueError(status, body if body is not None else default)

    def unavailable_error(self, status: int, body: Any) -> VenueError:
        defaults: dict[int, Any] = {
            500: {"code": "50026", "msg": "System error. Try again later", "data": []},
            502: HTML_502,
            503: {
                "code": "50001",
                "msg": "Service temporarily unavailable. Please try again later.",
                "data": [],
            },
            504: HTML_504,
        }
        return VenueError(status, body if body is not None else defaults.get(status, HTML_503))

    # -- account, positions, market data ---------------------------------------------------
    def positions(self, req: RecordedRequest) -> dict[str, Any]:
        rows = []
        for symbol, pos in self.v.positions.items():
            m = self.v.market(symbol)
            if req.params.get("instId") not in (None, m.id) or pos.qty == 0:
                continue
            mark, contracts = self.v.mark(symbol), pos.qty / m.contract_size
            notional = abs(pos.qty) * mark
            rows.append(
                {
                    "instType": "SWAP",
                    "instId": m.id,
                    "mgnMode": "cross",
                    "posId": "1",
                    "posSide": "net",
                    "pos": fmt(contracts),
                    "ccy": "USDT",
                    "posCcy": "",
                    "avgPx": fmt(pos.entry),
                    "markPx": fmt(mark),
                    "last": fmt(mark),
                    "upl": fmt(self.v.unrealized(symbol)),
                    "uplRatio": "0",
                    "lever": str(self.v.leverage),
                    "liqPx": "",
                    "imr": fmt(notional / self.v.leverage),
                    "margin": "",
                    "mgnRatio": "",
                    "mmr": fmt(notional * 0.004),
                    "notionalUsd": fmt(notional),
                    "adl": "1",
                    "realizedPnl": fmt(pos.realized),
                    "cTime": str(now_ms()),
                    "uTime": str(now_ms()),
                }
            )
        return self.ok(rows)

    def balance(self, req: RecordedRequest) -> dict[str, Any]:
        ts = str(now_ms())
        details = []
        for asset in sorted(self.v.balances):
            wallet, locked = self.v.balances[asset], self.v.locked(asset)
            upnl = self.v.unrealized() if asset == "USDT" else 0.0
            details.append(
                {
                    "ccy": asset,
                    "eq": fmt(wallet + upnl),
                    "cashBal": fmt(wallet),
                    "availBal": fmt(wallet - locked),
                    "frozenBal": fmt(locked),
                    "ordFrozen": fmt(locked),
                    "availEq": fmt(wallet - locked + upnl),
                    "upl": fmt(upnl),
                    "uTime": ts,
                }
            )
        return self.ok(
            [{"totalEq": fmt(self.v.balances.get("USDT", 0.0)), "uTime": ts, "details": details}]
        )

    def config(self, req: RecordedRequest) -> dict[str, Any]:
        return self.ok(
            [
                {
                    "uid": "1",
                    "acctLv": "2",
                    "posMode": "net_mode",
                    "autoLoan": False,
                    "greeksType": "PA",
                    "level": "Lv1",
                    "ctIsoMode": "automatic",
                    "mgnIsoMode": "automatic",
                }
            ]
        )

    def set_leverage(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.json or {}
        self.v.leverage = int(float(p.get("lever", self.v.leverage)))
        return self.ok(
            [
                {
                    "lever": str(self.v.leverage),
                    "mgnMode": p.get("mgnMode", "cross"),
                    "instId": p.get("instId", ""),
                    "posSide": p.get("posSide", ""),
                }
            ]
        )

    def currencies(self, req: RecordedRequest) -> dict[str, Any]:
        return self.ok(
            [
                {
                    "ccy": c,
                    "name": c,
                    "chain": f"{c}-{c}",
                    "canDep": True,
                    "canWd": True,
                    "canInternal": True,
                    "minWd": "0.001",
                    "wdTickSz": "8",
                    "minFee": "0",
                    "maxFee": "0",
                }
                for c in ("BTC", "USDT")
            ]
        )

    def candles(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.params
        m = self._market(
            p.get("instId"), "swap" if str(p.get("instId", "")).endswith("-SWAP") else "spot"
        )
        # OKX pages with exclusive bounds: before = newer than, after = older than
        rows = candles(
            self._timeframe_ms(p.get("bar", "1m"), _OKX_TF),
            start=int(p["before"]) + 1 if p.get("before") else None,
            end=int(p["after"]) - 1 if p.get("after") else None,
            limit=int(p.get("limit", 100)),
        )
        out = []
        for i, (t, o, h, lo, c, vol) in enumerate(reversed(rows)):  # newest first
            # swap: vol is contracts and volCcy is base (ccxt reports volCcy); spot: vol is base
            vol_main = vol / m.contract_size if m.type == "swap" else vol
            vol_ccy = vol if m.type == "swap" else vol * c
            out.append(
                [
                    str(t),
                    fmt(o),
                    fmt(h),
                    fmt(lo),
                    fmt(c),
                    fmt(vol_main),
                    fmt(vol_ccy),
                    fmt(vol * c),
                    "0" if i == 0 else "1",
                ]
            )
        return self.ok(out)

    def instruments(self, req: RecordedRequest) -> dict[str, Any]:
        mtype = {"SPOT": "spot", "SWAP": "swap"}.get(req.params.get("instType", ""))
        return self.ok([raw_instrument("okx", m) for m in self.v.markets if m.type == mtype])

    def server_time(self, req: RecordedRequest) -> dict[str, Any]:
        return self.ok([{"ts": str(now_ms())}])
