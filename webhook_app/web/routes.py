"""HTTP routes: read the request, call the service, return its answer. No trading logic here."""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation

from aiohttp import web

from ..answers import MAX_WAIT_S, Answer
from ..errors import MalformedAlert
from ..intake import FMZ, IB, SIGNAL, TRADINGVIEW, TRADINGVIEW_STUDY, Dialect
from ..service import AlertService
from .keys import CORE

routes = web.RouteTableDef()
_STARTED = time.time()


def _service(request: web.Request) -> AlertService:
    return request.app[CORE].service


def parse_wait(request: web.Request) -> float | None:
    raw = request.query.get("wait")
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or value > Decimal(str(MAX_WAIT_S)):
        raise MalformedAlert(f"query 'wait' must be a number of seconds from 0 to {MAX_WAIT_S}")
    return float(value) or None


async def _answer(request: web.Request, dialect: Dialect, route: str) -> Answer:
    wait = parse_wait(request)
    raw = await request.read()  # whatever the Content-Type: TradingView sends text/plain too
    return await _service(request).submit(
        raw, dialect=dialect, route=route, query=request.query, wait=wait
    )


async def _submit(request: web.Request, dialect: Dialect, route: str) -> web.Response:
    answer = await _answer(request, dialect, route)
    return web.json_response(answer.body, status=answer.http_status)


@routes.post("/tradingview-to-webhook-order")
async def webhook_order(request: web.Request) -> web.Response:
    return await _submit(request, TRADINGVIEW, "order")


@routes.post("/tradingview-to-discord-study")
async def discord_study(request: web.Request) -> web.Response:
    return await _submit(request, TRADINGVIEW_STUDY, "study")


@routes.post("/webhook/fmz")
@routes.post("/data")
async def webhook_fmz(request: web.Request) -> web.Response:
    """Seed 000: keys and order in the query string; the answer keeps the seed's state: ok."""
    answer = await _answer(request, FMZ, "fmz")
    body = {"state": "ok", **answer.body} if answer.http_status < 300 else answer.body
    return web.json_response(body, status=answer.http_status)


@routes.post("/webhook/signal")
async def webhook_signal(request: web.Request) -> web.Response:
    return await _submit(request, SIGNAL, "signal")


@routes.post("/webhook/ib")
async def webhook_ib(request: web.Request) -> web.Response:
    return await _submit(request, IB, "ib")


@routes.get("/alerts/{alert_id}")
async def alert_status(request: web.Request) -> web.Response:
    answer = await _service(request).status(request.match_info["alert_id"])
    return web.json_response(answer.body, status=answer.http_status)


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    core = request.app[CORE]
    accounts = [{"name": v.account.name, "exchange": v.account.exchange} for v in core.venues]
    return web.json_response(
        {
            "success": True,
            "status": "ok",
            "message": "ready",
            "accounts": accounts,
            "default_account": core.settings.default_account,
            "uptime_s": round(time.time() - _STARTED, 1),
            "executing": len(core.executor.tasks),
            "discord": {c: core.poster.enabled(c) for c in ("study", "logs", "errors")},
        }
    )
