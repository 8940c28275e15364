"""Sending one ccxt call: after the venue's Retry-After, retried only where that is safe, with
bounded backoff, and its error mapped once onto ours."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .ccxt_errors import is_rate_limit, is_retryable, retry_after, translate

logger = logging.getLogger(__name__)

RETRIES = 3  # attempts after the first, on network trouble only


def backoff(attempt: int) -> float:
    return min(0.5 * 2**attempt, 8.0)


class CcxtCalls:
    """One account's gate to its venue. A 429 closes the gate for every caller until the
    Retry-After has passed: nothing is sent inside it."""

    def __init__(
        self,
        name: str,
        venue: str,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.name, self.venue = name, venue
        self.clock, self.sleep = clock, sleep
        self.client: Any = None
        self.quiet_until = 0.0  # monotonic

    async def send(
        self,
        action: str,
        call: Callable[..., Awaitable[Any]],
        *args: Any,
        retry: Callable[[Exception], bool] = is_retryable,
    ) -> Any:
        import ccxt.async_support as ccxt

        attempt = 0
        while True:
            # Another call's 429 may extend the window while this one waits: look again.
            while (wait := self.quiet_until - self.clock()) > 0:
                await self.sleep(wait)
            try:
                return await call(*args)
            except ccxt.BaseError as e:
                after = None
                if is_rate_limit(e):  # ccxt ignores Retry-After; its last headers carry it
                    after = retry_after(self.client.last_response_headers) or backoff(attempt)
                    self.quiet_until = max(self.quiet_until, self.clock() + after)
                error = translate(e, self.venue, action, after=after)
                if not retry(e) or attempt >= RETRIES:
                    raise error from e
                logger.warning("%s: %s; retrying", self.name, error.message)
                if after is None:
                    await self.sleep(backoff(attempt))
                attempt += 1
