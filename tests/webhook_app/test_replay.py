"""The replay behind `make demo`: real bars, the study's signals, alertmodel.txt, real HTTP."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from webhook_app.replay.bars import Bar, load_bars, price_path
from webhook_app.replay.report import reason, summarize, trade_table
from webhook_app.replay.run import run_replay
from webhook_app.replay.signals import compute


def test_the_bundled_bars_are_real_hourly_eurusd() -> None:
    bars = load_bars()
    assert len(bars) == 5000
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
    assert all(later.time > earlier.time for earlier, later in zip(bars, bars[1:], strict=False))


@pytest.mark.parametrize(
    ("bar", "path"),
    [
        (Bar(0, 1.0, 1.3, 0.9, 1.2), (1.0, 0.9, 1.3, 1.2)),  # up bar: dips first
        (Bar(0, 1.2, 1.3, 0.9, 1.0), (1.2, 1.3, 0.9, 1.0)),  # down bar: peaks first
    ],
)
def test_a_bars_prices_follow_a_documented_path(bar: Bar, path: tuple[float, ...]) -> None:
    assert price_path(bar) == path


async def test_a_strategy_replay_trades_every_flat_signal_and_ends_flat(tmp_path: Path) -> None:
    bars = load_bars(limit=1200)
    replay = await run_replay(bars, tmp_path / "data")
    signals = [s for s in compute(bars) if s.long_signal or s.short_signal]
    assert len(replay.trades) == 8 and len(signals) >= 8
    assert replay.statuses == {
        "entry: executed": 8,
        "exit: executed": 2,
        "tp1_breakeven: executed": 1,
    }
    assert replay.held == 0 and replay.open_orders == 0, "no position, no orphaned stop or TP"
    entries = [f for f in replay.fills if f.role == "entry"]
    signal_times = {bars[s.index].time for s in signals}
    assert len(entries) == 8 and {f.time for f in entries} <= signal_times  # at signal closes
    summary = summarize(replay)
    assert summary.trades == 8 and summary.fees > 0
    assert abs(replay.equity[-1][1] - (replay.start_balance + summary.pnl)) < Decimal("1e-9")
    assert len(trade_table(replay)) == 9
    assert {reason(t.closed_by) for t in replay.trades} <= {
        "stop-loss",
        "breakeven stop",
        "take-profit",
        "exit alert",
        "TP1 (last of the position)",
        "TP2 (last of the position)",
    }


async def test_a_study_replay_approves_every_signal(tmp_path: Path) -> None:
    bars = load_bars(limit=800)
    replay = await run_replay(bars, tmp_path / "data", study=True)
    signals = [s for s in compute(bars) if s.long_signal or s.short_signal]
    assert replay.alerts == len(signals) == 6
    assert replay.statuses == {"entry: executed": 6}  # relayed, approved, executed
    assert replay.held == 0 and replay.open_orders == 0
    pnl = sum(t.pnl for t in replay.trades)
    assert abs(pnl - (replay.equity[-1][1] - Decimal(10000))) < Decimal("1e-9")
