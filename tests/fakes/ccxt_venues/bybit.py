"""Bybit v5 dialect: routes, auth, error bodies, positions, wallet and market data."""

from __future__ import annotations

import re
from typing import Any

from .bybit_orders import _BybitOrders
from .dialect import HTML_502, HTML_503, HTML_504, Route
from .fixtures import candles, raw_instrument
from .model import (
    API_KEY,
    DEFAULT_PRICE,
    Fault,
    Order,
    Position,
    RecordedRequest,
    VenueError,
    fmt,
    now_ms,
)

_BYBIT_CID = re.compile(r"[A-Za-z0-9_-]{1,36}")
_BYBIT_TF = {
    "1": 60_000,
    "3": 180_000,
    "5": 300_000,
    "15": 900_000,
    "30": 1_800_000,
    "60": 3_600_000,
    "240": 14_400_000,
    "D": 86_400_000,
}
_BYBIT_ERRORS = {  # reason -> (linear code, spot code, message)
    "bad_client_id": (10001, 10001, "params error: orderLinkId is invalid"),
    "duplicate": (110072, 110072, "OrderLinkedID is duplicate"),
    "insufficient": (110007, 170131, "Insufficient balance."),
    "reduce_only": (110017, 110017, "current position is zero, cannot fix reduce-only order qty"),
    "min_amount": (10001, 170136, "Order quantity lower than the minimum."),
    "amount_step": (10001, 170137, "Order volume decimal too long"),
    "price_tick": (10001, 170134, "Order price decimal too long"),
    "min_cost": (110094, 170140, "Order does not meet minimum order value"),
    "bad_symbol": (10001, 170121, "params error: symbol invalid"),
}


_BYBIT_POSITION_STATIC = {
    "positionIdx": 0,
    "riskId": 1,
    "riskLimitValue": "2000000",
    "tradeMode": 0,
    "autoAddMargin": 0,
    "positionStatus": "Normal",
    "liqPrice": "",
    "bustPrice": "",
    "positionBalance": "0",
    "takeProfit": "0",
    "stopLoss": "0",
    "trailingStop": "0",
    "sessionAvgPrice": "",
    "adlRankIndicator": 2,
    "isReduceOnly": False,
    "seq": 1,
}


class _Bybit(_BybitOrders):
    """Bybit v5 unified account: /v5/order/*, positions, wallet balance, klines, instruments."""

    client_id_pattern = _BYBIT_CID
    client_id_unique_forever = True  # orderLinkId may not be reused even after the order closed

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            ("POST", "/v5/order/create"): Route("create_order", self.create),
            ("GET", "/v5/order/realtime"): Route("fetch_open_orders", self.realtime),
            ("GET", "/v5/order/history"): Route("fetch_closed_orders", self.history),
            ("POST", "/v5/order/cancel"): Route("cancel_order", self.cancel),
            ("POST", "/v5/order/amend"): Route("edit_order", self.amend),
            ("GET", "/v5/position/list"): Route("fetch_positions", self.positions),
            ("POST", "/v5/position/set-leverage"): Route("set_leverage", self.set_leverage),
            ("GET", "/v5/account/wallet-balance"): Route("fetch_balance", self.wallet),
            ("GET", "/v5/user/query-api"): Route("load_markets", self.query_api),
            ("GET", "/v5/asset/coin/query-info"): Route("load_markets", self.coins),
            ("GET", "/v5/market/kline"): Route("fetch_ohlcv", self.kline, private=False),
            ("GET", "/v5/market/instruments-info"): Route("load_markets", self.instruments, False),
            ("GET", "/v5/market/time"): Route("fetch_time", self.server_time, private=False),
        }

    def operation(self, req: RecordedRequest, route: Route | None) -> str | None:
        # /v5/order/realtime serves fetch_order (with an id) and fetch_open_orders (without)
        if req.path == "/v5/order/realtime" and (
            req.query.get("orderId") or req.query.get("orderLinkId")
        ):
            return "fetch_order"
        return route.op if route else None

    def check_auth(self, req: RecordedRequest, route: Route) -> VenueError | None:
        if not route.private:
            return None
        h = req.headers
        if h.get("X-BAPI-API-KEY") != API_KEY:
            return self._err(10003, "API key is invalid.")
        payload = (
            h.get("X-BAPI-TIMESTAMP", "")
            + API_KEY
            + h.get("X-BAPI-RECV-WINDOW", "")
            + (req.body if req.method == "POST" else req.raw_query)
        )
        if h.get("X-BAPI-SIGN") != self._hmac(payload).hex():
            return self._err(10004, "error sign! origin_string[...]")
        return None

    def error(self, reason: str, order: Order | None = None, **kw: Any) -> VenueError:
        spot = order is not None and order.market_type == "spot"
        if reason == "would_trigger":
            trig, mark = kw["trigger"], kw["mark"]
            if trig.direction == "above":
                return self._err(
                    110092,
                    f"expect Rising, but trigger_price[{fmt(trig.price)}] <= "
                    f"current[{fmt(mark)}]??LastPrice",
                )
            return self._err(
                110093,
                f"expect Falling, but trigger_price[{fmt(trig.price)}] >= "
                f"current[{fmt(mark)}]??LastPrice",
            )
        if reason in ("not_found", "cancel_not_found"):
            return self._err(170213 if spot else 110001, "Order does not exist.")
        linear, spot_code, msg = _BYBIT_ERRORS[reason]
        if reason == "insufficient" and not spot:
            msg = "ab not enough for new order"
        return self._err(spot_code if spot else linear, msg)

    def fault_error(self, fault: Fault, req: RecordedRequest) -> VenueError:
        if fault.kind == "insufficient_funds":
            return self.error("insufficient", self._stub(req.params))
        return self._err(
            int(fault.options["code"]), fault.options["msg"], fault.options["status"] or 200
        )

    def rate_limit_error(self, status: int, body: Any) -> VenueError:
        default = {
            "retCode": 10006,
            "retMsg": "Too many visits!",
            "result": {},
            "retExtInfo": {},
            "time": now_ms(),
        }
        error = VenueError(status, body if body is not None else default)
        error.headers.update(
            {
                "X-Bapi-Limit-Status": "0",
                "X-Bapi-Limit": "10",
                "X-Bapi-Limit-Reset-Timestamp": str(now_ms() + 1000),
            }
        )
        return error

    def unavailable_error(self, status: int, body: Any) -> VenueError:
        defaults = {502: HTML_502, 503: HTML_503, 504: HTML_504}
        return VenueError(status, body if body is not None else defaults.get(status, HTML_503))

    # -- account, positions, market data ---------------------------------------------------
    def positions(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.params
        rows = [
            self._position_row(symbol, pos)
            for symbol, pos in self.v.positions.items()
            if pos.qty != 0 and p.get("symbol") in (None, self.v.market(symbol).id)
        ]
        return self.ok(
            {"category": p.get("category", "linear"), "list": rows, "nextPageCursor": ""}
        )

    def _position_row(self, symbol: str, pos: Position) -> dict[str, Any]:
        mark, size = self.v.mark(symbol), abs(pos.qty)
        return _BYBIT_POSITION_STATIC | {
            "symbol": self.v.market(symbol).id,
            "side": "Buy" if pos.qty > 0 else "Sell",
            "size": fmt(size),
            "avgPrice": fmt(pos.entry),
            "positionValue": fmt(size * pos.entry),
            "leverage": str(self.v.leverage),
            "markPrice": fmt(mark),
            "positionIM": fmt(size * mark / self.v.leverage),
            "positionMM": fmt(size * mark * 0.005),
            "unrealisedPnl": fmt(self.v.unrealized(symbol)),
            "curRealisedPnl": fmt(pos.realized),
            "cumRealisedPnl": fmt(pos.realized),
            "createdTime": str(now_ms()),
            "updatedTime": str(now_ms()),
        }

    def wallet(self, req: RecordedRequest) -> dict[str, Any]:
        coins = []
        for asset in sorted(self.v.balances):
            wallet = self.v.balances[asset]
            upnl = self.v.unrealized() if asset == "USDT" else 0.0
            coins.append(
                {
                    "coin": asset,
                    "equity": fmt(wallet + upnl),
                    "walletBalance": fmt(wallet),
                    "locked": "0",
                    "totalOrderIM": fmt(
                        self.v.locked(asset)
                        - (self.v.position_margin() if asset == "USDT" else 0.0)
                    ),
                    "totalPositionIM": fmt(self.v.position_margin() if asset == "USDT" else 0.0),
                    "unrealisedPnl": fmt(upnl),
                    "availableToWithdraw": fmt(self.v.free(asset)),
                    "usdValue": fmt(wallet * (1 if asset == "USDT" else DEFAULT_PRICE)),
                }
            )
        usdt = self.v.balances.get("USDT", 0.0)
        return self.ok(
            {
                "list": [
                    {
                        "accountType": "UNIFIED",
                        "totalEquity": fmt(usdt),
                        "totalWalletBalance": fmt(usdt),
                        "totalAvailableBalance": fmt(self.v.free("USDT")),
                        "coin": coins,
                    }
                ]
            }
        )

    def set_leverage(self, req: RecordedRequest) -> dict[str, Any]:
        lev = int(float((req.json or {}).get("buyLeverage", self.v.leverage)))
        if lev == self.v.leverage:
            raise self._err(110043, "leverage not modified")
        self.v.leverage = lev
        return self.ok({})

    def query_api(self, req: RecordedRequest) -> dict[str, Any]:
        return self.ok(
            {
                "id": "1",
                "apiKey": API_KEY,
                "readOnly": 0,
                "unified": 1,
                "uta": 1,
                "permissions": {"ContractTrade": ["Order", "Position"], "Spot": ["SpotTrade"]},
            }
        )

    def coins(self, req: RecordedRequest) -> dict[str, Any]:
        return self.ok(
            {
                "rows": [
                    {"name": c, "coin": c, "remainAmount": "1000000", "chains": []}
                    for c in ("BTC", "USDT")
                ]
            }
        )

    def kline(self, req: RecordedRequest) -> dict[str, Any]:
        p = req.params
        step = self._timeframe_ms(p.get("interval", "1"), _BYBIT_TF)
        rows = candles(
            step,
            start=int(p["start"]) if p.get("start") else None,
            end=int(p["end"]) if p.get("end") else None,
            limit=int(p.get("limit", 200)),
        )
        out = [
            [str(t), fmt(o), fmt(h), fmt(lo), fmt(c), fmt(v), fmt(v * c)]
            for t, o, h, lo, c, v in reversed(rows)
        ]  # the venue answers newest first
        return self.ok({"category": p.get("category"), "symbol": p.get("symbol"), "list": out})

    def instruments(self, req: RecordedRequest) -> dict[str, Any]:
        category = req.params.get("category")
        mtype = {"spot": "spot", "linear": "swap"}.get(category or "")
        rows = [raw_instrument("bybit", m) for m in self.v.markets if m.type == mtype]
        return self.ok({"category": category, "list": rows, "nextPageCursor": ""})

    def server_time(self, req: RecordedRequest) -> dict[str, Any]:
        return self.ok({"timeSecond": str(now_ms() // 1000), "timeNano": str(now_ms() * 10**6)})
