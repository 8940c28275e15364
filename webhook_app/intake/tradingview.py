"""The seed-002 dialect: TradingView strategy and study JSON (alertmodel.txt) → Alert."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ..errors import AlertRejected, MalformedAlert
from ..models import Alert, AlertKind, OrderType, Side
from .common import Fields

MAX_TAKE_PROFITS = 9
_MULT = re.compile(r"^tp([1-9]) Mult$")
_TICKER = re.compile(r"^[A-Za-z0-9._!:/-]{1,40}$")

LEVELS = ("long SL", "long TP", "short SL", "short TP", "long Breakeven", "short Breakeven")
KNOWN_FIELDS = frozenset(
    {
        "ticker",
        "exchange",
        "time",
        "action",
        "price",
        "type",
        "message",
        "passphrase",
        "subaccount",
        *LEVELS,
        "tp Close",
        "chart_url",
        "interval",
        "id",
        "alert_id",
        "risk",
        "comment",
        "approver",
        "order_id",
        "contracts",
        "position_size",
        "approval",
        *(f"tp{n} Mult" for n in range(1, MAX_TAKE_PROFITS + 1)),
    }
)


def classify_message(message: str) -> AlertKind:
    """entry, exit, anything ending in 'breakeven', else informational (tp2 …)."""
    text = message.strip().lower()
    if text == "entry":
        return AlertKind.ENTRY
    if text == "exit":
        return AlertKind.EXIT
    if text.endswith("breakeven"):
        return AlertKind.BREAKEVEN
    return AlertKind.INFO


def parse_tradingview(data: dict[str, Any], *, study: bool = False) -> tuple[Alert, list[str]]:
    """Validate a seed-002 alert. Returns the Alert and warnings (unknown fields ignored)."""
    f = Fields(data)
    ticker = f.string("ticker", required=True, max_len=40) or ""
    if not _TICKER.match(ticker):
        raise MalformedAlert(f"field 'ticker' is not a ticker: {ticker!r}")
    message = f.string("message", required=True, max_len=100) or ""
    kind = classify_message(message)
    side_text = f.choice(
        "action", ("buy", "sell"), required=kind in (AlertKind.ENTRY, AlertKind.BREAKEVEN)
    )
    side = Side(side_text) if side_text else None
    order_type = OrderType(f.choice("type", ("market", "limit"), default="market"))
    price = f.number("price", required=kind is AlertKind.ENTRY or order_type is OrderType.LIMIT)
    levels = {name: f.number(name) for name in LEVELS}
    tp_close = f.number("tp Close", maximum=Decimal(100))
    mults = _take_profit_mults(f)
    risk = f.number("risk", maximum=Decimal(100))
    alert = Alert(
        kind=kind,
        ticker=ticker,
        source="tradingview",
        account=f.string("subaccount", max_len=64),
        side=side,
        order_type=order_type,
        price=price,
        tp_close_pct=tp_close,
        tp_mults=mults,
        risk_pct=risk,
        message=message,
        fired_at=f.timestamp("time"),
        explicit_id=f.identifier("id") or f.identifier("alert_id"),
        exchange=f.string("exchange", max_len=40),
        chart_url=_chart_url(f) if study or f.has("chart_url") else None,
        interval=f.string("interval", max_len=10),
        tag=f.string("comment", max_len=100),
    )
    alert = _with_levels(alert, levels)
    warnings = [f"unknown field {name!r} ignored" for name in f.unknown(KNOWN_FIELDS)]
    return alert, warnings


def _take_profit_mults(f: Fields) -> tuple[Decimal, ...]:
    found: list[tuple[int, Decimal]] = []
    for name in f.data:
        match = _MULT.match(name)
        if match and f.has(name):
            value = f.number(name, maximum=Decimal(1000))
            assert value is not None
            found.append((int(match.group(1)), value))
    if found and not f.has("tp Close"):
        raise MalformedAlert(
            "field 'tp Close' is required with tpN Mult (percent closed at each TP)"
        )
    found.sort()
    mults = tuple(v for _, v in found)
    if found:
        pct = f.number("tp Close", maximum=Decimal(100))
        assert pct is not None
        if pct * len(mults) > 100:
            raise AlertRejected(
                f"tp Close {pct}% x {len(mults)} take-profits = {pct * len(mults)}% of the "
                "position; the take-profits may close at most 100%"
            )
    return mults


def _with_levels(alert: Alert, levels: dict[str, Decimal | None]) -> Alert:
    """Pick the levels for the alert's side and check each is on the right side of the price."""
    if alert.kind is AlertKind.ENTRY:
        assert alert.side is not None and alert.price is not None
        direction = alert.side.direction
        stop, target = levels[f"{direction} SL"], levels[f"{direction} TP"]
        if stop is None:
            raise MalformedAlert(f"field '{direction} SL' is required for a {alert.side} entry")
        _check_side(alert.side, alert.price, stop, target, direction)
        return replace(alert, stop_loss=stop, take_profit=target)
    if alert.kind is AlertKind.BREAKEVEN:
        assert alert.side is not None
        # A breakeven alert comes from the partial exit: a sell reduces a long.
        direction = alert.side.opposite.direction
        level = levels[f"{direction} Breakeven"]
        if level is None:
            raise MalformedAlert(
                f"field '{direction} Breakeven' is required for a {alert.message!r} alert "
                f"(action {alert.side} moves the stop of a {direction})"
            )
        return replace(alert, breakeven=level)
    return alert


def _check_side(
    side: Side, price: Decimal, stop: Decimal, target: Decimal | None, direction: str
) -> None:
    if side is Side.BUY and stop >= price:
        raise AlertRejected(f"long SL {stop} must be below the price {price} for a buy entry")
    if side is Side.SELL and stop <= price:
        raise AlertRejected(f"short SL {stop} must be above the price {price} for a sell entry")
    if target is not None and (target - price) * side.sign <= 0:
        where = "above" if side is Side.BUY else "below"
        raise AlertRejected(f"{direction} TP {target} must be {where} the price {price}")


def _chart_url(f: Fields) -> str | None:
    url = f.string("chart_url", max_len=500)
    if url and not url.lower().startswith(("https://", "http://")):
        raise MalformedAlert("field 'chart_url' must be an http(s) link to the chart")
    return url
