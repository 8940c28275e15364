"""Fixtures for the Pine tests: the two scripts parsed once, the bars, and pinets under Node."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.pine.paths import (
    BARS,
    HERE,
    INSTALLED,
    LOCKFILE,
    RUNNER,
    STRATEGY,
    STUDY,
    RunPinets,
)
from tests.pine.pine_facts import PineFacts, extract
from webhook_app.replay.bars import Bar, load_bars

MIN_NODE = 18
NO_NODE = (
    f"node >= {MIN_NODE} not found: install Node.js (apt-get install nodejs npm) "
    "to run the Pine runtime parity (tests/pine)"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run these tests after the rest of the suite: they are the slowest (~30 s, most of it
    pynescript), so the quick tests report first."""
    ours = [item for item in items if HERE in item.path.parents]
    items[:] = [item for item in items if HERE not in item.path.parents] + ours


@pytest.fixture(scope="session")
def pine() -> dict[str, PineFacts]:
    """Both scripts, parsed once per session: pynescript takes 20-26 s for the two."""
    started = time.perf_counter()
    facts = {"study": extract(STUDY), "strategy": extract(STRATEGY)}
    print(f"\npynescript: parsed both scripts in {time.perf_counter() - started:.1f} s")
    return facts


@pytest.fixture(scope="session")
def bars() -> list[Bar]:
    """The bundled bars, read by the app's own loader (pinets reads the CSV by itself)."""
    return load_bars(BARS)


def _node_version(exe: str) -> int | None:
    cmd = [exe, "--version"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    match = re.match(r"v(\d+)\.", done.stdout.strip())
    return int(match.group(1)) if done.returncode == 0 and match else None


def _installed_matches_lock() -> bool:
    """node_modules holds exactly the versions package-lock.json pins (npm ci's own record)."""
    if not INSTALLED.is_file():
        return False
    want = json.loads(LOCKFILE.read_text(encoding="utf-8"))["packages"]
    have = json.loads(INSTALLED.read_text(encoding="utf-8"))["packages"]
    pinned = {k: v.get("version") for k, v in want.items() if k}
    return pinned == {k: have.get(k, {}).get("version") for k in pinned}


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable, with the lockfile's packages installed in tests/pine/node_modules."""
    exe = shutil.which("node")
    version = _node_version(exe) if exe else None
    if exe is None or version is None or version < MIN_NODE:
        found = f" (found {exe}, major version {version})" if exe else ""
        pytest.skip(NO_NODE + found)
    if not _installed_matches_lock():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(
                "npm not found, and tests/pine/node_modules is missing or out of date: "
                "install npm (apt-get install npm) to run the Pine runtime parity"
            )
        done = subprocess.run(  # noqa: S603 - fixed arguments, pinned by package-lock.json
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed in {HERE}:\n{done.stdout}\n{done.stderr}"
    return exe


@pytest.fixture(scope="session")
def run_pinets(node: str) -> RunPinets:
    """Run a script on the bundled bars: {bars, plots, alerts, strategy, seconds}."""

    def run(script: Path, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        cmd = [node, str(RUNNER), str(BARS), str(script), "--inputs", json.dumps(inputs or {})]
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
        assert done.returncode == 0, f"pinets failed on {script.name}:\n{done.stderr}"
        out = json.loads(done.stdout)
        out["seconds"] = time.perf_counter() - started
        return out

    return run


@pytest.fixture(scope="session")
def study_run(run_pinets: RunPinets) -> dict[str, Any]:
    """The study under pinets with its default inputs."""
    return run_pinets(STUDY)
