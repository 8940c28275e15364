"""FakeVenue: the loopback aiohttp app, test controls, fault injection and request log."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from webhook_app.web.app import serve_on_loopback

from .binance import _Binance
from .bybit import _Bybit
from .dialect import Route, _Dialect
from .engine import OrderEngine
from .fixtures import market_fixture
from .model import (
    _FAULT_OPTIONS,
    DEFAULT_PRICE,
    VENUES,
    Fault,
    Market,
    Order,
    Position,
    RecordedRequest,
    VenueError,
)
from .okx import _Okx
from .user_stream import PATHS, UserStream

_DIALECTS: dict[str, type[_Dialect]] = {"binance": _Binance, "bybit": _Bybit, "okx": _Okx}


class FakeVenue(OrderEngine):
    """One aiohttp app on 127.0.0.1 that serves as Binance, Bybit or OKX (spot + USDT perps).

    Control it with set_price / set_position / inject; read requests, orders,
    positions, balances, created_orders, faults and inside_retry_after.
    """

    def __init__(
        self,
        venue: str,
        *,
        markets: list[dict[str, Any]] | None = None,
        price: float = DEFAULT_PRICE,
        balances: dict[str, float] | None = None,
        leverage: int = 10,
        verify_signatures: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if venue not in VENUES:
            raise ValueError(f"unknown venue {venue!r}, expected one of {VENUES}")
        self.venue = venue
        self.markets = [Market.from_unified(m) for m in (markets or market_fixture(venue))]
        self.prices = {m.symbol: price for m in self.markets}
        self.balances = dict(balances if balances is not None else {"USDT": 10_000.0, "BTC": 1.0})
        self.leverage = leverage
        self.verify_signatures = verify_signatures
        self.clock = clock  # monotonic seconds: request times, hidden and Retry-After windows
        self.orders: dict[str, Order] = {}
        self.positions: dict[str, Position] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.created_orders: dict[str, list[Order]] = {}
        self.crashes: list[tuple[RecordedRequest, Exception]] = []
        self.inside_retry_after = 0
        self.retry_after_until: float | None = None
        self.retry_after_from = 0.0  # when the last 429 went out
        self.retry_after_grace = 0.0  # seconds a request may still have been in flight
        self._ids = itertools.count(1_000_001)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self.api = _DIALECTS[venue](self)
        self.stream = UserStream(self)  # the private push stream (websocket)
        self._routes: dict[tuple[str, str], Route] = self.api.routes()

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> str:
        """Serve on 127.0.0.1 at a free port; returns the base URL (http://127.0.0.1:PORT)."""
        app = web.Application()
        for path in PATHS:  # the private websockets (see user_stream.py)
            app.router.add_get(path, self.stream.handle)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Delayed handlers watch self._closing, so shutdown never waits for them.
        self._runner, self._base_url = await serve_on_loopback(app, shutdown_timeout=0.5)
        return self._base_url

    async def close(self) -> None:
        self._closing.set()
        await self.stream.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeVenue:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeVenue.start() has not been awaited")
        return self._base_url

    # -- test controls -----------------------------------------------------------------------
    def inject(
        self,
        target: str,
        kind: str,
        count: int | None = 1,
        *,
        method: str | None = None,
        probability: float = 1.0,
        **kw: Any,
    ) -> Fault:
        """Queue a fault for requests whose operation name or path contains `target`.

        Operation names: create_order, cancel_order, fetch_order, fetch_open_orders, edit_order,
        fetch_positions, fetch_balance, fetch_ohlcv, load_markets, set_leverage. count=None
        means every matching request; `probability` makes each match fire only that often (a
        storm). Options per kind: see _FAULT_OPTIONS.
        """
        if kind not in _FAULT_OPTIONS:
            raise ValueError(
                f"unknown fault kind {kind!r}, expected one of {tuple(_FAULT_OPTIONS)}"
            )
        unknown = set(kw) - set(_FAULT_OPTIONS[kind])
        if unknown:
            raise ValueError(f"{kind} takes {sorted(_FAULT_OPTIONS[kind])}, got {sorted(unknown)}")
        if kind == "reject" and kw.get("code") is None:
            raise ValueError("reject needs code=<venue error code>")
        fault = Fault(target, kind, count, method, _FAULT_OPTIONS[kind] | kw, probability)
        self.faults.append(fault)
        return fault

    def fault_hits(self, kind: str | None = None) -> int:
        return sum(f.hits for f in self.faults if kind is None or f.kind == kind)

    def set_price(self, symbol: str, price: float) -> list[Order]:
        """Move the mark price; fires crossed triggers and fills crossed limits. Returns the
        orders that filled, expired or triggered because of this move."""
        self.market(symbol)
        self.prices[symbol] = float(price)
        touched: list[Order] = []
        for _ in range(10):  # attached SL/TP armed by a fill may be crossed by the same move
            moved = self._sweep(symbol, float(price))
            if not moved:
                break
            touched.extend(moved)
        self.stream.publish()
        return touched

    def set_position(self, symbol: str, qty: float, entry: float | None = None) -> None:
        """Seed a one-way position (qty signed, base currency)."""
        self.market(symbol)
        self.positions[symbol] = Position(qty, entry if entry is not None else self.prices[symbol])
        self.stream.publish()

    # -- queries -----------------------------------------------------------------------------
    def requests_for(self, target: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (target == r.op or target in r.path) and method in (None, r.method)
        ]

    @property
    def total_created(self) -> int:
        return sum(len(v) for v in self.created_orders.values())

    # -- HTTP plumbing -----------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        req = await self._record(request)
        route = self._routes.get((req.method, req.path))
        req.op = self.api.operation(req, route)
        self._note_retry_window(req)
        headers: dict[str, str] = {}
        try:
            body: Any = await self._serve(req, route)
            status = 200
        except VenueError as exc:
            status, body, headers = exc.status, exc.body, exc.headers
        except Exception as exc:  # a fake bug or an input it cannot parse: say so, loudly
            self.crashes.append((req, exc))
            status, body = 500, f"fake venue crashed on {req.method} {req.path}: {exc!r}"
        if req.handled:
            fault = self._take_fault(req, ("timeout_after_accept",))
            if fault is not None:
                await self._sleep(fault.options["delay"])
        req.status, req.response = status, body
        self.stream.publish()  # what the request changed, pushed to the user stream
        if isinstance(body, str):
            ctype = "text/html" if body.startswith("<") else "text/plain"
            return web.Response(status=status, text=body, headers=headers, content_type=ctype)
        return web.json_response(body, status=status, headers=headers)

    async def _record(self, request: web.Request) -> RecordedRequest:
        body = (await request.read()).decode()
        form: dict[str, str] = {}
        parsed: Any = None
        if body[:1] in ("[", "{"):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None  # handlers then see no params and answer the venue's error
        elif body:
            form = dict(parse_qsl(body, keep_blank_values=True))
        req = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            form=form,
            json=parsed,
            headers=dict(request.headers),
            time=self.clock(),
            # the still-percent-encoded query is what the client signed
            raw_query=request.raw_path.partition("?")[2],
            body=body,
        )
        self.requests.append(req)
        return req

    async def _serve(self, req: RecordedRequest, route: Route | None) -> Any:
        fault = self._take_fault(req, ("latency",))
        if fault is not None:
            await self._sleep(fault.options["delay"])
        fault = self._take_fault(req, ("status_5xx", "rate_limit"))
        if fault is not None:
            raise self._early_fault_error(fault, req)
        if route is None:
            raise VenueError(404, {"error": "the fake has no route", "path": req.path})
        self._verify(req, route)
        fault = self._take_fault(req, ("insufficient_funds", "reject"))
        if fault is not None:
            raise self.api.fault_error(fault, req)
        req.handled = True
        return route.handler(req)

    def _verify(self, req: RecordedRequest, route: Route) -> None:
        error = self.api.check_auth(req, route)
        req.signature_ok = None if not route.private else error is None
        if error is not None and self.verify_signatures:
            raise error

    def _early_fault_error(self, fault: Fault, req: RecordedRequest) -> VenueError:
        if fault.kind == "rate_limit":
            seconds = float(fault.options["retry_after"])
            until = req.time + seconds
            self.retry_after_until = max(self.retry_after_until or 0.0, until)
            self.retry_after_from = req.time
            error = self.api.rate_limit_error(fault.options["status"], fault.options["body"])
            retry_after = str(int(seconds)) if seconds == int(seconds) else str(seconds)
            error.headers["Retry-After"] = retry_after
            return error
        return self.api.unavailable_error(fault.options["status"], fault.options["body"])

    def _note_retry_window(self, req: RecordedRequest) -> None:
        """A request that arrives inside a Retry-After it could already have read. One that
        arrives within `retry_after_grace` of the 429 left before the client could read it."""
        if self.retry_after_until is not None and (
            self.retry_after_from + self.retry_after_grace <= req.time < self.retry_after_until
        ):
            req.inside_retry_after = True
            self.inside_retry_after += 1

    def _take_fault(self, req: RecordedRequest, kinds: tuple[str, ...]) -> Fault | None:
        for fault in self.faults:
            if fault.kind in kinds and fault.active and fault.matches(req) and fault.rolls():
                fault.hits += 1
                req.faults.append(fault.kind)
                return fault
        return None

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless close() is called first; True when the full delay elapsed."""
        try:
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        except TimeoutError:
            return True
        return False
