"""Binance dialect: routes, auth, error bodies, account, positions and market data."""

from __future__ import annotations

import re
from typing import Any

from .binance_orders import _BinanceOrders
from .dialect import HTML_502, HTML_503, HTML_504, Route
from .fixtures import candles, raw_instrument
from .model import API_KEY, Fault, Order, RecordedRequest, VenueError, fmt, now_ms

_BINANCE_CID = re.compile(r"[\.A-Z\:/a-z0-9_-]{1,36}")

_BINANCE_TF = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}

_BINANCE_ERRORS = {
    "bad_client_id": (
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal "
        "range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
    ),
    "reduce_only": (-2022, "ReduceOnly Order is rejected."),
    "min_amount": (-1013, "Filter failure: LOT_SIZE"),
    "amount_step": (-1013, "Filter failure: LOT_SIZE"),
    "price_tick": (-1013, "Filter failure: PRICE_FILTER"),
    "bad_symbol": (-1121, "Invalid symbol."),
}


class _Binance(_BinanceOrders):
    """Spot /api/v3 and USDT-M futures /fapi (regular orders plus the /fapi/v1/algoOrder API)."""

    client_id_pattern = _BINANCE_CID

    def routes(self) -> dict[tuple[str, str], Route]:
        r = {
            ("POST", "/api/v3/order"): Route("create_order", self.spot_create),
            ("GET", "/api/v3/order"): Route("fetch_order", self.get_order),
            ("DELETE", "/api/v3/order"): Route("cancel_order", self.cancel_order),
            ("GET", "/api/v3/openOrders"): Route("fetch_open_orders", self.open_orders),
            ("POST", "/api/v3/order/cancelReplace"): Route("edit_order", self.cancel_replace),
            ("GET", "/api/v3/account"): Route("fetch_balance", self.spot_account),
            ("POST", "/fapi/v1/order"): Route("create_order", self.fut_create),
            ("GET", "/fapi/v1/order"): Route("fetch_order", self.get_order),
            ("DELETE", "/fapi/v1/order"): Route("cancel_order", self.cancel_order),
            ("PUT", "/fapi/v1/order"): Route("edit_order", self.fut_amend),
            ("GET", "/fapi/v1/openOrders"): Route("fetch_open_orders", self.open_orders),
            ("POST", "/fapi/v1/algoOrder"): Route("create_order", self.algo_create),
            ("GET", "/fapi/v1/algoOrder"): Route("fetch_order", self.algo_get),
            ("DELETE", "/fapi/v1/algoOrder"): Route("cancel_order", self.algo_cancel),
            ("GET", "/fapi/v1/openAlgoOrders"): Route("fetch_open_orders", self.algo_open),
            ("GET", "/fapi/v1/leverageBracket"): Route("fetch_positions", self.brackets),
            ("GET", "/fapi/v2/positionRisk"): Route("fetch_positions", self.position_risk),
            ("GET", "/fapi/v3/positionRisk"): Route("fetch_positions", self.position_risk),
            ("GET", "/fapi/v2/account"): Route("fetch_balance", self.fut_account),
            ("GET", "/fapi/v3/account"): Route("fetch_balance", self.fut_account),
            ("POST", "/fapi/v1/leverage"): Route("set_leverage", self.set_leverage),
            ("GET", "/fapi/v1/positionSide/dual"): Route("fetch_position_mode", self.dual),
            ("GET", "/sapi/v1/capital/config/getall"): Route("load_markets", self.currencies),
        }
        for method in ("POST", "PUT", "DELETE"):  # the user data stream's key: API key, unsigned
            r[(method, "/fapi/v1/listenKey")] = Route("listen_key", self.listen_key, False)
        for prefix in ("/api/v3", "/fapi/v1"):
            r[("GET", f"{prefix}/klines")] = Route("fetch_ohlcv", self.klines, private=False)
            r[("GET", f"{prefix}/exchangeInfo")] = Route("load_markets", self.exchange_info, False)
            r[("GET", f"{prefix}/time")] = Route("fetch_time", self.server_time, private=False)
        r[("GET", "/dapi/v1/exchangeInfo")] = Route("load_markets", self.exchange_info, False)
        # load_markets with keys also asks for margin pairs; the fake lists none
        for path in ("/sapi/v1/margin/allPairs", "/sapi/v1/margin/isolated/allPairs"):
            r[("GET", path)] = Route("load_markets", lambda req: [])
        return r

    # -- auth and errors -------------------------------------------------------------------
    def check_auth(self, req: RecordedRequest, route: Route) -> VenueError | None:
        if not route.private:
            return None
        if req.headers.get("X-MBX-APIKEY") != API_KEY:
            return self._err(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        signed = req.body if req.method in ("POST", "PUT") and req.body else req.raw_query
        payload, _, signature = signed.rpartition("&signature=")
        if not signature:
            return self._err(-1102, "Mandatory parameter 'signature' was not sent.")
        if signature != self._hmac(payload).hex():
            return self._err(-1022, "Signature for this request is not valid.")
        return None

    def error(self, reason: str, order: Order | None = None, **kw: Any) -> VenueError:
        fut = order is not None and order.market_type == "swap"
        if reason == "duplicate":
            if fut:
                return self._err(-4116, "ClientOrderId is duplicated.")
            return self._err(-2010, "Duplicate order sent.")
        if reason == "insufficient":
            if fut:
                return self._err(-2019, "Margin is insufficient.")
            return self._err(-2010, "Account has insufficient balance for requested action.")
        if reason == "min_cost":
            if fut:
                return self._err(
                    -4164,
                    "Order's notional must be no smaller than 5 (unless you choose reduce only).",
                )
            return self._err(-1013, "Filter failure: NOTIONAL")
        if reason == "would_trigger":
            if fut:
                return self._err(-2021, "Order would immediately trigger.")
            return self._err(-2010, "Stop price would trigger immediately.")
        code, msg = _BINANCE_ERRORS[reason]
        return self._err(code, msg)

    def fault_error(self, fault: Fault, req: RecordedRequest) -> VenueError:
        if fault.kind == "insufficient_funds":
            fake = Order("", "", "", self._mtype(req), "", "", 0)
            return self.error("insufficient", fake)
        status = fault.options["status"] or 400
        return self._err(int(fault.options["code"]), fault.options["msg"], status)

    def rate_limit_error(self, status: int, body: Any) -> VenueError:
        default = {
            "code": -1003,
            "msg": "Too many requests; current limit of IP(127.0.0.1) is "
            "6000 requests per minute. Please use the websocket "
            "for live updates to avoid polling the API.",
        }
        return VenueError(status, body if body is not None else default)

    def unavailable_error(self, status: int, body: Any) -> VenueError:
        defaults: dict[int, Any] = {
            500: {
                "code": -1001,
                "msg": "Internal error; unable to process your request. Please try again.",
            },
            502: HTML_502,
            503: {
                "code": -1008,
                "msg": "Server is currently overloaded with other requests. "
                "Please try again in a few minutes.",
            },
            504: HTML_504,
        }
        return VenueError(status, body if body is not None else defaults.get(status, HTML_503))

    def listen_key(self, req: RecordedRequest) -> dict[str, Any]:
        if req.headers.get("X-MBX-APIKEY") != API_KEY:
            raise self._err(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        key = req.form.get("listenKey") or req.query.get("listenKey")
        return self.v.stream.listen_key(req.method, key)

    # -- account, positions, market data ---------------------------------------------------
    def spot_account(self, req: RecordedRequest) -> dict[str, Any]:
        balances = [
            {"asset": a, "free": fmt(self.v.free(a)), "locked": fmt(self.v.locked(a))}
            for a in sorted(self.v.balances)
        ]
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "accountType": "SPOT",
            "updateTime": now_ms(),
            "balances": balances,
            "permissions": ["SPOT"],
        }

    def fut_account(self, req: RecordedRequest) -> dict[str, Any]:
        wallet, upnl = self.v.balances.get("USDT", 0.0), self.v.unrealized()
        im = self.v.locked("USDT")
        asset = {
            "asset": "USDT",
            "walletBalance": fmt(wallet),
            "unrealizedProfit": fmt(upnl),
            "marginBalance": fmt(wallet + upnl),
            "maintMargin": "0",
            "initialMargin": fmt(im),
            "positionInitialMargin": fmt(self.v.position_margin()),
            "openOrderInitialMargin": fmt(im - self.v.position_margin()),
            "crossWalletBalance": fmt(wallet),
            "crossUnPnl": fmt(upnl),
            "availableBalance": fmt(wallet + upnl - im),
            "maxWithdrawAmount": fmt(wallet - im),
            "updateTime": now_ms(),
        }
        return {
            "totalWalletBalance": fmt(wallet),
            "totalUnrealizedProfit": fmt(upnl),
            "totalMarginBalance": fmt(wallet + upnl),
            "availableBalance": fmt(wallet + upnl - im),
            "maxWithdrawAmount": fmt(wallet - im),
            "assets": [asset],
            "positions": [],
        }

    def brackets(self, req: RecordedRequest) -> list[dict[str, Any]]:
        return [
            {
                "symbol": m.id,
                "notionalCoef": 1.0,
                "brackets": [
                    {
                        "bracket": 1,
                        "initialLeverage": 125,
                        "notionalCap": 50_000,
                        "notionalFloor": 0,
                        "maintMarginRatio": 0.004,
                        "cum": 0.0,
                    },
                    {
                        "bracket": 2,
                        "initialLeverage": 100,
                        "notionalCap": 600_000,
                        "notionalFloor": 50_000,
                        "maintMarginRatio": 0.005,
                        "cum": 50.0,
                    },
                ],
            }
            for m in self.v.markets
            if m.type == "swap"
        ]

    def position_risk(self, req: RecordedRequest) -> list[dict[str, Any]]:
        out = []
        for symbol, pos in self.v.positions.items():
            m = self.v.market(symbol)
            if pos.qty == 0 or req.params.get("symbol") not in (None, m.id):
                continue
            mark = self.v.mark(symbol)
            notional = pos.qty * mark
            out.append(
                {
                    "symbol": m.id,
                    "positionSide": "BOTH",
                    "positionAmt": fmt(pos.qty),
                    "entryPrice": fmt(pos.entry),
                    "breakEvenPrice": fmt(pos.entry),
                    "markPrice": fmt(mark),
                    "unRealizedProfit": fmt(self.v.unrealized(symbol)),
                    "liquidationPrice": "0",
                    "isolatedMargin": "0",
                    "notional": fmt(notional),
                    "marginAsset": "USDT",
                    "isolatedWallet": "0",
                    "initialMargin": fmt(abs(notional) / self.v.leverage),
                    "maintMargin": fmt(abs(notional) * 0.004),
                    "positionInitialMargin": fmt(abs(notional) / self.v.leverage),
                    "openOrderInitialMargin": "0",
                    "adl": 1,
                    "bidNotional": "0",
                    "askNotional": "0",
                    "leverage": str(self.v.leverage),
                    "marginType": "cross",
                    "updateTime": now_ms(),
                }
            )
        return out

    def set_leverage(self, req: RecordedRequest) -> dict[str, Any]:
        self.v.leverage = int(req.params.get("leverage", self.v.leverage))
        return {
            "leverage": self.v.leverage,
            "maxNotionalValue": "1000000",
            "symbol": req.params.get("symbol"),
        }

    def dual(self, req: RecordedRequest) -> dict[str, Any]:
        return {"dualSidePosition": False}  # the fake models one-way mode only

    def klines(self, req: RecordedRequest) -> list[list[Any]]:
        p = req.params
        rows = candles(
            self._timeframe_ms(p.get("interval", "1m"), _BINANCE_TF),
            start=int(p["startTime"]) if p.get("startTime") else None,
            end=int(p["endTime"]) if p.get("endTime") else None,
            limit=int(p.get("limit", 500)),
        )
        step = self._timeframe_ms(p.get("interval", "1m"), _BINANCE_TF)
        return [
            [
                t,
                fmt(o),
                fmt(h),
                fmt(lo),
                fmt(c),
                fmt(v),
                t + step - 1,
                fmt(v * c),
                100,
                fmt(v / 2),
                fmt(v * c / 2),
                "0",
            ]
            for t, o, h, lo, c, v in rows
        ]

    def exchange_info(self, req: RecordedRequest) -> dict[str, Any]:
        mtype = {"/api": "spot", "/fap": "swap"}.get(req.path[:4])
        symbols = [raw_instrument("binance", m) for m in self.v.markets if m.type == mtype]
        return {
            "timezone": "UTC",
            "serverTime": now_ms(),
            "rateLimits": [],
            "exchangeFilters": [],
            "assets": [],
            "symbols": symbols,
        }

    def server_time(self, req: RecordedRequest) -> dict[str, Any]:
        return {"serverTime": now_ms()}

    def currencies(self, req: RecordedRequest) -> list[dict[str, Any]]:
        return [
            {
                "coin": c,
                "name": c,
                "depositAllEnable": True,
                "withdrawAllEnable": True,
                "free": "0",
                "locked": "0",
                "trading": True,
                "networkList": [],
            }
            for c in ("BTC", "USDT")
        ]
