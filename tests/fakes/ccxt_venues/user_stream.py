"""The venue's private push stream, as Binance USDⓈ-M serves it: a listen key from
POST /fapi/v1/listenKey, then a websocket at /private/ws?listenKey=KEY that pushes
ORDER_TRADE_UPDATE (regular orders), ALGO_UPDATE (stop and take-profit orders) and ACCOUNT_UPDATE
(positions) as they change. Like the venue, it says nothing to a client that is not connected:
what happens meanwhile is only learnt by asking over REST.

Test controls: `duplicate` (every message sent twice), `reorder` (each batch sent newest first),
`holding` + `release()` (keep the pushes back, then send them as one batch: with `reorder`, a
late update arrives after a newer one), `drop()` (close every socket: the client must come back),
`refuse` (refuse that many connections), `sent` (every message pushed), `connections`."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .binance_orders import _BINANCE_ALGO_STATUS as _ALGO_STATUS
from .binance_orders import _BINANCE_STATUS as _STATUS
from .model import CANCELED, EXPIRED, OPEN, Order, Position, fmt, now_ms

if TYPE_CHECKING:
    from .venue import FakeVenue

_EXECUTION = {CANCELED: "CANCELED", EXPIRED: "EXPIRED"}


class UserStream:
    def __init__(self, venue: FakeVenue) -> None:
        self.v = venue
        self.keys: set[str] = set()
        self.sockets: list[web.WebSocketResponse] = []
        self.duplicate = False
        self.reorder = False
        self.refuse = 0
        self.holding = False
        self.closing = False
        self._held: list[dict[str, Any]] = []
        self.connections = 0
        self.sent: list[dict[str, Any]] = []
        self._told_orders: dict[str, tuple[Any, ...]] = {}
        self._told_positions: dict[str, tuple[float, float]] = {}
        self._trade_ids = itertools.count(1)
        self._lock = asyncio.Lock()  # FIFO: batches go out in the order they were made

    # --- REST: the listen key --------------------------------------------------------------

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
        if self.refuse > 0 or self.closing:
            self.refuse = max(self.refuse - 1, 0)
            return web.Response(status=503, text="Service Unavailable")
        if request.query.get("listenKey") not in self.keys:
            return web.json_response({"code": -1125, "msg": "Invalid listenKey."}, status=400)
        ws = web.WebSocketResponse(timeout=1.0)  # answers pings; a close waits 1 s for the reply
        await ws.prepare(request)
        self.connections += 1
        self.sockets.append(ws)
        try:
            async for _ in ws:  # a user stream takes no requests
                pass
        finally:
            self.sockets.remove(ws)
        return ws

    async def drop(self) -> None:
        for ws in list(self.sockets):
            await ws.close(code=1001)  # going away

    async def close(self) -> None:
        self.closing = True
        await self.drop()

    # --- pushes ----------------------------------------------------------------------------

    def publish(self) -> None:
        """Push what changed since the last push: orders first, then positions, as the venue
        does (the fill, then the account update it caused)."""
        batch: list[dict[str, Any]] = []
        for order in list(self.v.orders.values()):
            if order.market_type != "swap":
                continue  # the spot user stream is not faked
            state = (order.status, order.filled, order.amount, order.price, order.trigger_price)
            before = self._told_orders.get(order.id)
            if before == state:
                continue
            self._told_orders[order.id] = state
            batch.append(self._algo(order) if order.algo else self._order(order, before))
        for symbol, position in self.v.positions.items():
            state = (position.qty, position.entry)
            if self._told_positions.get(symbol, (0.0, 0.0)) != state:
                self._told_positions[symbol] = state
                batch.append(self._account(symbol, position))
        if self.holding:
            self._held.extend(batch)
        elif batch and self.sockets:
            asyncio.get_running_loop().create_task(self._send(batch))

    async def release(self) -> None:
        """Stop holding; what was held goes out now, as one batch."""
        self.holding, batch, self._held = False, self._held, []
        await self._send(batch)

    async def _send(self, batch: list[dict[str, Any]]) -> None:
        if self.reorder:
            batch = batch[::-1]
        if self.duplicate:
            batch = [m for m in batch for _ in (0, 1)]
        async with self._lock:
            for message in batch:
                self.sent.append(message)
                text = json.dumps(message)
                for ws in list(self.sockets):
                    if not ws.closed:
                        await ws.send_str(text)

    def _order(self, o: Order, before: tuple[Any, ...] | None) -> dict[str, Any]:
        filled_before = before[1] if before is not None else 0.0
        last = o.filled - filled_before
        if before is None and not last:
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
                "t": next(self._trade_ids) if last > 0 else 0,
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
        spawned = self.v.orders.get(o.spawned_id or "")
        now = now_ms()
        return {
            "e": "ALGO_UPDATE",
            "T": now,
            "E": now,
            "o": {
                "caid": o.client_id,
                "aid": int(o.id),
                "at": "CONDITIONAL",
                "o": o.venue_type,
                "s": o.market_id,
                "S": o.side.upper(),
                "ps": "BOTH",
                "f": o.extra.get("timeInForce", "GTC"),
                "q": fmt(o.amount),
                "X": _ALGO_STATUS[o.status],
                "ai": spawned.id if spawned else "",
                "ap": fmt(spawned.average) if spawned else "0",
                "aq": fmt(spawned.filled) if spawned else "0",
                "act": "0",
                "tp": fmt(o.trigger_price),
                "p": fmt(o.price),
                "V": "EXPIRE_MAKER",
                "wt": "CONTRACT_PRICE",
                "pm": "NONE",
                "cp": o.close_position,
                "pP": False,
                "R": o.reduce_only,
                "tt": o.updated_at if o.triggered else 0,
                "gtd": 0,
            },
        }

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
