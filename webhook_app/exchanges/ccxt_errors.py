"""ccxt's error tree mapped once onto ours: what may be retried, what never is, and why.

ccxt messages carry the request URL (with its signature) and the raw body, so they are never
passed on: the venue's own short reason is taken from the body and everything else is dropped.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import (
    BotError,
    DuplicateClientId,
    ExchangeUnavailable,
    ExecutionError,
    OrderNotFound,
    OrderRejected,
)

# ccxt maps no venue's "duplicate client id" to DuplicateOrderId: these codes say it.
_DUPLICATE = {
    ("binance", "-2010"): "duplicate",  # spot: only when the message says so (also funds)
    ("binance", "-4116"): "",
    ("bybit", "110072"): "",
    ("okx", "51016"): "",
}
_REASON_KEYS = ("msg", "retMsg", "sMsg", "message", "error_message")
_MAX_REASON = 160


def venue_reason(error: Exception) -> tuple[str | None, str | None]:
    """The venue's error code and its short message, read from the body in a ccxt error."""
    text = str(error)
    start = text.find("{")
    if start < 0:
        return None, None
    try:
        body = json.loads(text[start:])
    except ValueError:
        return None, None
    return _code_and_message(body)


def _code_and_message(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, dict):
        return None, None
    data = body.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict) and data[0].get("sCode"):
        body = data[0]  # OKX puts an order's own error inside data[0]
    code = next(
        (body[k] for k in ("code", "retCode", "sCode") if body.get(k) not in (None, "")), None
    )
    message = next(
        (body[k] for k in _REASON_KEYS if isinstance(body.get(k), str) and body[k]), None
    )
    if message is not None:
        message = re.sub(r"\s+", " ", message).strip()[:_MAX_REASON]
    return (None if code is None else str(code)), message


def retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (ccxt keeps the last response's headers)."""
    if not headers:
        return None
    for name, value in dict(headers).items():
        if str(name).lower() == "retry-after":
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return None
            return seconds if 0 <= seconds <= 3600 else None
    return None


# ExchangeError family, most specific first: (ccxt class name, what the trader reads).
_REFUSALS = (
    ("InsufficientFunds", "insufficient funds"),
    (
        "AuthenticationError",
        "the venue refused the API key; check the key, its permissions and the sandbox setting",
    ),  # also PermissionDenied, AccountSuspended
    ("BadSymbol", "unknown symbol"),
    ("OrderImmediatelyFillable", "the trigger is already through the market"),
    ("InvalidOrder", "order refused"),
    ("BadRequest", "order refused"),
    ("ArgumentsRequired", "order refused"),
    ("NotSupported", "not supported by this venue"),
)
# NetworkError family and the rest of OperationFailed (5xx, an unreadable answer): retryable.
_UNAVAILABLE = (
    ("RequestTimeout", "no answer in time"),
    ("OnMaintenance", "the venue is in maintenance"),
    ("OperationFailed", "the venue is unavailable"),
)


def translate(error: Exception, venue: str, action: str, *, after: float | None = None) -> BotError:
    """One ccxt exception → our error, with a message a trader can act on and no raw text."""
    import ccxt.async_support as ccxt  # the adapter already imported it; this is free

    code, reason = venue_reason(error)
    said = f": {reason}" if reason else ""
    where = f"{venue} {action}"
    if is_rate_limit(error):
        wait = f" (retry after {after:g} s)" if after else ""
        return ExchangeUnavailable(f"{where}: rate limited{wait}", retry_after=after)
    for name, text in _UNAVAILABLE:
        if isinstance(error, getattr(ccxt, name)):
            return ExchangeUnavailable(f"{where}: {text}{said}")
    if isinstance(error, ccxt.OrderNotFound):
        return OrderNotFound(f"{where}: the venue does not know this order")
    if _is_duplicate(venue, code, reason):
        return DuplicateClientId(f"{where}: the venue already has an order with this client id")
    for name, text in _REFUSALS:
        if isinstance(error, getattr(ccxt, name)):
            return OrderRejected(f"{where}: {text}{said}")
    if isinstance(error, ccxt.ExchangeError):
        return OrderRejected(f"{where}: refused{said}")
    return ExecutionError(f"{where}: unexpected error ({type(error).__name__})")


def _is_duplicate(venue: str, code: str | None, reason: str | None) -> bool:
    if code is None or (venue, code) not in _DUPLICATE:
        return False
    needle = _DUPLICATE[(venue, code)]
    return not needle or needle in (reason or "").lower()


def is_retryable(error: Exception) -> bool:
    import ccxt.async_support as ccxt

    return isinstance(error, ccxt.OperationFailed)


def is_rate_limit(error: Exception) -> bool:
    import ccxt.async_support as ccxt

    return isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection)
