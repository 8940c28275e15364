"""The adversarial campaign: each test records its figure, and the run ends with all of them."""

from __future__ import annotations

from typing import Any

import pytest

FIGURES: list[tuple[str, str]] = []


@pytest.fixture
def figure() -> Any:
    def record(name: str, value: Any) -> None:
        FIGURES.append((name, str(value)))
        print(f"\n[figure] {name}: {value}")

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("adversarial figures")
        for name, value in FIGURES:
            terminalreporter.write_line(f"{name}: {value}")
