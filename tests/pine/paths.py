"""Where the Pine tests find the scripts, the bars and the pinets runner (and its type)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from webhook_app.replay.bars import DEFAULT_BARS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STUDY = ROOT / "pinestrategies" / "Quick-Mean-Reversion-Study.pine"
STRATEGY = ROOT / "pinestrategies" / "Quick-Mean-Reversion-Strat.pine"
BARS = DEFAULT_BARS  # webhook_app/replay/data/eurusd_h1.csv, the demo's bars
RUNNER = HERE / "run_study.mjs"
LOCKFILE = HERE / "package-lock.json"
INSTALLED = HERE / "node_modules" / ".package-lock.json"  # npm ci's record of what it installed

# The run_pinets fixture: run_pinets(script, inputs_by_title=None) -> {bars, plots, alerts, ...}
RunPinets = Callable[..., dict[str, Any]]
