"""Restart recovery: accepted alerts resume once, interrupted ones are flagged, none sent twice."""

from __future__ import annotations

import json
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

from tests.helpers import make_settings
from webhook_app.core import Core
from webhook_app.journal import ACCEPTED, Journal, NewAlert
from webhook_app.models import Alert, AlertKind, Side
from webhook_app.plan_rows import client_id_for

ENTRY = Alert(
    kind=AlertKind.ENTRY,
    ticker="BTCUSDT",
    side=Side.BUY,
    price=Decimal("40000"),
    stop_loss=Decimal("39800"),
    take_profit=Decimal("41000"),
    message="entry",
)


async def journal_accepted(
    data_dir: Path, alert_id: str, received_at: float, status: str = ACCEPTED
) -> None:
    """What a crash right after the acknowledgement leaves behind."""
    journal = Journal(data_dir, clock=lambda: received_at)
    await journal.start()
    await journal.record_alert(
        NewAlert(
            id=alert_id,
            route="order",
            source="tradingview",
            account="Testing",
            symbol="BTCUSDT",
            idem_key=f"k-{alert_id}",
            status=status,
            body="{}",
            alert=ENTRY.to_json(),
        ),
        600,
    )
    await journal.close()


async def test_young_accepted_alert_is_resumed_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    await journal_accepted(settings.data_dir, "a" * 16, time.time())
    async with Core(settings) as core:
        await core.executor.queues.drain()
        row = await core.journal.get("a" * 16)
        assert row is not None and row.status == "executed"
        orders = await core.venues.get("Testing").exchange.fetch_open_orders()
        assert len(orders) == 2  # stop and TP
    async with Core(settings) as core:  # a second restart does not run it again
        await core.executor.queues.drain()
        fills = await core.paper.store.run(
            lambda conn: conn.execute("SELECT COUNT(*) FROM paper_fills").fetchone()[0]
        )
        assert fills == 1


async def test_old_accepted_alert_is_flagged_not_executed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", RESUME_MAX_AGE="60")
    await journal_accepted(settings.data_dir, "b" * 16, time.time() - 3600)
    async with Core(settings) as core:
        row = await core.journal.get("b" * 16)
        assert row is not None and row.status == "needs_review"
        assert "3600 s old" in row.message
        assert await core.venues.get("Testing").exchange.fetch_open_orders() == []


async def test_interrupted_execution_is_reconciled_and_flagged(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    alert_id = "c" * 16
    await journal_accepted(settings.data_dir, alert_id, time.time())
    # Simulate a crash after the stop reached the venue, before the journal heard back.
    async with Core(settings) as core:
        await core.executor.queues.drain()
    journal = Journal(settings.data_dir)
    await journal.start()
    await journal.set_status(alert_id, "executing")
    await journal.update_order(client_id_for(alert_id, "stop"), status="planned")
    await journal.close()
    async with Core(settings) as core:
        row = await core.journal.get(alert_id)
        assert row is not None and row.status == "needs_review"
        assert "stop open" in row.message and "entry closed" in row.message
        fills = await core.paper.store.run(
            lambda conn: conn.execute("SELECT COUNT(*) FROM paper_fills").fetchone()[0]
        )
        assert fills == 1  # nothing was sent again


async def test_an_alert_whose_account_is_gone_is_flagged_not_fatal(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    await journal_accepted(settings.data_dir, "d" * 16, time.time())
    accounts = tmp_path / "accounts.toml"
    accounts.write_text("[accounts.Other]\n")
    moved = make_settings(tmp_path / "data", ACCOUNTS_FILE=str(accounts))
    async with Core(moved) as core:  # starts, despite the unknown account
        row = await core.journal.get("d" * 16)
        assert row is not None and row.status == "needs_review"
        assert "unknown subaccount 'Testing'" in row.message


async def test_the_journal_keeps_the_body_without_an_escaped_passphrase(tmp_path: Path) -> None:
    """A passphrase written as \\u escapes passes auth; the journal keeps the parsed body,
    without it, rather than raw text that redaction could miss."""
    from aiohttp.test_utils import TestClient, TestServer

    from tests.helpers import ORDER, PASSPHRASE, alert
    from webhook_app.web.app import init_app

    settings = make_settings(tmp_path / "data")
    escaped = "".join(f"\\u{ord(c):04x}" for c in PASSPHRASE)
    body = json.dumps(alert(passphrase="X")).replace('"X"', f'"{escaped}"')
    async with TestClient(TestServer(init_app(settings))) as http:
        assert (await http.post(ORDER, data=body)).status == 202
    with sqlite3.connect(settings.data_dir / "journal.sqlite3") as conn:
        (stored,) = conn.execute("SELECT body FROM alerts").fetchone()
    assert "passphrase" not in stored and escaped[:12] not in stored and "BTCUSDT" in stored
