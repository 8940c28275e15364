"""500 random alerts against tight limits: no limit is ever crossed, and every refusal says which
limit and by how much. The daily loss limit switches the account to reducing-only by itself. After
a halt, nothing new goes out while cancels still work."""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.helpers import API_TOKEN, alert, fired, make_settings

ACCOUNT = """
default = "Testing"
[accounts.Testing]
exchange = "paper"
risk_pct = 1
max_risk_pct = 3
max_leverage = 2
max_notional = 5000
max_open_positions = 3
max_orders_per_minute = 40
max_daily_loss_pct = 50
"""
PRICES = {
    "AAAUSDT": 100,
    "BBBUSDT": 1000,
    "CCCUSDT": 40000,
    "DDDUSDT": 250,
    "EEEUSDT": 3,
    "FFFUSDT": 7000,
}
LIMIT_NAMES = ("max_open_positions", "max_orders_per_minute", "max_daily_loss_pct")
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def random_alert(rng: random.Random, n: int) -> dict[str, Any]:
    symbol, base = rng.choice(list(PRICES.items()))
    price = round(base * rng.uniform(0.99, 1.01), 2)  # each market moves, within reason
    kind = rng.choices(["entry", "exit", "tp1_breakeven"], weights=[6, 2, 1])[0]
    action = rng.choice(["buy", "sell"])
    stop_gap = price * rng.choice([0.001, 0.01, 0.05, 0.3])
    return alert(
        ticker=symbol,
        price=price,
        action=action,
        message=kind,
        time=fired(n % 50),
        risk=rng.choice([0.5, 1, 2, 3]),
        **{
            "long SL": price - stop_gap,
            "short SL": price + stop_gap,
            "long TP": price * 1.5,
            "short TP": price * 0.5,
            "long Breakeven": price * 1.001,
            "short Breakeven": price * 0.999,
        },
    )


async def test_random_alerts_never_cross_a_limit(
    make_client: Any, tmp_path: Path, figure: Any
) -> None:
    (tmp_path / "accounts.toml").write_text(ACCOUNT)
    client = await make_client(ACCOUNTS_FILE=str(tmp_path / "accounts.toml"))
    rng = random.Random(11)
    most_positions = 0

    def watch(event: Any) -> None:
        nonlocal most_positions
        book = client.core.venues.get("Testing").book
        most_positions = max(most_positions, sum(1 for p in book.positions.values() if p.size))

    client.core.events.listeners.append(watch)
    answers = []
    for n in range(500):
        answers.append(
            await client.post("/tradingview-to-webhook-order", random_alert(rng, n), wait=2.5)
        )
    refusals = [a for s, a in answers if a["status"] == "rejected"]
    limit_refusals = Counter(name for a in refusals for name in LIMIT_NAMES if name in a["message"])
    with sqlite3.connect(client.core.settings.data_dir / "paper.sqlite3") as conn:
        rows = conn.execute(
            "SELECT client_id, type, amount, price FROM paper_orders ORDER BY timestamp"
        ).fetchall()
    journal = await client.core.journal.query("SELECT id, plan FROM alerts WHERE plan IS NOT NULL")
    entries = [r for r in rows if r[0].endswith("en")]
    biggest = max(
        (
            Decimal(_plan_notional(row["plan"]))
            for row in journal
            if '"kind": "entry"' in row["plan"]
        ),
        default=Decimal(0),
    )
    figure(
        "limits",
        f"500 random alerts: {len(entries)} entries, {len(refusals)} refused "
        f"({dict(limit_refusals)} by a limit), largest notional {biggest:.2f} (max 5000), "
        f"most positions at once {most_positions} (max 3)",
    )
    assert biggest <= 5000 and most_positions <= 3
    entry_alerts = {r[0][:16] for r in entries}
    last_entry_order = max(i for i, r in enumerate(rows) if r[0][:16] in entry_alerts)
    # All 500 arrive within the minute: up to the last order of new exposure, at most 40 sent.
    assert last_entry_order + 1 <= 40, "max_orders_per_minute held for new exposure"
    assert limit_refusals, "the limits were reached, or the test proves nothing"
    for answer in refusals:
        assert answer["message"], answer
        if any(name in answer["message"] for name in LIMIT_NAMES):
            assert re.search(r"\d", answer["message"]), "the figures are in the refusal"


async def test_alerts_at_once_on_many_symbols_cannot_race_past_a_limit(
    make_client: Any, tmp_path: Path, figure: Any
) -> None:
    """Each alert is planned while the others' orders are still in flight (50 ms a call): a
    plan that passed counts at once, not when its orders come back."""
    (tmp_path / "accounts.toml").write_text(ACCOUNT.replace("max_orders_per_minute = 40", ""))
    client = await make_client(ACCOUNTS_FILE=str(tmp_path / "accounts.toml"), PAPER_LATENCY_MS="50")
    bodies = [
        alert(ticker=s, price=p, **{"long SL": p * 0.99, "long TP": p * 1.5})
        for s, p in PRICES.items()
    ]
    answers = await asyncio.gather(
        *(client.post("/tradingview-to-webhook-order", b, wait=2.5) for b in bodies)
    )
    statuses = Counter(a["status"] for _, a in answers)
    held = [p for p in client.core.venues.get("Testing").book.positions.values() if p.size]
    assert len(held) == 3 and statuses["rejected"] == 3, statuses
    refused = [a["message"] for _, a in answers if a["status"] == "rejected"]
    assert all("max open positions" in message for message in refused)

    (tmp_path / "accounts.toml").write_text(
        ACCOUNT.replace("max_open_positions = 3", "").replace("= 40", "= 12")
    )
    other = await make_client(
        make_settings(
            tmp_path / "other",
            ACCOUNTS_FILE=str(tmp_path / "accounts.toml"),
            PAPER_LATENCY_MS="50",
        )
    )
    answers = await asyncio.gather(
        *(other.post("/tradingview-to-webhook-order", b, wait=2.5) for b in bodies)
    )
    with sqlite3.connect(other.core.settings.data_dir / "paper.sqlite3") as conn:
        (sent,) = conn.execute("SELECT COUNT(*) FROM paper_orders").fetchone()
    assert sent <= 12, sent
    figure(
        "limits at once",
        f"6 entries on 6 symbols at once: max_open_positions 3 → {len(held)} opened, "
        f"{statuses['rejected']} refused; max_orders_per_minute 12 → {sent} orders sent",
    )


def _plan_notional(plan_json: str) -> str:
    match = re.search(r'"notional": "([^"]+)"', plan_json)
    return match.group(1) if match else "0"


async def test_the_daily_loss_limit_switches_to_reducing_by_itself(
    make_client: Any, tmp_path: Path, figure: Any
) -> None:
    (tmp_path / "accounts.toml").write_text(
        ACCOUNT.replace("max_daily_loss_pct = 50", "max_daily_loss_pct = 0.5")
    )
    client = await make_client(ACCOUNTS_FILE=str(tmp_path / "accounts.toml"))
    await client.post(
        "/tradingview-to-webhook-order",
        alert(ticker="AAAUSDT", price=100, **{"long SL": 80, "long TP": 150}),
        wait=2.5,
    )
    await client.core.paper.feed_price("AAAUSDT", Decimal(90))  # −1 %: past the 0.5 % limit
    await asyncio.sleep(0.05)
    await client.core.management.close()
    switch = client.core.switch.get("Testing")
    status, answer = await client.post(
        "/tradingview-to-webhook-order",
        alert(ticker="BBBUSDT", price=100, time=fired(1), **{"long SL": 90, "long TP": 150}),
        wait=2.5,
    )
    figure(
        "daily loss",
        f"equity down past 0.5 % → {switch.mode} by {switch.by}; next entry "
        f"{status} {answer['status']}",
    )
    assert switch.mode == "reducing" and "daily loss limit" in switch.reason
    assert (status, answer["status"]) == (503, "halted")
    _, closing = await client.post(
        "/tradingview-to-webhook-order",
        alert(ticker="AAAUSDT", price=90, message="exit", action="sell", time=fired(2)),
        wait=2.5,
    )
    assert closing["status"] == "executed", "closes still go through"


async def test_after_a_halt_nothing_new_goes_out_but_cancels_do(
    make_client: Any, figure: Any
) -> None:
    client = await make_client()
    _, resting = await client.post(
        "/webhook/signal",
        {
            "action": "openLong",
            "ticker": "BTCUSDT",
            "price": "40000",
            "limit": "39000",
            "fixed": "0.1",
            "connectorName": "Testing",
            "connectorToken": alert()["passphrase"],
        },
        wait=2.5,
    )
    exchange = client.core.venues.get("Testing").exchange
    before = len(await exchange.fetch_open_orders())
    status, _ = await api(client, "/api/halt", {"mode": "halted", "by": "desk"})
    assert status == 200
    refused = [
        await client.post(
            "/tradingview-to-webhook-order", alert(ticker=f"H{i}USDT", time=fired(i)), wait=2.5
        )
        for i in range(20)
    ]
    assert all(s == 503 and a["status"] == "halted" for s, a in refused)
    assert len(await exchange.fetch_open_orders()) == before
    status, cancelled = await api(client, "/api/cancel_order", {"sym": "BTCUSDT", "by": "desk"})
    figure(
        "halt",
        f"20 entries after a halt → 20 × 503, 0 new orders; cancel → {status}, "
        f"{len(cancelled['data'])} cancelled",
    )
    assert status == 200 and cancelled["data"]
    assert await exchange.fetch_open_orders() == []
    assert resting["status"] == "executed"


async def api(client: Any, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.http.post(path, json=body, headers=AUTH)
    return response.status, await response.json()
