"""The bundled bars, and the order in which a bar's prices reach the paper exchange."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BARS = Path(__file__).resolve().parent / "data" / "eurusd_h1.csv"
SYMBOL = "EURUSD"
BAR_MS = 3_600_000  # the bundled bars are hourly


@dataclass(frozen=True)
class Bar:
    time: int  # ms, the bar's open
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0


def load_bars(path: Path = DEFAULT_BARS, limit: int | None = None) -> list[Bar]:
    """Bars from a CSV (time,open,high,low,close,volume; `#` lines are comments), oldest first."""
    with path.open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        bars = [
            Bar(
                int(r["time"]),
                float(r["open"]),
                float(r["high"]),
                float(r["low"]),
                float(r["close"]),
                float(r.get("volume") or 0),
            )
            for r in rows
        ]
    return bars[:limit] if limit else bars


def price_path(bar: Bar) -> tuple[float, float, float, float]:
    """A bar's prices in the order they are taken to have traded: a rising bar dips first
    (open, low, high, close), a falling one peaks first (open, high, low, close). Stops,
    take-profits and limits trigger on the way, nearest first, as on the paper exchange: at the
    open at the open's price (a gap), later at their own level (the path is continuous)."""
    if bar.close >= bar.open:
        return bar.open, bar.low, bar.high, bar.close
    return bar.open, bar.high, bar.low, bar.close
