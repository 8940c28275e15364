"""The project's one error tree: each error knows the HTTP status and answer status it maps to."""

from __future__ import annotations


class BotError(Exception):
    """Base of every error this project raises on purpose."""

    http_status = 500
    status = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(BotError):
    """A missing or invalid setting; start-up stops with this message."""


class AlertRejected(BotError):
    """Parseable but not tradable: unknown ticker, level on the wrong side, over a limit."""

    http_status = 422
    status = "rejected"


class ApprovalExpired(AlertRejected):
    """The relayed alert's approval window closed: nothing was placed."""

    status = "expired"


class MalformedAlert(AlertRejected):
    """Not parseable, or a field of the wrong type; the message names the field."""

    http_status = 400
    status = "malformed"


class Unauthorized(BotError):
    """Wrong, missing or malformed secret. Always the same message, whatever the cause."""

    http_status = 401
    status = "unauthorized"

    def __init__(self, message: str = "invalid or missing credentials") -> None:
        super().__init__(message)


class Forbidden(BotError):
    http_status = 403
    status = "forbidden"


class NotFound(BotError):
    http_status = 404
    status = "not_found"


class Conflict(BotError):
    """The alert was already decided, or is no longer in a state that allows this."""

    http_status = 409
    status = "conflict"


class TooLarge(BotError):
    http_status = 413
    status = "too_large"


class TooManyRequests(BotError):
    http_status = 429
    status = "too_many_requests"


class Halted(BotError):
    """The kill switch is on: new orders are refused."""

    http_status = 503
    status = "halted"


class ExecutionError(BotError):
    """Something went wrong while talking to an exchange."""

    http_status = 502
    status = "failed"


class OrderRejected(ExecutionError):
    """The exchange refused the order (invalid, insufficient funds, bad symbol). Never retried."""

    http_status = 422
    status = "rejected"


class DuplicateClientId(OrderRejected):
    """The exchange already holds an order with this client order id."""


class OrderNotFound(ExecutionError):
    """The exchange does not know the order (which, right after a timeout, proves nothing)."""

    http_status = 404
    status = "not_found"


class ExchangeUnavailable(ExecutionError):
    """Network trouble, timeout, rate limit or 5xx: retried with bounded backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
