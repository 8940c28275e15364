"""The account API (bearer API_TOKEN) in seed 004's envelope: for the bot and other tools."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from .. import account_views
from ..errors import MalformedAlert, NotFound, Unauthorized
from ..exchanges.base import Market
from ..exchanges.candles import TIMEFRAMES_MS
from ..guard import ALL, HALTED, REDUCING
from ..intake.common import to_number
from ..relay.study_chart import chart_for_symbol, timeframe_of
from ..venues import Venue
from .keys import CORE

logger = logging.getLogger(__name__)
api = web.RouteTableDef()
ON_DEMAND_CHART_S = 5.0  # a trader asked for it: worth waiting a little longer than an alert
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /api route needs `Authorization: Bearer API_TOKEN`; one answer for any failure."""
    if request.path.startswith("/api/"):
        token = request.app[CORE].settings.api_token
        header = request.headers.get("Authorization", "")
        given = header[7:] if header[:7].lower() == "bearer " else None
        if token is None:
            logger.warning("refused %s: API_TOKEN is not set, so the API is closed", request.path)
        if token is None or not token.matches(given):
            raise Unauthorized()
    return await handler(request)


def envelope(venue: Venue | None, data: Any, message: str = "ok") -> web.Response:
    """Seed 004's {src, venue, data, error, rate_limits}, with our success/status/message."""
    return web.json_response(
        {
            "success": True,
            "status": "ok",
            "message": message,
            "src": venue.account.exchange if venue else None,
            "venue": venue.account.name if venue else None,
            "data": data,
            "error": None,
            "rate_limits": {"remaining": None, "reset": None},
        }
    )


def _venue_name(request: web.Request, body: dict[str, Any] | None = None) -> str | None:
    """The account asked for: `venue` in the body, or in the query string."""
    name = (body or {}).get("venue") or request.query.get("venue")
    if name is not None and not isinstance(name, str):
        raise MalformedAlert("field 'venue' must be an account name (a string)")
    return name


def _venue(request: web.Request, body: dict[str, Any] | None = None) -> Venue:
    return request.app[CORE].venues.get(_venue_name(request, body))


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise MalformedAlert("body must be JSON") from None
    if not isinstance(data, dict):
        raise MalformedAlert("body must be a JSON object")
    return data


def _by(body: dict[str, Any], default: str | None = None) -> str:
    """Who is acting: required, unless a default names the caller."""
    by = body.get("by")
    if isinstance(by, str) and by.strip():
        return by.strip()[:100]
    if default is None:
        raise MalformedAlert("field 'by' (who is acting) is required")
    return default


@api.get("/api/balances")
async def get_balances(request: web.Request) -> web.Response:
    venue = _venue(request)
    return envelope(venue, await account_views.balances(venue))


@api.get("/api/positions")
async def get_positions(request: web.Request) -> web.Response:
    venue = _venue(request)
    return envelope(venue, await account_views.positions(venue))


@api.get("/api/orders")
async def get_orders(request: web.Request) -> web.Response:
    venue = _venue(request)
    return envelope(venue, await account_views.open_orders(venue, request.query.get("sym")))


def _market(request: web.Request, venue: Venue) -> Market:
    """`?symbol=` (or seed 004's `sym`), resolved for the account."""
    symbol = request.query.get("symbol") or request.query.get("sym")
    if not symbol:
        raise MalformedAlert("query 'symbol' is required")
    return request.app[CORE].venues.resolve(venue, symbol)


@api.get("/api/candles")
async def get_candles(request: web.Request) -> web.Response:
    """`?symbol=&level=&since=`: OHLCV bars, seed 004's fields."""
    venue = _venue(request)
    market = _market(request, venue)
    level = request.query.get("level", "1h")
    if level not in TIMEFRAMES_MS:
        levels = " ".join(TIMEFRAMES_MS)
        raise MalformedAlert(f"query 'level' must be one of {levels}, got {level!r}")
    since, limit = _int_query(request, "since"), _int_query(request, "limit") or 500
    return envelope(venue, await account_views.candles(venue, market, level, since, limit))


@api.get("/api/chart")
async def get_chart(request: web.Request) -> web.StreamResponse:
    """`?symbol=&level=`: a PNG of the last candles, with the position and open orders drawn."""
    venue = _venue(request)
    market = _market(request, venue)
    core = request.app[CORE]
    png, why = await chart_for_symbol(
        core.charts,
        venue,
        market,
        timeframe_of(request.query.get("level")),
        candles=core.settings.chart_candles,
        budget_s=max(core.charts.budget_s, ON_DEMAND_CHART_S),
    )
    if png is None:
        raise NotFound(why)
    return web.Response(body=png, content_type="image/png")


def _int_query(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise MalformedAlert(f"query {name!r} must be a whole number (milliseconds for since)")
    return int(raw)


@api.post("/api/cancel_order")
async def post_cancel_order(request: web.Request) -> web.Response:
    """Seed 004: `order_id` cancels one order, `sym` a symbol's orders, neither every order."""
    body = await _body(request)
    venue = _venue(request, body)
    sym = _text(body, "sym")
    symbol = request.app[CORE].venues.resolve(venue, sym).symbol if sym else None
    cancelled = await request.app[CORE].manual.cancel(
        venue, order_id=_text(body, "order_id"), symbol=symbol, by=_by(body, "the API")
    )
    return envelope(
        venue,
        [account_views.order_view(o) for o in cancelled],
        f"{len(cancelled)} order(s) cancelled",
    )


@api.post("/api/amend_order")
async def post_amend_order(request: web.Request) -> web.Response:
    body = await _body(request)
    venue = _venue(request, body)
    order_id = _text(body, "order_id")
    if not order_id:
        raise MalformedAlert("field 'order_id' is required")
    amended = await request.app[CORE].manual.amend(
        venue,
        order_id=order_id,
        size=_number(body, "size"),
        price=_number(body, "price"),
        by=_by(body, "the API"),
    )
    return envelope(venue, account_views.order_view(amended), f"order {order_id} amended")


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise MalformedAlert(f"field {name!r} must be a string")
    return value or None


def _number(body: dict[str, Any], name: str) -> Decimal | None:
    if body.get(name) is None:
        return None
    return to_number(name, body[name] if isinstance(body[name], str) else str(body[name]))


@api.get("/api/state")
async def get_state(request: web.Request) -> web.Response:
    core = request.app[CORE]
    data = []
    for venue in core.venues:
        switch = core.switch.get(venue.account.name)
        data.append(
            {
                "venue": venue.account.name,
                "src": venue.account.exchange,
                "mode": switch.mode,
                "by": switch.by,
                "at": switch.at,
                "message": switch.describe(venue.account.name),
            }
        )
    return envelope(None, data)


@api.post("/api/halt")
async def post_halt(request: web.Request) -> web.Response:
    """Kill switch on: `mode` reducing (the default: closes and cancels pass) or halted."""
    body = await _body(request)
    core = request.app[CORE]
    mode = body.get("mode", REDUCING)
    if mode not in (REDUCING, HALTED):
        raise MalformedAlert(f"field 'mode' must be {REDUCING} or {HALTED}")
    account = _account_or_all(request, body)
    switch = await core.switch.set(
        account, mode, by=_by(body), reason=str(body.get("reason", ""))[:200]
    )
    return envelope(None, {"venue": account, "mode": switch.mode}, switch.describe(account))


@api.post("/api/resume")
async def post_resume(request: web.Request) -> web.Response:
    body = await _body(request)
    core = request.app[CORE]
    account = _account_or_all(request, body)
    switch = await core.switch.resume(account, by=_by(body))
    return envelope(None, {"venue": account, "mode": switch.mode}, switch.describe(account))


def _account_or_all(request: web.Request, body: dict[str, Any]) -> str:
    name = _venue_name(request, body)
    if name in (None, "", ALL, "all"):
        return ALL
    return request.app[CORE].venues.get(name).account.name


@api.post("/api/alerts/{alert_id}/reject")
async def post_reject(request: web.Request) -> web.Response:
    body = await _body(request)
    answer = await request.app[CORE].service.decline(request.match_info["alert_id"], _by(body))
    return web.json_response(answer.body, status=answer.http_status)
