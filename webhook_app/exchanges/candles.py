"""OHLCV bars built from a stream of prices, kept at one minute and resampled on request."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from .base import Candle

MINUTE_MS = 60_000
TIMEFRAMES_MS = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "3h": 180 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
    "1w": 10080 * MINUTE_MS,
}
# TradingView's {{interval}} values: minutes as digits, then D / W (and 1D, 1W).
_TRADINGVIEW_INTERVALS = {
    "D": "1d",
    "1D": "1d",
    "W": "1w",
    "1W": "1w",
    "60": "1h",
    "120": "2h",
    "180": "3h",
    "240": "4h",
    "360": "6h",
    "720": "12h",
}


def normalize_timeframe(value: str) -> str:
    """'1h', '60' or 'D' → a key of TIMEFRAMES_MS; ValueError names the accepted levels."""
    text = value.strip()
    if text in TIMEFRAMES_MS:
        return text
    if text.upper() in _TRADINGVIEW_INTERVALS:
        return _TRADINGVIEW_INTERVALS[text.upper()]
    if text.isdigit() and f"{text}m" in TIMEFRAMES_MS:
        return f"{text}m"
    raise ValueError(f"unknown interval {value!r}; use one of {' '.join(TIMEFRAMES_MS)}")


class CandleBook:
    """Per symbol, a bounded series of one-minute bars fed by prices."""

    def __init__(self, max_minutes: int = 20_000) -> None:
        self.max_minutes = max_minutes
        self._bars: dict[str, deque[list]] = {}

    def add(
        self, symbol: str, price: Decimal, time_ms: float, volume: Decimal = Decimal(0)
    ) -> list:
        start = int(time_ms // MINUTE_MS * MINUTE_MS)
        bars = self._bars.setdefault(symbol, deque(maxlen=self.max_minutes))
        if bars and bars[-1][0] == start:
            bar = bars[-1]
            bar[2], bar[3], bar[4] = max(bar[2], price), min(bar[3], price), price
            bar[5] += volume
        elif bars and start < bars[-1][0]:
            return bars[-1]  # a late price never rewrites history
        else:
            bar = [start, price, price, price, price, volume]
            bars.append(bar)
        return bar

    def load(self, symbol: str, rows: list[list]) -> None:
        bars = self._bars.setdefault(symbol, deque(maxlen=self.max_minutes))
        bars.extend(sorted(rows, key=lambda r: r[0]))

    def fetch(self, symbol: str, timeframe: str, since: int | None, limit: int) -> list[Candle]:
        step = TIMEFRAMES_MS[normalize_timeframe(timeframe)]
        out: list[Candle] = []
        for start, o, h, low, c, v in self._bars.get(symbol, ()):
            bucket = start // step * step
            if since is not None and bucket < since:
                continue
            if out and out[-1].time == bucket:
                last = out[-1]
                out[-1] = Candle(
                    bucket, last.open, max(last.high, h), min(last.low, low), c, last.volume + v
                )
            else:
                out.append(Candle(bucket, o, h, low, c, v))
        return out[-limit:] if limit else out
