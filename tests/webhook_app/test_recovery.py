"""Restart recovery: accepted alerts resume once, interrupted ones are flagged, none sent twice."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from tests.helpers import make_settings
from webhook_app.core import Core
from webhook_app.journal import ACCEPTED, Journal, NewAlert
from webhook_app.models import Alert, AlertKind, Side
from webhook_app.placement import client_id_for

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
