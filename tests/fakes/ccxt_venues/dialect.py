"""_Dialect, the base of the venue dialects, plus the helpers they share."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .model import (
    API_SECRET,
    Fault,
    Market,
    Order,
    RecordedRequest,
    Trigger,
    VenueError,
    default_direction,
)

if TYPE_CHECKING:
    from .venue import FakeVenue

HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
HTML_503 = "<html><head><title>503 Service Unavailable</title></head><body>503</body></html>"
HTML_504 = "<html><head><title>504 Gateway Time-out</title></head><body>504</body></html>"


@dataclass
class Route:
    """One endpoint: the operation it counts as, its handler, and whether it is signed."""

    op: str
    handler: Callable[[RecordedRequest], Any]
    private: bool = True


class _Dialect:
    """Shared surface of the three venue dialects."""

    client_id_pattern: re.Pattern[str]
    client_id_unique_forever = False

    def __init__(self, venue: FakeVenue) -> None:
        self.v = venue

    def routes(self) -> dict[tuple[str, str], Route]:
        raise NotImplementedError

    def operation(self, req: RecordedRequest, route: Route | None) -> str | None:
        return route.op if route else None

    def client_id_ok(self, cid: str) -> bool:
        return bool(self.client_id_pattern.fullmatch(cid))

    def check_auth(self, req: RecordedRequest, route: Route) -> VenueError | None:
        raise NotImplementedError

    def error(self, reason: str, order: Order | None = None, **kw: Any) -> VenueError:
        raise NotImplementedError

    def fault_error(self, fault: Fault, req: RecordedRequest) -> VenueError:
        raise NotImplementedError

    def rate_limit_error(self, status: int, body: Any) -> VenueError:
        raise NotImplementedError

    def unavailable_error(self, status: int, body: Any) -> VenueError:
        raise NotImplementedError

    def attached_children(self, order: Order) -> list[Order]:
        return []

    def _hmac(self, payload: str) -> bytes:
        return hmac.new(API_SECRET.encode(), payload.encode(), hashlib.sha256).digest()

    def _market(self, market_id: str | None, market_type: str) -> Market:
        try:
            return self.v.market(market_id or "", market_type)
        except KeyError:
            raise self.error("bad_symbol") from None

    def match(
        self, book: list[Order], p: dict[str, Any], id_key: str, cid_keys: tuple[str, ...]
    ) -> Order | None:
        """Find by venue id, else by client id (newest first: ids may be reused).

        A sent id wins even when it matches nothing, as the venues document; that is why
        ccxt's bybit fetch_order(None, ...) (it sends orderId=None) finds no order.
        """
        if p.get(id_key):
            found = next((o for o in book if o.id == str(p[id_key])), None)
        else:
            cids = {str(p[k]) for k in cid_keys if p.get(k)}
            found = next((o for o in reversed(book) if o.client_id in cids), None)
        return self.v.visible(found)

    @staticmethod
    def _timeframe_ms(value: str, table: dict[str, int]) -> int:
        return table.get(value, 60_000)


def _attached_order(
    parent: Order, kind: str, price: float, field_name: str, venue_type: str, algo: bool
) -> Order:
    """A reduce-only trigger order that closes what `parent` opened."""
    side = "sell" if parent.side == "buy" else "buy"
    trig = Trigger(kind, price, default_direction(kind, side, price, 0.0), field_name)
    return Order(
        id="",
        symbol=parent.symbol,
        market_id=parent.market_id,
        market_type=parent.market_type,
        side=side,
        type="market",
        amount=parent.filled or parent.amount,
        reduce_only=True,
        triggers=[trig],
        algo=algo,
        venue_type=venue_type,
        parent_id=parent.id,
    )
