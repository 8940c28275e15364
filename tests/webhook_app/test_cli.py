"""The command line: `send` to a real server, `demo` end to end, `serve` refusing bad config."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import PASSPHRASE, make_settings
from webhook_app import send
from webhook_app.alertmodel import PASSPHRASE_PLACEHOLDER, load_alertmodel
from webhook_app.web.app import init_app, serve_on_loopback

ROOT = Path(__file__).resolve().parents[2]


async def test_send_posts_an_alertmodel_example_and_prints_the_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runner, base = await serve_on_loopback(init_app(make_settings(tmp_path / "data")))
    try:
        code = await asyncio.to_thread(
            send.main,
            "order",
            "strategy-multi-tp:entry",
            base_url=base,
            wait=2.5,
            passphrase=PASSPHRASE,
        )
    finally:
        await runner.cleanup()
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("HTTP 200") and '"status": "executed"' in out


def test_send_fills_the_visible_passphrase_placeholder_only() -> None:
    example = load_alertmodel()["strategy-basic"].examples["entry"]
    assert PASSPHRASE_PLACEHOLDER in example
    filled = send.fill_passphrase(example, 'a"b')
    assert '"passphrase": "a\\"b"' in filled
    assert send.fill_passphrase('{"passphrase": "mine"}', "other") == '{"passphrase": "mine"}'


def test_send_rejects_an_unknown_route_or_example() -> None:
    with pytest.raises(SystemExit, match="unknown route"):
        send.route_path("nowhere")
    with pytest.raises(SystemExit, match="neither a file nor an alertmodel.txt example"):
        send.read_source("no-such-block:entry")


def run_module(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "ACCOUNTS"))}
    full_env.update(env or {})
    return subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "webhook_app", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo_ends_with_its_summary_line(tmp_path: Path) -> None:
    chart = tmp_path / "replay.png"
    result = run_module("demo", "--bars", "1200", "--chart", str(chart))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert re.fullmatch(r"demo: 11 alerts, 43 orders, 8 trades, pnl -?\d+\.\d\d USDT", lines[-1])
    assert "the book ends flat: no position, no order left at the exchange" in result.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "1,200/1,200 bars" in result.stderr  # the progress bar (a line per 10 % off a tty)


def test_serve_refuses_to_start_without_a_passphrase(tmp_path: Path) -> None:
    result = run_module("serve", env={"DATA_DIR": str(tmp_path), "WEBHOOK_PASSPHRASE": ""})
    assert result.returncode == 2
    assert "WEBHOOK_PASSPHRASE is required" in result.stderr
