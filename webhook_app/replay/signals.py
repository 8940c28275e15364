"""Pure-Python port of Quick-Mean-Reversion-Study.pine's signals and levels, TradingView-exact."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

# TradingView (and pinets) treat numbers closer than this as equal in <, <=, >, >=, ==.
EPS = 1e-10


@dataclass(frozen=True)
class Params:
    """The study's inputs; `title` in INPUT_TITLES is the Pine input title of each field."""

    ema_len: int = 200
    rsi_len: int = 14
    atr_len: int = 14
    oversold: float = 30.0
    overbought: float = 70.0
    sl_mult: float = 3.0
    tp_mult: float = 5.0
    risk_pct: float = 1.0
    tp1_mult: float = 0.75
    tp1_close: float = 15.0
    tp2_mult: float = 1.5
    tp2_close: float = 15.0
    be_fee_pct: float = 0.0


# Params field -> Pine input title (used to override inputs in pinets by title).
INPUT_TITLES = {
    "ema_len": "EMA length",
    "rsi_len": "RSI length",
    "atr_len": "ATR length",
    "oversold": "RSI oversold",
    "overbought": "RSI overbought",
    "sl_mult": "SL ATR mult",
    "tp_mult": "TP ATR mult",
    "risk_pct": "Risk % of equity",
    "tp1_mult": "TP1 R multiple",
    "tp1_close": "TP1 close %",
    "tp2_mult": "TP2 R multiple",
    "tp2_close": "TP2 close %",
    "be_fee_pct": "Breakeven fee offset %",
}


@dataclass(frozen=True)
class BarSignal:
    """One bar's values; a float is None where Pine's value is na (warm-up)."""

    index: int
    time: Any
    ema: float | None
    rsi: float | None
    atr: float | None
    long_signal: bool
    short_signal: bool
    long_sl: float | None
    long_tp: float | None
    short_sl: float | None
    short_tp: float | None
    long_breakeven: float
    short_breakeven: float


Series = list[float | None]


def _field(bar: Any, name: str, default: Any = None) -> Any:
    if isinstance(bar, Mapping):
        return bar.get(name, default)
    return getattr(bar, name, default)


def _na(x: float | None) -> bool:
    return x is None or math.isnan(x)


# Pine's relational operators: na on either side gives false, |a - b| < EPS counts as equal.
def gt(a: float | None, b: float | None) -> bool:
    return not (_na(a) or _na(b)) and abs(a - b) >= EPS and a > b


def lt(a: float | None, b: float | None) -> bool:
    return gt(b, a)


def ge(a: float | None, b: float | None) -> bool:
    return not (_na(a) or _na(b)) and (abs(a - b) < EPS or a > b)


def le(a: float | None, b: float | None) -> bool:
    return ge(b, a)


def _smooth(src: Sequence[float | None], n: int, alpha: float) -> Series:
    """Exponential smoothing seeded with the SMA of the first n non-na values.

    na inputs give na and leave the state alone (ta.ema / ta.rma of TradingView).
    """
    out: Series = []
    prev: float | None = None
    seed: list[float] = []
    for x in src:
        if _na(x):
            out.append(None)
        elif prev is not None:
            prev = alpha * x + (1.0 - alpha) * prev
            out.append(prev)
        else:
            seed.append(x)
            if len(seed) == n:
                prev = sum(seed) / n
            out.append(prev)
    return out


def ema(src: Sequence[float | None], n: int) -> Series:
    """ta.ema: alpha = 2 / (n + 1), first value (the SMA of n values) at bar n - 1."""
    return _smooth(src, n, 2.0 / (n + 1))


def rma(src: Sequence[float | None], n: int) -> Series:
    """ta.rma (Wilder): alpha = 1 / n, SMA-seeded."""
    return _smooth(src, n, 1.0 / n)


def rsi(src: Sequence[float], n: int) -> Series:
    """ta.rsi: Wilder averages of gains and losses; first value at bar n."""
    gains: Series = [None]
    losses: Series = [None]
    for prev, cur in zip(src, src[1:], strict=False):
        gains.append(max(cur - prev, 0.0))
        losses.append(max(prev - cur, 0.0))
    out: Series = []
    for up, down in zip(rma(gains, n), rma(losses, n), strict=True):
        if up is None or down is None:
            out.append(None)
        elif down == 0:
            out.append(100.0)
        elif up == 0:
            out.append(0.0)
        else:
            out.append(100.0 - 100.0 / (1.0 + up / down))
    return out


def true_range(high: Sequence[float], low: Sequence[float], close: Sequence[float]) -> Series:
    """ta.tr(true): high - low on the first bar."""
    out: Series = [high[0] - low[0]] if close else []
    for i in range(1, len(close)):
        prev_close = close[i - 1]
        out.append(max(high[i] - low[i], abs(high[i] - prev_close), abs(low[i] - prev_close)))
    return out


def atr(high: Sequence[float], low: Sequence[float], close: Sequence[float], n: int) -> Series:
    """ta.atr: rma of the true range; first value at bar n - 1."""
    return rma(true_range(high, low, close), n)


def _as_params(params: Params | Mapping[str, Any] | None) -> Params:
    if params is None:
        return Params()
    if isinstance(params, Params):
        return params
    known = {f.name for f in fields(Params)}
    unknown = set(params) - known
    if unknown:
        raise ValueError(f"unknown parameter(s): {sorted(unknown)}")
    return replace(Params(), **params)


def engulfing(o: Sequence[float], c: Sequence[float], i: int) -> tuple[bool, bool]:
    """(bullish, bearish) engulfing on bar i; both false on the first bar (x[1] is na)."""
    if i == 0:
        return False, False
    bull = gt(c[i], o[i]) and lt(c[i - 1], o[i - 1]) and ge(c[i], o[i - 1]) and le(o[i], c[i - 1])
    bear = lt(c[i], o[i]) and gt(c[i - 1], o[i - 1]) and le(c[i], o[i - 1]) and ge(o[i], c[i - 1])
    return bull, bear


def _level(base: float, atr_value: float | None, mult: float) -> float | None:
    return None if atr_value is None else base + mult * atr_value


def _bar_signal(i: int, bars: list[Any], cols: dict[str, list], p: Params) -> BarSignal:
    o, c = cols["open"], cols["close"]
    e, r, a = cols["ema"][i], cols["rsi"], cols["atr"][i]
    prev_rsi = r[i - 1] if i > 0 else None
    bull, bear = engulfing(o, c, i)
    close = c[i]
    return BarSignal(
        index=i,
        time=_field(bars[i], "time"),
        ema=e,
        rsi=r[i],
        atr=a,
        long_signal=bull and lt(close, e) and lt(prev_rsi, p.oversold),
        short_signal=bear and gt(close, e) and gt(prev_rsi, p.overbought),
        long_sl=_level(close, a, -p.sl_mult),
        long_tp=_level(close, a, p.tp_mult),
        short_sl=_level(close, a, p.sl_mult),
        short_tp=_level(close, a, -p.tp_mult),
        long_breakeven=close * (1.0 + p.be_fee_pct / 100.0),
        short_breakeven=close * (1.0 - p.be_fee_pct / 100.0),
    )


def compute(
    bars: Iterable[Any], params: Params | Mapping[str, Any] | None = None
) -> list[BarSignal]:
    """Run the study on bars (oldest first; dicts or objects with open/high/low/close[/time])."""
    p = _as_params(params)
    rows = list(bars)
    cols: dict[str, list] = {
        k: [float(_field(b, k)) for b in rows] for k in ("open", "high", "low", "close")
    }
    cols["ema"] = ema(cols["close"], p.ema_len)
    cols["rsi"] = rsi(cols["close"], p.rsi_len)
    cols["atr"] = atr(cols["high"], cols["low"], cols["close"], p.atr_len)
    return [_bar_signal(i, rows, cols, p) for i in range(len(rows))]
