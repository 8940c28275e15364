"""Source controls, each off by default: an IP allowlist on the alert routes (with TradingView's
addresses as a preset), the client's address through trusted proxies only, and a per-address
limit on failed authentications on every route (429 until the window has passed)."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..addresses import Network, within
from ..errors import Forbidden, TooManyRequests, Unauthorized
from .routes import routes

logger = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The alert routes are the POST routes of routes.py: a new one is guarded without a second list.
ALERT_PATHS = frozenset(
    r.path for r in routes if isinstance(r, web.RouteDef) and r.method == "POST"
)
FAIL_WINDOW_S = 60.0


class SourceControls:
    def __init__(
        self,
        allowlist: tuple[Network, ...] | None,
        trusted_proxies: tuple[Network, ...] | None,
        fail_limit: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowlist, self.proxies = allowlist, trusted_proxies or ()
        self.fail_limit, self.clock = fail_limit, clock
        self.failures: dict[str, deque[float]] = {}

    def client(self, request: web.Request) -> str:
        """The sender: the peer, or (behind a trusted proxy) the last address it did not add."""
        peer = request.remote or ""
        if not self.proxies or not within(peer, self.proxies):
            return peer
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h]
        for hop in reversed(hops):
            if not within(hop, self.proxies):
                return hop
        return peer

    def _blocked(self, address: str) -> bool:
        times = self.failures.get(address)
        if not times:
            return False
        while times and times[0] < self.clock() - FAIL_WINDOW_S:
            times.popleft()
        return len(times) >= self.fail_limit

    def _failed(self, address: str) -> None:
        self.failures.setdefault(address, deque()).append(self.clock())
        if len(self.failures) > 100_000:  # bounded memory under a spray of addresses
            self.failures.pop(next(iter(self.failures)))

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The allowlist guards the alert routes (the bot and tools call /api from elsewhere);
        the failure limit guards every route that takes a secret."""
        if self.allowlist is None and not self.fail_limit:
            return await handler(request)
        address = self.client(request)
        if (
            self.allowlist is not None
            and request.path in ALERT_PATHS
            and not within(address, self.allowlist)
        ):
            logger.warning("refused %s from %s: not in IP_ALLOWLIST", request.path, address)
            raise Forbidden("the source address is not allowed (IP_ALLOWLIST)")
        # Allowlisted senders are never locked out: TradingView's four addresses carry every
        # TradingView user's alerts, so a stranger's wrong passphrases must not block ours.
        limited = bool(self.fail_limit) and not (
            self.allowlist is not None and within(address, self.allowlist)
        )
        if limited and self._blocked(address):
            raise TooManyRequests(
                f"too many failed authentications from this address; wait {FAIL_WINDOW_S:.0f} s"
            )
        try:
            return await handler(request)
        except Unauthorized:
            if limited:
                self._failed(address)
            raise
