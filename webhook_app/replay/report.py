"""What the replay did: the trade table, win rate, PnL, fees and drawdown, and a PNG chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from ..plan_rows import role_of
from .run import Replay

REASONS = {
    "stop": "stop-loss",
    "be_stop": "breakeven stop",
    "tp": "take-profit",
    "close": "exit alert",
    "flatten": "safety close",
}


@dataclass(frozen=True)
class Summary:
    trades: int
    wins: int
    pnl: Decimal
    fees: Decimal
    max_drawdown: Decimal
    max_drawdown_pct: Decimal

    @property
    def win_rate(self) -> float:
        return self.wins / self.trades * 100 if self.trades else 0.0


def summarize(replay: Replay) -> Summary:
    pnl = sum((t.pnl for t in replay.trades), Decimal(0))
    fees = replay.fees
    peak, worst, worst_pct = replay.start_balance, Decimal(0), Decimal(0)
    for _, equity in replay.equity:
        peak = max(peak, equity)
        if peak - equity > worst:
            worst, worst_pct = peak - equity, (peak - equity) / peak * 100
    wins = sum(1 for t in replay.trades if t.pnl > 0)
    return Summary(len(replay.trades), wins, pnl, fees, worst, worst_pct)


def reason(closed_by: str | None) -> str:
    role = role_of(closed_by or "") or ""
    if role.startswith("tp") and role != "tp":
        return f"{role.upper()} (last of the position)"
    return REASONS.get(role, role or "?")


def trade_table(replay: Replay) -> list[str]:
    cur = replay.currency
    lines = [
        f"{'#':>3}  {'side':<5} {'entry (bar open, UTC)':<21} {'entry':>9} {'exit':>9} "
        f"{'size':>10}  {'PnL ' + cur:>11}  exit by"
    ]
    entered = [f.time for f in replay.fills if f.role == "entry"]  # one entry per trade, in order
    for n, t in enumerate(replay.trades, start=1):
        exit_price = t.exit_value / t.exit_amount if t.exit_amount else Decimal(0)
        when = _when(entered[n - 1] if n <= len(entered) else None)
        lines.append(
            f"{n:>3}  {t.side.direction:<5} {when:<21} "
            f"{t.entry_price:>9.5f} {exit_price:>9.5f} {t.size:>10.2f}  {t.pnl:>+11.2f}  "
            f"{reason(t.closed_by)}"
        )
    return lines


def _when(ms: int | None) -> str:
    if ms is None:
        return "?"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def write_chart(replay: Replay, path: Path) -> Path:
    """Price with every entry and exit, and the account's equity below it."""
    import matplotlib  # the chart is the only thing that needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [datetime.fromtimestamp(b.time / 1000, UTC) for b in replay.bars]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot(times, [b.close for b in replay.bars], color="#555", linewidth=0.7, label="close")
    for kind, marker, color in (("buy", "^", "#1a9850"), ("sell", "v", "#d73027")):
        entries = [f for f in replay.fills if f.role == "entry" and f.side == kind]
        top.scatter(
            [datetime.fromtimestamp(f.time / 1000, UTC) for f in entries],
            [float(f.price) for f in entries],
            marker=marker,
            color=color,
            s=40,
            zorder=3,
            label="long entry" if kind == "buy" else "short entry",
        )
    exits = [f for f in replay.fills if f.role != "entry"]
    top.scatter(
        [datetime.fromtimestamp(f.time / 1000, UTC) for f in exits],
        [float(f.price) for f in exits],
        marker="x",
        color="#2c7bb6",
        s=18,
        zorder=3,
        label="exit (SL, TP, alert)",
    )
    top.set_title(f"Replay: {len(replay.bars):,} EURUSD H1 bars, {len(replay.trades)} trades")
    top.legend(loc="upper left", fontsize=8)
    bottom.plot(times, [float(e) for _, e in replay.equity], color="#2c7bb6", linewidth=1)
    bottom.axhline(float(replay.start_balance), color="#999", linewidth=0.6, linestyle="--")
    bottom.set_ylabel(f"equity ({replay.currency})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
