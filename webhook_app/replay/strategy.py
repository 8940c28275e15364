"""What the Pine strategy (or study) would alert at a bar's close, given the bar's signals and
what the paper exchange holds: the placeholders of alertmodel.txt, filled as TradingView would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from .bars import BAR_MS, SYMBOL, Bar
from .signals import BarSignal, Params, ge, gt, le, lt

STRATEGY_TEMPLATE = "strategy-multi-tp"
STUDY_TEMPLATES = {"buy": "study-long", "sell": "study-short"}


@dataclass(frozen=True)
class PlannedAlert:
    template: str  # the alertmodel.txt block
    message: str  # entry, tp1_breakeven, tp2, exit
    values: dict[str, str]  # placeholder → text


@dataclass
class StrategyState:
    """The strategy's own memory of the open trade (Pine `var`s)."""

    side: str | None = None  # buy | sell
    entry_price: float = 0.0
    sent: set[str] = field(default_factory=set)  # tp1_breakeven, tp2: once per trade


def fmt(value: float | None) -> str:
    """A plot value as TradingView writes it into the message (na as NaN: refused by the app)."""
    return "NaN" if value is None else repr(float(value))


def plot_values(sig: BarSignal, params: Params, breakeven: float | None = None) -> dict[str, str]:
    long_be = breakeven if breakeven is not None else sig.long_breakeven
    short_be = breakeven if breakeven is not None else sig.short_breakeven
    return {
        'plot("Long SL")': fmt(sig.long_sl),
        'plot("Long TP")': fmt(sig.long_tp),
        'plot("Short SL")': fmt(sig.short_sl),
        'plot("Short TP")': fmt(sig.short_tp),
        'plot("Long Breakeven")': fmt(long_be),
        'plot("Short Breakeven")': fmt(short_be),
        'plot("TP Close")': fmt(params.tp1_close),
        'plot("TP1 Mult")': fmt(params.tp1_mult),
        'plot("TP2 Mult")': fmt(params.tp2_mult),
    }


def base_values(bar: Bar) -> dict[str, str]:
    """{{timenow}} is the bar's close: the moment TradingView would fire."""
    close_time = datetime.fromtimestamp((bar.time + BAR_MS) / 1000, UTC)
    return {
        "ticker": SYMBOL,
        "exchange": "FX",
        "timenow": close_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "interval": "60",
        "close": fmt(bar.close),
    }


def strategy_alerts(
    state: StrategyState,
    bar: Bar,
    sig: BarSignal,
    prev: tuple[Bar, BarSignal] | None,
    held: Decimal,
    filled: set[str],
    params: Params,
) -> list[PlannedAlert]:
    """The Pine strategy's alerts at this bar's close. `held` is the paper position, `filled`
    the ladder roles (tp1, tp2) that have filled in the current trade."""
    if not held:
        state.side, state.sent = None, set()
        side = "buy" if sig.long_signal else "sell" if sig.short_signal else None
        if side is None:
            return []
        state.side, state.entry_price = side, bar.close
        return [_strategy(bar, sig, params, side, "long" if side == "buy" else "short", "entry")]
    if state.side is None:  # a position the strategy did not open (left by a study approval)
        state.side = "buy" if held > 0 else "sell"
    closing = "sell" if state.side == "buy" else "buy"
    out = []
    for role, message in (("tp1", "tp1_breakeven"), ("tp2", "tp2")):
        if role in filled and message not in state.sent:
            state.sent.add(message)
            out.append(_strategy(bar, sig, params, closing, role.upper(), message, state))
    if prev is not None and _crossed_back(state.side, prev, bar, sig):
        out.append(_strategy(bar, sig, params, closing, "exit", "exit", state))
    return out


def _crossed_back(side: str | None, prev: tuple[Bar, BarSignal], bar: Bar, sig: BarSignal) -> bool:
    """ta.crossover(close, ema) closes a long; ta.crossunder(close, ema) a short."""
    prev_bar, prev_sig = prev
    if side == "buy":
        return gt(bar.close, sig.ema) and le(prev_bar.close, prev_sig.ema)
    return lt(bar.close, sig.ema) and ge(prev_bar.close, prev_sig.ema)


def _strategy(
    bar: Bar,
    sig: BarSignal,
    params: Params,
    action: str,
    order_id: str,
    message: str,
    state: StrategyState | None = None,
) -> PlannedAlert:
    values = base_values(bar) | plot_values(
        sig, params, state.entry_price if state is not None else None
    )
    values |= {
        "strategy.order.action": action,
        "strategy.order.price": fmt(bar.close),
        "strategy.order.id": order_id,
        "strategy.order.alert_message": message,
    }
    return PlannedAlert(STRATEGY_TEMPLATE, message, values)


def final_exit(bar: Bar, sig: BarSignal, state: StrategyState, params: Params) -> PlannedAlert:
    """The end of the replay: an exit alert for whatever is still open."""
    closing = "buy" if state.side == "sell" else "sell"
    return _strategy(bar, sig, params, closing, "exit", "exit", state)


def study_alerts(bar: Bar, sig: BarSignal, params: Params) -> list[PlannedAlert]:
    """The study's alertconditions: one alert per signal, for a human to approve."""
    side = "buy" if sig.long_signal else "sell" if sig.short_signal else None
    if side is None:
        return []
    values = base_values(bar) | plot_values(sig, params)
    return [PlannedAlert(STUDY_TEMPLATES[side], "entry", values)]
