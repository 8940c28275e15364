"""`make bench` keeps working: a tiny run of the whole harness (it checks no time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_bench_harness_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["cores"] >= 1 and [r["concurrency"] for r in figures["levels"]] == [1, 10]
    for row in figures["levels"]:
        assert row["app"]["errors"] == 0 and row["app"]["orders_per_alert"] == 4
        assert row["app"]["alert_to_stop_ms"]["p50"] > 0 and row["seed"]["errors"] == 0
    assert figures["relay"]["study_burst"]["inside_retry_after"] == 0
    assert figures["relay"]["charts"]["render_ms"]["p50"] > 0
    assert "written:" in result.stdout
