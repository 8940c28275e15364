"""One middleware turns the error tree (and aiohttp's own HTTP errors) into JSON answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..errors import BotError

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_STATUS_NAMES = {
    400: "malformed",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def error_body(status: str, message: str) -> dict[str, object]:
    return {"success": False, "status": status, "message": message}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BotError as e:
        return web.json_response(error_body(e.status, e.message), status=e.http_status)
    except web.HTTPRequestEntityTooLarge as e:
        limit = request.app._client_max_size  # noqa: SLF001 - aiohttp keeps the limit there
        return web.json_response(
            error_body("too_large", f"body is larger than {limit} bytes"), status=e.status
        )
    except web.HTTPException as e:
        if e.status < 400:
            raise
        name = _HTTP_STATUS_NAMES.get(e.status, "error")
        return web.json_response(error_body(name, e.reason), status=e.status)
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response(
            error_body("error", "internal error; see the server log"), status=500
        )
