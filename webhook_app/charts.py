"""Chart images of a trade: candles with the entry, stop and take-profits, rendered by mplfinance
on one worker thread, within a time budget (a picture never holds an alert back)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .exchanges.base import Candle

logger = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX, DPI = 1000, 560, 100
LEVEL_COLORS = {"entry": "#f1c40f", "stop": "#e74c3c", "tp": "#2ecc71", "order": "#95a5a6"}


@dataclass(frozen=True)
class Level:
    kind: str  # entry | stop | tp | order (an open order, on !chart)
    price: Decimal
    label: str


@dataclass(frozen=True)
class ChartSpec:
    symbol: str
    interval: str
    candles: Sequence[Candle]
    levels: tuple[Level, ...] = ()
    signal_time: int | None = None  # ms: the bar it fired on is marked
    title: str = ""


def chart_data(spec: ChartSpec) -> dict[str, Any]:
    """Everything handed to mplfinance: the frame, the level lines and the marker (tested)."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "Open": [float(c.open) for c in spec.candles],
            "High": [float(c.high) for c in spec.candles],
            "Low": [float(c.low) for c in spec.candles],
            "Close": [float(c.close) for c in spec.candles],
            "Volume": [float(c.volume) for c in spec.candles],
        },
        index=pd.DatetimeIndex(pd.to_datetime([c.time for c in spec.candles], unit="ms")),
    )
    marker = [float("nan")] * len(spec.candles)
    signal = _signal_index(spec)
    ranges = sorted(float(c.high - c.low) for c in spec.candles) or [0.0]
    if signal is not None:  # just under the bar
        marker[signal] = float(spec.candles[signal].low) - ranges[len(ranges) // 2]
    prices = [*frame["Low"], *frame["High"], *(float(level.price) for level in spec.levels)]
    pad = (max(prices) - min(prices)) * 0.04 if prices else 0.0
    return {
        "frame": frame,
        "hlines": [float(level.price) for level in spec.levels],
        "colors": [LEVEL_COLORS.get(level.kind, "#95a5a6") for level in spec.levels],
        "labels": [level.label for level in spec.levels],
        "marker": marker,
        "signal_index": signal,
        "title": spec.title,
        "ylim": (min(prices) - pad, max(prices) + pad) if prices else None,  # every level shows
    }


def _signal_index(spec: ChartSpec) -> int | None:
    if not spec.candles:
        return None
    if spec.signal_time is None:
        return len(spec.candles) - 1
    starts = [c.time for c in spec.candles]
    index = max((i for i, t in enumerate(starts) if t <= spec.signal_time), default=None)
    return index


def render_png(spec: ChartSpec) -> bytes:
    """The PNG (WIDTH_PX × HEIGHT_PX): dark, to read well in Discord."""
    import matplotlib

    # nightclouds asks for a "semibold" DejaVu; matplotlib warns on every title and uses bold.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

    matplotlib.use("Agg")
    import mplfinance as mpf

    data = chart_data(spec)
    style = mpf.make_mpf_style(base_mpf_style="nightclouds", gridstyle=":", y_on_right=False)
    extra = []
    if data["signal_index"] is not None:
        extra.append(
            mpf.make_addplot(
                data["marker"], type="scatter", marker="^", markersize=90, color="#3498db"
            )
        )
    kwargs: dict[str, Any] = {
        "type": "candle",
        "style": style,
        "addplot": extra,
        "returnfig": True,
        "figsize": (WIDTH_PX / DPI, HEIGHT_PX / DPI),
        "title": data["title"],
        "volume": False,
        "tight_layout": True,
    }
    if data["ylim"] is not None:
        kwargs["ylim"] = data["ylim"]
    if data["hlines"]:
        kwargs["hlines"] = {
            "hlines": data["hlines"],
            "colors": data["colors"],
            "linestyle": "--",
            "linewidths": 1.0,
        }
    fig, axes = mpf.plot(data["frame"], **kwargs)
    axis = axes[0]
    for price, label, color in zip(data["hlines"], data["labels"], data["colors"], strict=True):
        axis.annotate(
            label,
            xy=(0, price),
            xycoords=("axes fraction", "data"),
            color=color,
            fontsize=8,
            va="bottom",
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


class ChartRenderer:
    """One worker thread (matplotlib is not thread-safe); each render has a time budget."""

    def __init__(
        self, budget_s: float = 2.0, render: Callable[[ChartSpec], bytes] = render_png
    ) -> None:
        self.budget_s, self.render = budget_s, render
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")
        self.queued = 0  # renders waiting or running: a burst is not queued up behind itself
        self.max_queued = 2

    def warm_up(self) -> None:
        """Import mplfinance (≈1 s) on the worker now, not on the first alert's budget."""
        self._pool.submit(_warm)

    async def render_within_budget(
        self, spec: ChartSpec, budget_s: float | None = None
    ) -> tuple[bytes | None, str]:
        """(PNG, "") or (None, why not). Never waits longer than the budget."""
        budget = self.budget_s if budget_s is None else budget_s
        if len(spec.candles) < 2:
            return None, f"no candles for {spec.symbol} {spec.interval} yet"
        if self.queued >= self.max_queued:
            return None, "the chart renderer is busy (a burst of alerts)"
        loop = asyncio.get_running_loop()
        self.queued += 1
        job = loop.run_in_executor(self._pool, self.render, spec)
        job.add_done_callback(self._finished)
        try:
            png = await asyncio.wait_for(asyncio.shield(job), budget)
        except TimeoutError:
            return None, f"the chart was not ready within {self.budget_s:g} s"
        except Exception as e:  # a renderer bug must not stop the relay
            logger.exception("chart rendering failed for %s", spec.symbol)
            return None, f"the chart could not be drawn ({type(e).__name__})"
        return png, ""

    def _finished(self, _job: object) -> None:
        self.queued -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _warm() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import mplfinance  # noqa: F401
