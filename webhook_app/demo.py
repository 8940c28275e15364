"""`make demo`: a replay of real bars through the study, alertmodel.txt and the real HTTP route,
onto the paper exchange, in a temporary data dir. Ends with a trade table, the figures, a chart
and the `demo:` line."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from .replay.bars import load_bars
from .replay.report import summarize, trade_table, write_chart
from .replay.run import Replay, run_replay

DEFAULT_CHART = Path("data") / "demo-replay.png"


def run_demo(
    *,
    keep: bool = False,
    study: bool = False,
    bars: int | None = None,
    chart: Path | None = DEFAULT_CHART,
) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="tv-bridge-demo-"))
    try:
        return asyncio.run(_demo(data_dir, study=study, limit=bars, chart=chart))
    finally:
        if keep:
            print(f"data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


async def _demo(data_dir: Path, *, study: bool, limit: int | None, chart: Path | None) -> int:
    bars = load_bars(limit=limit)
    route = "the study route, every alert approved" if study else "the strategy's order route"
    print(
        f"demo: replaying {len(bars):,} EURUSD H1 bars through {route}, "
        f"on the paper exchange (data in {data_dir})"
    )
    started = time.monotonic()
    bar = ProgressBar(len(bars))
    replay = await run_replay(bars, data_dir, study=study, progress=bar.update)
    bar.done()
    if study:
        _keep_a_study_chart(data_dir, chart)
    _print_report(replay, time.monotonic() - started, chart)
    return 0 if replay.open_orders == 0 and not replay.held else 1


def _keep_a_study_chart(data_dir: Path, chart: Path | None) -> None:
    """The relay saved each study alert's chart under DATA_DIR/charts: keep the last one."""
    charts = sorted((data_dir / "charts").glob("*.png"), key=lambda p: p.stat().st_mtime)
    if not charts:
        print("study charts: none was drawn")
        return
    target = (chart.parent if chart else Path("data")) / "demo-study-chart.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(charts[-1], target)
    print(f"study charts: {len(charts)} drawn for the relayed alerts; the last one: {target}")


def _print_report(replay: Replay, seconds: float, chart: Path | None) -> None:
    summary = summarize(replay)
    cur = replay.currency
    print("\n" + "\n".join(trade_table(replay)))
    print(f"\nalerts: {replay.alerts} " + _statuses(replay))
    print(
        f"trades: {summary.trades}, win rate {summary.win_rate:.1f} %, "
        f"PnL {summary.pnl:+.2f} {cur} (fees {summary.fees:.2f} {cur} included), "
        f"max drawdown {summary.max_drawdown:.2f} {cur} ({summary.max_drawdown_pct:.1f} %)"
    )
    if replay.open_orders or replay.held:
        print(f"LEFT OVER: position {replay.held}, {replay.open_orders} open order(s)")
    else:
        print("the book ends flat: no position, no order left at the exchange")
    if chart is not None:
        print(f"chart: {write_chart(replay, chart)}")
    print(f"({len(replay.bars):,} bars in {seconds:.1f} s)\n")
    print(
        f"demo: {replay.alerts} alerts, {replay.orders} orders, {summary.trades} trades, "
        f"pnl {summary.pnl:.2f} {cur}"
    )


def _statuses(replay: Replay) -> str:
    return "(" + ", ".join(f"{k} {v}" for k, v in sorted(replay.statuses.items())) + ")"


class ProgressBar:
    """A one-line bar on a terminal, a line per 10 % elsewhere. Twenty lines, so no dependency."""

    WIDTH = 30

    def __init__(self, total: int, out: TextIO = sys.stderr) -> None:
        self.total, self.out = total, out
        self.tty = out.isatty()
        self.shown = -1

    def update(self, done: int, replay: Replay) -> None:
        step = done * (self.WIDTH if self.tty else 10) // self.total
        if step == self.shown:
            return
        self.shown = step
        filled = done * self.WIDTH // self.total
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:>6,}/{self.total:,} bars, "
            f"{replay.alerts} alerts"
        )
        if self.tty:
            self.out.write("\r" + line)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def done(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()
