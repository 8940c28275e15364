"""One account's ccxt markets as our Market rules (base units), and amounts and prices rounded
the venue's way before anything is sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import OrderRejected
from .base import Market
from .ccxt_symbols import contract_size, find_market, step


class CcxtMarkets:
    def __init__(self, spot: bool, currency: str) -> None:
        self.spot, self.currency = spot, currency
        self.client: Any = None
        self.resolved: dict[str, Market] = {}

    def market(self, symbol: str) -> Market:
        if symbol not in self.resolved:
            raw = find_market(symbol, self.client.markets or {}, spot=self.spot)
            self.resolved[symbol] = self._rules(raw)
            self.resolved.setdefault(raw["symbol"], self.resolved[symbol])
        return self.resolved[symbol]

    def size(self, symbol: Any) -> Decimal:
        """Base units per venue unit (OKX swap contracts); 1 for a symbol it does not list."""
        if symbol not in (self.client.markets or {}):
            return Decimal(1)
        return self.market(symbol).contract_size

    def _rules(self, raw: dict[str, Any]) -> Market:
        size = contract_size(raw)
        mode = self.client.precisionMode
        amount_step = (step(raw["precision"].get("amount"), mode) or Decimal("1e-8")) * size
        limits = raw.get("limits") or {}
        min_amount = Decimal(str((limits.get("amount") or {}).get("min") or 0)) * size
        min_cost = Decimal(str((limits.get("cost") or {}).get("min") or 0))
        return Market(
            symbol=raw["symbol"],
            amount_step=amount_step,
            price_tick=step(raw["precision"].get("price"), mode),
            min_amount=max(min_amount, amount_step),
            min_notional=min_cost,
            quote=raw.get("settle") or raw.get("quote") or self.currency,
            contract_size=size,
        )

    def units(self, market: Market, amount: Decimal) -> str:
        """The venue's amount (contracts on OKX swaps), at its precision."""
        units = self.client.amount_to_precision(market.symbol, float(amount / market.contract_size))
        if Decimal(units) <= 0:
            raise OrderRejected(f"amount {amount} rounds to nothing on {market.symbol}")
        return str(units)

    def price(self, market: Market, price: Decimal | None) -> Decimal | None:
        if price is None:
            return None
        return Decimal(self.client.price_to_precision(market.symbol, float(price)))

    @staticmethod
    def check_minimums(market: Market, amount: Decimal, price: Decimal | None) -> None:
        if amount < market.min_amount:
            raise OrderRejected(
                f"amount {amount} is below {market.symbol}'s minimum {market.min_amount}"
            )
        if price is not None and market.min_notional and amount * price < market.min_notional:
            raise OrderRejected(
                f"order value {amount * price:.2f} is below {market.symbol}'s "
                f"minimum {market.min_notional} {market.quote}"
            )
