"""Records and helpers the rest of the package shares: constants, orders, faults, markets."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

API_KEY = "vk-Rk3mW8pZt5Ls"
API_SECRET = "vs-Jd7nB2xQe9Hy"  # noqa: S105 - fixed test credential: the fake verifies HMACs with it
API_PASSWORD = "vp-Fa4cT6uMg1Wo"  # noqa: S105 - the OKX passphrase the fake expects, test-only
VENUES = ("binance", "bybit", "okx")
MARKET_TYPES = ("spot", "swap")
DEFAULT_PRICE = 60_000.0
# Every fault kind with the keyword options it takes and their defaults.
_FAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "latency": {"delay": 0.2},
    "status_5xx": {"status": 503, "body": None},
    "rate_limit": {"retry_after": 1.0, "status": 429, "body": None},
    "timeout_after_accept": {"delay": 5.0},
    "not_found_for": {"seconds": 1.0},
    "insufficient_funds": {},
    "reject": {"code": None, "msg": "rejected by fake venue", "status": None},
}
OPEN, FILLED, CANCELED, EXPIRED, TRIGGERED = "open", "filled", "canceled", "expired", "triggered"


def fmt(value: float | None) -> str:
    """Venue-style decimal string: no exponent, no trailing zeros, '0' for None."""
    if value is None:
        return "0"
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def now_ms() -> int:
    return int(time.time() * 1000)


class VenueError(Exception):
    """A venue-shaped error answer: handlers raise it, the dispatcher sends it as the response."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class RecordedRequest:
    """One HTTP request as the fake received it (time is time.monotonic())."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    json: Any
    headers: dict[str, str]
    time: float
    raw_query: str = ""
    body: str = ""
    op: str | None = None
    signature_ok: bool | None = None
    inside_retry_after: bool = False
    faults: list[str] = field(default_factory=list)
    status: int | None = None
    response: Any = None  # the body the fake answered (parsed JSON, or text)
    handled: bool = False

    @property
    def params(self) -> dict[str, Any]:
        """Query, form body and JSON-object body merged (what Binance signs, what tests read)."""
        merged: dict[str, Any] = dict(self.query)
        merged.update(self.form)
        if isinstance(self.json, dict):
            merged.update(self.json)
        return merged


@dataclass
class Trigger:
    """One trigger condition of a resting order: fire when the mark goes above/below price."""

    kind: str  # stop_loss | take_profit | trigger
    price: float
    direction: str  # above | below
    field: str  # the wire field that carried it, e.g. stopPrice, triggerPrice, slTriggerPx


@dataclass
class Order:
    """Venue-neutral order state; each dialect renders it in its venue's JSON."""

    id: str
    symbol: str
    market_id: str
    market_type: str  # spot | swap
    side: str  # buy | sell
    type: str  # market | limit: how it executes (once triggered)
    amount: float  # venue units: base currency, or contracts on OKX swaps
    price: float | None = None
    client_id: str = ""
    client_id_field: str | None = None
    reduce_only: bool = False
    close_position: bool = False
    triggers: list[Trigger] = field(default_factory=list)
    attached: dict[str, float] = field(default_factory=dict)  # stop_loss / take_profit to arm
    algo: bool = False  # lives in the venue's separate algo-order id space
    venue_type: str = ""  # the venue's own type string: STOP_MARKET, conditional, Market ...
    status: str = OPEN
    triggered: bool = False
    filled: float = 0.0
    average: float | None = None
    parent_id: str | None = None
    spawned_id: str | None = None  # regular order a fired algo order placed
    fired_kind: str | None = None
    created_at: int = field(default_factory=now_ms)
    updated_at: int = field(default_factory=now_ms)
    hidden_until: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)  # the create request, as received
    path: str = ""  # the endpoint that created it
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def trigger_price(self) -> float | None:
        return self.triggers[0].price if self.triggers else None

    @property
    def trigger_fields(self) -> dict[str, float]:
        return {t.field: t.price for t in self.triggers}

    @property
    def pending_trigger(self) -> bool:
        return bool(self.triggers) and not self.triggered


@dataclass
class Position:
    """One-way position: qty is signed, in base currency."""

    qty: float = 0.0
    entry: float = 0.0
    realized: float = 0.0


@dataclass
class Fault:
    """An injected fault: matches an operation name or a path substring, fires count times."""

    target: str
    kind: str
    count: int | None
    method: str | None
    options: dict[str, Any]
    probability: float = 1.0
    hits: int = 0

    @property
    def active(self) -> bool:
        return self.count is None or self.hits < self.count

    def rolls(self) -> bool:
        return self.probability >= 1.0 or random.random() < self.probability  # noqa: S311

    def matches(self, req: RecordedRequest) -> bool:
        if self.method is not None and self.method != req.method:
            return False
        return self.target == req.op or self.target in req.path


@dataclass(frozen=True)
class Market:
    """What the fake needs from a unified ccxt market dict."""

    symbol: str
    id: str
    type: str
    contract_size: float
    amount_step: float
    price_tick: float
    min_amount: float
    min_cost: float | None

    @classmethod
    def from_unified(cls, m: dict[str, Any]) -> Market:
        limits = m.get("limits") or {}
        return cls(
            symbol=m["symbol"],
            id=m["id"],
            type="spot" if m.get("spot") else "swap",
            contract_size=float(m.get("contractSize") or 1.0),
            amount_step=float(m["precision"]["amount"]),
            price_tick=float(m["precision"]["price"]),
            min_amount=float((limits.get("amount") or {}).get("min") or 0.0),
            min_cost=(limits.get("cost") or {}).get("min"),
        )


def assets(symbol: str) -> tuple[str, str]:
    """('BTC', 'USDT') for 'BTC/USDT' and for 'BTC/USDT:USDT' (linear: margin is the quote)."""
    base, _, rest = symbol.partition("/")
    return base, rest.partition(":")[0]


def _on_grid(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-6


def _crossed(trigger: Trigger, price: float) -> bool:
    return price >= trigger.price if trigger.direction == "above" else price <= trigger.price


def default_direction(kind: str, side: str, trigger_price: float, mark: float) -> str:
    """Stop-loss sells fire on a fall, take-profit sells on a rise; buys mirror; plain triggers
    fire in the direction of the trigger from the current mark (how OKX and Binance decide)."""
    if kind == "stop_loss":
        return "below" if side == "sell" else "above"
    if kind == "take_profit":
        return "above" if side == "sell" else "below"
    return "above" if trigger_price > mark else "below"
