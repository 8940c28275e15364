"""The venue's private push stream: what Binance USDⓈ-M and Bybit v5 push over a websocket as
orders, trades and positions change. Like a venue, it says nothing to a client that is not
connected: what happens meanwhile is only learnt by asking over REST.

- Binance: a listen key from POST /fapi/v1/listenKey, then /private/ws?listenKey=KEY, which
  pushes ORDER_TRADE_UPDATE (regular orders), ALGO_UPDATE (stops and take-profits, which place a
  market order of their own when they fire) and ACCOUNT_UPDATE (positions).
- Bybit: /v5/private, where the client signs an `auth` message ("GET/realtime" + expires), then
  subscribes to topics: `order`, `execution` and `position` are pushed; `ping` gets a pong.

Test controls: `duplicate` (every message sent twice), `reorder` (each batch sent newest first),
`holding` + `release()` (keep the pushes back, then send them as one batch: with `reorder`, a
late update arrives after a newer one), `drop()` (close every socket: the client must come back),
`refuse` (refuse that many connections), `sent` (every message pushed), `connections`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .binance_orders import _BINANCE_STATUS as _STATUS
from .model import API_KEY, API_SECRET, CANCELED, EXPIRED, OPEN, Order, Position, fmt, now_ms

if TYPE_CHECKING:
    from .venue import FakeVenue

_EXECUTION = {CANCELED: "CANCELED", EXPIRED: "EXPIRED"}
_ALGO_KEYS = {  # /fapi/v1/algoOrder's names → ALGO_UPDATE's
    "clientAlgoId": "caid",
    "algoId": "aid",
    "algoType": "at",
    "orderType": "o",
    "symbol": "s",
    "side": "S",
    "positionSide": "ps",
    "timeInForce": "f",
    "quantity": "q",
    "algoStatus": "X",
    "actualOrderId": "ai",
    "actualPrice": "ap",
    "triggerPrice": "tp",
    "price": "p",
    "selfTradePreventionMode": "V",
    "workingType": "wt",
    "priceMatch": "pm",
    "closePosition": "cp",
    "priceProtect": "pP",
    "reduceOnly": "R",
    "triggerTime": "tt",
    "goodTillDate": "gtd",
}
PATHS = ("/private/ws", "/v5/private")  # Binance USDⓈ-M, Bybit v5


@dataclass
class _Socket:
    ws: web.WebSocketResponse
    authenticated: bool = False
    topics: set[str] = field(default_factory=set)


class UserStream:
    def __init__(self, venue: FakeVenue) -> None:
        self.v = venue
        self.speaker: _Binance | _Bybit | None = (
            _Binance(venue)
            if venue.venue == "binance"
            else _Bybit(venue)
            if venue.venue == "bybit"
            else None
        )
        self.keys: set[str] = set()
        self.sockets: list[_Socket] = []
        self.duplicate = False
        self.reorder = False
        self.refuse = 0
        self.holding = False
        self.closing = False
        self._held: list[tuple[str, dict[str, Any]]] = []
        self.connections = 0
        self.sent: list[dict[str, Any]] = []
        self._told_orders: dict[str, tuple[Any, ...]] = {}
        self._told_positions: dict[str, tuple[float, float]] = {}
        self._lock = asyncio.Lock()  # FIFO: batches go out in the order they were made

    # --- REST: Binance's listen key --------------------------------------------------------

    def listen_key(self, method: str, key: str | None) -> dict[str, Any]:
        if method == "POST":
            key = f"fake{len(self.keys) + 1:04d}" + "x" * 56
            self.keys.add(key)
            return {"listenKey": key}
        if method == "DELETE" and key:
            self.keys.discard(key)
        return {}

    # --- the websocket ---------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.refuse > 0 or self.closing or self.speaker is None:
            self.refuse = max(self.refuse - 1, 0)
            return web.Response(status=503, text="Service Unavailable")
        if self.v.venue == "binance" and request.query.get("listenKey") not in self.keys:
            return web.json_response({"code": -1125, "msg": "Invalid listenKey."}, status=400)
        ws = web.WebSocketResponse(timeout=1.0)  # answers pings; a close waits 1 s for the reply
        await ws.prepare(request)
        self.connections += 1
        socket = _Socket(ws, authenticated=self.v.venue == "binance")
        self.sockets.append(socket)
        try:
            async for message in ws:
                if message.type == web.WSMsgType.TEXT and isinstance(self.speaker, _Bybit):
                    for reply in self.speaker.answer(socket, json.loads(message.data)):
                        await ws.send_str(json.dumps(reply))
        finally:
            self.sockets.remove(socket)
        return ws

    async def drop(self) -> None:
        for socket in list(self.sockets):
            await socket.ws.close(code=1001)  # going away

    async def close(self) -> None:
        self.closing = True
        await self.drop()

    # --- pushes ----------------------------------------------------------------------------

    def publish(self) -> None:
        """Push what changed since the last push: orders first, then positions, as the venues
        do (the fill, then the account update it caused)."""
        if self.speaker is None:
            return
        batch: list[tuple[str, dict[str, Any]]] = []
        for order in list(self.v.orders.values()):
            if order.market_type != "swap":
                continue  # spot user streams are not faked
            state = (order.status, order.filled, order.amount, order.price, order.trigger_price)
            before = self._told_orders.get(order.id)
            if before == state:
                continue
            self._told_orders[order.id] = state
            batch += self.speaker.order(order, before[1] if before is not None else None)
        for symbol, position in self.v.positions.items():
            state = (position.qty, position.entry)
            if self._told_positions.get(symbol, (0.0, 0.0)) != state:
                self._told_positions[symbol] = state
                batch.append(self.speaker.position(symbol, position))
        if self.holding:
            self._held.extend(batch)
        elif batch and self.sockets:
            asyncio.get_running_loop().create_task(self._send(batch))

    async def release(self) -> None:
        """Stop holding; what was held goes out now, as one batch."""
        self.holding, batch, self._held = False, self._held, []
        await self._send(batch)

    async def _send(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        if self.reorder:
            batch = batch[::-1]
        if self.duplicate:
            batch = [m for m in batch for _ in (0, 1)]
        async with self._lock:
            for topic, message in batch:
                self.sent.append(message)
                text = json.dumps(message)
                for socket in list(self.sockets):
                    wanted = socket.authenticated and (
                        not isinstance(self.speaker, _Bybit) or topic in socket.topics
                    )
                    if wanted and not socket.ws.closed:
                        await socket.ws.send_str(text)


class _Binance:
    def __init__(self, venue: FakeVenue) -> None:
        self.v = venue

    def order(self, o: Order, filled_before: float | None) -> list[tuple[str, dict[str, Any]]]:
        return [("order", self._algo(o) if o.algo else self._order(o, filled_before))]

    def position(self, symbol: str, p: Position) -> tuple[str, dict[str, Any]]:
        return ("position", self._account(symbol, p))

    def _order(self, o: Order, filled_before: float | None) -> dict[str, Any]:
        last = o.filled - (filled_before or 0.0)
        if filled_before is None and not last:
            execution = "NEW"
        elif last > 0:
            execution = "TRADE"
        elif o.status in _EXECUTION:
            execution = _EXECUTION[o.status]
        else:
            execution = "AMENDMENT"
        status = _STATUS[o.status]
        if o.status == OPEN and o.filled:
            status = "PARTIALLY_FILLED"
        now = now_ms()
        return {
            "e": "ORDER_TRADE_UPDATE",
            "E": now,
            "T": now,
            "o": {
                "s": o.market_id,
                "c": o.client_id,
                "S": o.side.upper(),
                "o": o.venue_type or o.type.upper(),
                "f": o.extra.get("timeInForce", "GTC"),
                "q": fmt(o.amount),
                "p": fmt(o.price),
                "ap": fmt(o.average),
                "sp": "0",
                "x": execution,
                "X": status,
                "i": int(o.id),
                "l": fmt(last if last > 0 else 0),
                "z": fmt(o.filled),
                "L": fmt(o.average if last > 0 else 0),
                "n": "0",
                "N": "USDT",
                "T": o.updated_at,
                "t": next(_TRADE_IDS) if last > 0 else 0,
                "b": "0",
                "a": "0",
                "m": False,
                "R": o.reduce_only,
                "wt": "CONTRACT_PRICE",
                "ot": o.venue_type or o.type.upper(),
                "ps": "BOTH",
                "cp": o.close_position,
                "rp": "0",
                "pP": False,
                "si": 0,
                "ss": 0,
                "V": "EXPIRE_MAKER",
                "pm": "NONE",
                "gtd": 0,
            },
        }

    def _algo(self, o: Order) -> dict[str, Any]:
        """The REST rendering of the algo order under ALGO_UPDATE's short keys."""
        rest = self.v.api.render_algo(o)
        spawned = self.v.orders.get(o.spawned_id or "")
        now = now_ms()
        body = {short: rest[name] for name, short in _ALGO_KEYS.items()}
        body |= {"aq": fmt(spawned.filled) if spawned else "0", "act": "0"}
        return {"e": "ALGO_UPDATE", "T": now, "E": now, "o": body}

    def _account(self, symbol: str, p: Position) -> dict[str, Any]:
        market = self.v.market(symbol)
        now = now_ms()
        return {
            "e": "ACCOUNT_UPDATE",
            "E": now,
            "T": now,
            "a": {
                "m": "ORDER",
                "B": [{"a": "USDT", "wb": fmt(self.v.balances.get("USDT", 0.0)), "bc": "0"}],
                "P": [
                    {
                        "s": market.id,
                        "pa": fmt(p.qty),
                        "ep": fmt(p.entry if p.qty else 0),
                        "bep": fmt(p.entry if p.qty else 0),
                        "cr": fmt(p.realized),
                        "up": fmt(self.v.unrealized(symbol)),
                        "mt": "cross",
                        "iw": "0",
                        "ps": "BOTH",
                        "ma": "USDT",
                    }
                ],
            },
        }


class _Bybit:
    def __init__(self, venue: FakeVenue) -> None:
        self.v = venue

    def answer(self, socket: _Socket, request: dict[str, Any]) -> list[dict[str, Any]]:
        op, req_id = request.get("op"), request.get("req_id", "")
        if op == "ping":
            return [{"op": "pong", "req_id": req_id, "success": True, "ret_msg": "pong"}]
        if op == "auth":
            key, expires, signature = (list(request.get("args") or []) + ["", "", ""])[:3]
            wanted = hmac.new(
                API_SECRET.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256
            ).hexdigest()
            socket.authenticated = key == API_KEY and signature == wanted
            if not socket.authenticated:
                return [{"success": False, "ret_msg": "Params Error", "op": "auth"}]
            return [{"success": True, "ret_msg": "", "op": "auth", "conn_id": "fake"}]
        if op == "subscribe":
            if not socket.authenticated:
                return [{"success": False, "ret_msg": "Request not authorized", "op": op}]
            socket.topics.update(str(t) for t in request.get("args") or [])
            return [{"success": True, "ret_msg": "", "op": "subscribe", "req_id": req_id}]
        return [{"success": False, "ret_msg": f"unknown op {op!r}", "op": op}]

    def order(self, o: Order, filled_before: float | None) -> list[tuple[str, dict[str, Any]]]:
        now = now_ms()
        row = self.v.api.render(o) | {"category": "linear"}
        out = [("order", {"id": f"o{now}", "topic": "order", "creationTime": now, "data": [row]})]
        last = o.filled - (filled_before or 0.0)
        if last > 0:
            execution = {
                "category": "linear",
                "symbol": o.market_id,
                "orderId": o.id,
                "orderLinkId": o.client_id,
                "side": o.side.capitalize(),
                "orderPrice": fmt(o.price),
                "orderQty": fmt(o.amount),
                "leavesQty": fmt(o.amount - o.filled),
                "orderType": o.type.capitalize(),
                "stopOrderType": row.get("stopOrderType", ""),
                "execFee": "0",
                "execId": f"e{next(_TRADE_IDS)}",
                "execPrice": fmt(o.average),
                "execQty": fmt(last),
                "execType": "Trade",
                "execValue": fmt(last * (o.average or 0)),
                "execTime": str(now),
                "isMaker": False,
                "feeRate": "0",
                "markPrice": fmt(self.v.mark(o.symbol)),
                "closedSize": "",
                "seq": now,
            }
            data = {"id": f"e{now}", "topic": "execution", "creationTime": now, "data": [execution]}
            out.insert(0, ("execution", data))  # Bybit tells the execution first
        return out

    def position(self, symbol: str, p: Position) -> tuple[str, dict[str, Any]]:
        row = self.v.api._position_row(symbol, p) | {"category": "linear", "seq": now_ms()}
        row["entryPrice"] = row["avgPrice"]
        if not p.qty:
            row |= {"side": "", "size": "0", "avgPrice": "0", "entryPrice": "0"}
        now = now_ms()
        return (
            "position",
            {"id": f"p{now}", "topic": "position", "creationTime": now, "data": [row]},
        )


_TRADE_IDS = itertools.count(1)
