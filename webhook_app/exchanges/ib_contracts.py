"""Interactive Brokers contracts from the ticker map, and their trading rules in base units.

A ticker maps to a contract spec, colon-separated, with optional key=value parts at the end:

    STK:AAPL[:SMART[:USD]]           stock (exchange SMART and currency USD by default)
    FUT:ES:CME:202612                future, by contract month (YYYYMM) or last day (YYYYMMDD)
    CASH:EURUSD                      forex pair on IDEALPRO
    …:multiplier=50:tick=0.25        what a contract is worth per point, and its price tick
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ConfigError
from .base import Market

_KINDS = ("STK", "FUT", "CASH")
_DEFAULT_TICK = {"STK": Decimal("0.01"), "CASH": Decimal("0.00005")}


@dataclass(frozen=True)
class ContractSpec:
    text: str  # the spec as written: our symbol for this contract
    kind: str  # STK | FUT | CASH
    symbol: str
    exchange: str
    currency: str
    month: str = ""
    options: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def multiplier(self) -> Decimal:
        return _decimal(self.text, "multiplier", self.options.get("multiplier", "1"))

    @property
    def tick(self) -> Decimal | None:
        if "tick" in self.options:
            return _decimal(self.text, "tick", self.options["tick"])
        if self.kind == "CASH" and self.currency == "JPY":
            return Decimal("0.005")
        return _DEFAULT_TICK.get(self.kind)

    def contract(self) -> Any:
        """The ib_async Contract (imported here: only an IB account pays for ib_async)."""
        from ib_async import Forex, Future, Stock

        if self.kind == "STK":
            extra = (
                {"primaryExchange": self.options["primary"]} if "primary" in self.options else {}
            )
            return Stock(self.symbol, self.exchange, self.currency, **extra)
        if self.kind == "FUT":
            return Future(self.symbol, self.month, self.exchange, currency=self.currency)
        return Forex(self.symbol + self.currency)

    def market(self, multiplier: Decimal | None = None) -> Market:
        """Rules in base units: one future is `multiplier` units, so risk sizing stays per point."""
        size = multiplier or self.multiplier
        return Market(
            symbol=self.text,
            amount_step=size,
            price_tick=self.tick,
            min_amount=size,
            quote=self.currency,
            contract_size=size,
        )


def parse_spec(text: str) -> ContractSpec:
    """A ticker map value → ContractSpec; a bad one stops start-up naming the problem."""
    parts = [p.strip() for p in text.split(":")]
    options = dict(p.split("=", 1) for p in parts if "=" in p)
    fields = [p.upper() for p in parts if "=" not in p]
    kind = fields[0] if fields else ""
    if kind not in _KINDS:
        raise ConfigError(f"tickers.ib: {text!r} must start with STK, FUT or CASH")
    if kind == "STK" and len(fields) >= 2:
        exchange = fields[2] if len(fields) > 2 else "SMART"
        currency = fields[3] if len(fields) > 3 else "USD"
        return ContractSpec(text, kind, fields[1], exchange, currency, options=options)
    if kind == "FUT" and len(fields) >= 4:
        currency = fields[4] if len(fields) > 4 else "USD"
        return ContractSpec(text, kind, fields[1], fields[2], currency, fields[3], options=options)
    if kind == "CASH" and len(fields) == 2 and len(fields[1]) == 6:
        pair = fields[1]
        return ContractSpec(text, kind, pair[:3], "IDEALPRO", pair[3:], options=options)
    examples = {"STK": "STK:AAPL:SMART:USD", "FUT": "FUT:ES:CME:202612", "CASH": "CASH:EURUSD"}
    raise ConfigError(f"tickers.ib: {text!r} is not a valid {kind} spec (e.g. {examples[kind]})")


def _decimal(text: str, key: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"tickers.ib: {text!r}: {key} must be a number") from None
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"tickers.ib: {text!r}: {key} must be positive")
    return value
