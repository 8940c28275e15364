"""Domain types shared by intake, planning and execution: Alert in, OrderPlan out."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

ALL_SYMBOLS = "*"  # a plan over every symbol of the account (cancelAll without a ticker)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def direction(self) -> str:
        return "long" if self is Side.BUY else "short"


class AlertKind(StrEnum):
    ENTRY = "entry"  # open a protected position, sized by risk (or a fixed amount)
    EXIT = "exit"  # close the whole position and cancel that symbol's orders
    BREAKEVEN = "breakeven"  # move the stop to the breakeven level
    ORDER = "order"  # a plain order of a given amount (dialects: FMZ, seed 001, seed 003)
    CLOSE = "close"  # reduce the position by an amount or a percentage
    CANCEL = "cancel"  # cancel one order by client order id
    CANCEL_ALL = "cancel_all"  # cancel every open order of the account (or of one symbol)
    INFO = "info"  # informational (tp2 …): recorded and ignored


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"  # trigger order that executes at market (stop-loss)
    TAKE_PROFIT = "take_profit"  # trigger order that executes at market (take-profit)


@dataclass(frozen=True)
class Alert:
    """One normalized alert, whatever dialect it came in."""

    kind: AlertKind
    ticker: str
    source: str = "tradingview"
    account: str | None = None
    side: Side | None = None
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None  # the alert's price: the limit price of a limit order
    reference_price: Decimal | None = None  # the market's price, when not the same as `price`
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    breakeven: Decimal | None = None
    tp_close_pct: Decimal | None = None
    tp_mults: tuple[Decimal, ...] = ()
    amount: Decimal | None = None  # a fixed size, instead of risk sizing
    amount_pct: Decimal | None = None  # a percentage of what is available
    risk_pct: Decimal | None = None  # overrides the account's risk % (Edit in Discord)
    message: str = ""
    fired_at: datetime | None = None
    explicit_id: str | None = None
    exchange: str | None = None
    chart_url: str | None = None
    interval: str | None = None
    tag: str | None = None  # free text carried to the orders (strategy comment)
    client_order_id: str | None = None  # seed-001 cancel / order id
    delay_seconds: Decimal | None = None
    log: str | None = None
    target_ids: tuple[str, ...] = ()  # exchange order ids a cancel points at (resolved by intake)

    @property
    def seen_price(self) -> Decimal | None:
        """The market price when the alert fired: its reference price, else its price."""
        return self.reference_price if self.reference_price is not None else self.price

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == ():
                continue
            out[f.name] = _jsonable(value)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            kw[f.name] = _field_from_json(f.name, raw)
        return cls(**kw)


_DECIMAL_FIELDS = {
    "price",
    "reference_price",
    "stop_loss",
    "take_profit",
    "breakeven",
    "tp_close_pct",
    "amount",
    "amount_pct",
    "risk_pct",
    "delay_seconds",
}


def _field_from_json(name: str, raw: Any) -> Any:
    if name == "kind":
        return AlertKind(raw)
    if name == "side":
        return Side(raw)
    if name == "order_type":
        return OrderType(raw)
    if name in _DECIMAL_FIELDS:
        return Decimal(raw)
    if name == "tp_mults":
        return tuple(Decimal(x) for x in raw)
    if name == "target_ids":
        return tuple(raw)
    if name == "fired_at":
        return datetime.fromisoformat(raw)
    return raw


def _shallow_json(obj: Any, **extra: Any) -> dict[str, Any]:
    out = dict(extra)
    for f in fields(obj):
        out[f.name] = _jsonable(getattr(obj, f.name))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class PlaceOrder:
    """One order the plan wants at the exchange."""

    role: str  # close, stop, entry, tp, tp1 …, be_stop, order
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None  # limit price
    trigger_price: Decimal | None = None  # stop / take-profit trigger
    reduce_only: bool = False
    phase: int = 0
    after_fill: bool = False  # protection that waits for the entry to fill (limit entries)

    @property
    def action(self) -> str:
        return "place"


@dataclass(frozen=True)
class CancelOrder:
    """Cancel one order by its exchange id, or every open order of the plan's symbol."""

    role: str  # cancel, cancel_stop, cancel_all
    order_id: str | None = None
    client_id: str | None = None
    phase: int = 0

    @property
    def action(self) -> str:
        return "cancel"


@dataclass(frozen=True)
class AmendOrder:
    """Change one open order in place (breakeven moves the stop where the venue amends it)."""

    role: str  # be_stop
    order_id: str
    client_id: str | None = None
    trigger_price: Decimal | None = None
    phase: int = 0

    @property
    def action(self) -> str:
        return "amend"


Step = PlaceOrder | CancelOrder | AmendOrder


def r_multiple(price: Decimal, entry: Decimal | None, stop: Decimal | None) -> Decimal | None:
    """How many risks (entry to stop) a price is from the entry; None without a risk."""
    if entry is None or stop is None or entry == stop:
        return None
    return abs(price - entry) / abs(entry - stop)


@dataclass(frozen=True)
class OrderPlan:
    """What to do for one alert: steps grouped in phases; a phase starts when the last ends."""

    kind: AlertKind
    account: str
    symbol: str
    steps: tuple[Step, ...] = ()
    side: Side | None = None
    size: Decimal | None = None
    entry_price: Decimal | None = None
    stop_price: Decimal | None = None
    risk_amount: Decimal | None = None
    notional: Decimal | None = None
    equity: Decimal | None = None
    notes: tuple[str, ...] = field(default=())

    def take_profits(self) -> list[PlaceOrder]:
        """The take-profit orders (TP1, TP2 … and the final TP), in plan order."""
        return [
            s
            for s in self.steps
            if isinstance(s, PlaceOrder) and s.role.startswith("tp") and s.trigger_price
        ]

    def phases(self) -> list[list[Step]]:
        numbers = sorted({s.phase for s in self.steps})
        return [[s for s in self.steps if s.phase == n] for n in numbers]

    def to_json(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict, which is slow on the alert path.
        data: dict[str, Any] = {"steps": [_shallow_json(s, action=s.action) for s in self.steps]}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "steps" and value is not None:
                data[f.name] = _jsonable(value)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderPlan:
        steps: list[Step] = []
        for raw in data.get("steps", []):
            raw = dict(raw)
            action = raw.pop("action")
            if action == "place":
                steps.append(
                    PlaceOrder(
                        role=raw["role"],
                        side=Side(raw["side"]),
                        type=OrderType(raw["type"]),
                        amount=Decimal(raw["amount"]),
                        price=_dec(raw.get("price")),
                        trigger_price=_dec(raw.get("trigger_price")),
                        reduce_only=bool(raw.get("reduce_only")),
                        phase=int(raw.get("phase", 0)),
                        after_fill=bool(raw.get("after_fill")),
                    )
                )
            elif action == "amend":
                raw["trigger_price"] = _dec(raw.get("trigger_price"))
                steps.append(AmendOrder(**raw))
            else:
                steps.append(CancelOrder(**raw))
        return cls(
            kind=AlertKind(data["kind"]),
            account=data["account"],
            symbol=data["symbol"],
            steps=tuple(steps),
            side=Side(data["side"]) if data.get("side") else None,
            size=_dec(data.get("size")),
            entry_price=_dec(data.get("entry_price")),
            stop_price=_dec(data.get("stop_price")),
            risk_amount=_dec(data.get("risk_amount")),
            notional=_dec(data.get("notional")),
            equity=_dec(data.get("equity")),
            notes=tuple(data.get("notes", ())),
        )


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)
