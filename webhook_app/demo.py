"""`make demo`: the server on the paper exchange, fed the alertmodel.txt examples over real HTTP."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from .alertmodel import load_alertmodel
from .config import DEFAULT_ACCOUNT, load_settings
from .core import Core
from .exchanges import paper_store
from .web.app import init_app
from .web.keys import CORE

ORDER_ROUTE = "/tradingview-to-webhook-order"


def run_demo(*, keep: bool = False) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="tv-bridge-demo-"))
    try:
        return asyncio.run(_demo(data_dir))
    finally:
        if keep:
            print(f"data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


async def _demo(data_dir: Path) -> int:
    passphrase = secrets.token_urlsafe(24)
    settings = load_settings(
        {"WEBHOOK_PASSPHRASE": passphrase, "DATA_DIR": str(data_dir), "ACCOUNTS_FILE": ""},
        env_file=None,
    )
    app = init_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    base = f"http://127.0.0.1:{port}"
    core: Core = app[CORE]
    print(f"demo: server on {base}, paper account {DEFAULT_ACCOUNT!r}, data in {data_dir}\n")
    examples = load_alertmodel()["strategy-multi-tp"].examples
    try:
        async with aiohttp.ClientSession() as http:

            async def post(name: str) -> dict[str, Any]:
                body = _render(examples[name], passphrase)
                async with http.post(f"{base}{ORDER_ROUTE}?wait=2.5", data=body) as response:
                    answer = await response.json()
                outcome = f"HTTP {response.status} {answer['status']}"
                print(f"POST {name:<14} → {outcome}: {answer['message']}")
                return answer

            await post("entry")
            await _move(core, "BTCUSDT", Decimal("40160"), "TP1 (0.75 R) is reached")
            await post("tp1_breakeven")
            await _move(core, "BTCUSDT", Decimal("40310"), "TP2 (1.5 R) is reached")
            await post("tp2")
            await post("exit")
        return await _report(core, alerts=4)
    finally:
        await runner.cleanup()


def _render(example: str, passphrase: str) -> str:
    """The example as TradingView would send it now: fire time and the real passphrase."""
    data = json.loads(example)
    data["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data["passphrase"] = passphrase
    return json.dumps(data)


async def _move(core: Core, symbol: str, price: Decimal, why: str) -> None:
    fills_before = await _count(core, "SELECT COUNT(*) FROM paper_fills")
    await core.paper.feed_price(symbol, price)
    fills = await _count(core, "SELECT COUNT(*) FROM paper_fills")
    print(f"price {symbol} → {price}: {why}; {fills - fills_before} order(s) filled")


async def _count(core: Core, sql: str) -> int:
    return await core.paper.store.run(lambda conn: conn.execute(sql).fetchone()[0])


async def _report(core: Core, *, alerts: int) -> int:
    exchange = core.venues.get(DEFAULT_ACCOUNT).exchange
    rows = await core.paper.store.run(
        lambda conn: conn.execute(
            "SELECT client_id, type, side, amount, trigger_price, status, filled, average"
            " FROM paper_orders ORDER BY timestamp"
        ).fetchall()
    )
    print("\norders at the paper exchange")
    print(
        f"  {'client id':<20} {'type':<12} {'side':<5} {'amount':>8} {'trigger':>8} "
        f"{'status':<9} {'filled':>7} {'avg':>8}"
    )
    for r in rows:
        print(
            f"  {r['client_id']:<20} {r['type']:<12} {r['side']:<5} {r['amount']:>8} "
            f"{r['trigger_price'] or '':>8} {r['status']:<9} {r['filled']:>7} "
            f"{r['average'] or '':>8}"
        )
    positions = await exchange.fetch_positions()
    print(
        "\npositions: "
        + (", ".join(f"{p.symbol} {p.size} @ {p.entry_price}" for p in positions) or "flat")
    )
    balance = await exchange.fetch_balance()
    start = core.settings.accounts[DEFAULT_ACCOUNT].balance
    trades = await core.paper.store.run(
        lambda conn: paper_store.closed_trades(conn, DEFAULT_ACCOUNT)
    )
    for t in trades:
        exit_price = t.exit_value / t.exit_amount if t.exit_amount else Decimal(0)
        print(
            f"trade: {t.side.direction} {t.size} {t.symbol} @ {t.entry_price:.2f} → "
            f"{exit_price:.2f}, pnl {t.pnl:+.2f} {balance.currency} (fees included)"
        )
    pnl = balance.total - start
    print(f"balance: {balance.total:.2f} {balance.currency} (started {start:.2f})\n")
    print(
        f"demo: {alerts} alerts, {len(rows)} orders, {len(trades)} trades, "
        f"pnl {pnl:.2f} {balance.currency}"
    )
    return 0
