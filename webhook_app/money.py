"""Decimal helpers for sizes and prices, and a running sum that stays O(1) per change."""

from __future__ import annotations

from collections.abc import Hashable
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)


def dec(value: Any) -> Decimal | None:
    """A venue's number (string, int, float) as a Decimal; None when absent or not finite."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros (0.350 → 0.35, 40150.00 → 40150) without scientific notation."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    return tidy((value / step).to_integral_value(rounding=ROUND_FLOOR) * step)


def round_price(value: Decimal, tick: Decimal | None) -> Decimal:
    if tick is None:
        return tidy(value)
    return tidy((value / tick).to_integral_value(rounding=ROUND_HALF_UP) * tick)


class KeyedSum:
    """Σ of per-key parts, updated in O(1) when one part changes (Decimal, so exact)."""

    __slots__ = ("_parts", "total")

    def __init__(self) -> None:
        self._parts: dict[Hashable, Decimal] = {}
        self.total = ZERO

    def set(self, key: Hashable, value: Decimal) -> None:
        self.total += value - self._parts.get(key, ZERO)
        if value:
            self._parts[key] = value
        else:
            self._parts.pop(key, None)

    def get(self, key: Hashable) -> Decimal:
        return self._parts.get(key, ZERO)
