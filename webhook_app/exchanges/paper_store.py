"""SQLite schema and row mapping for the paper venue (runs on the storage thread)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from ..models import OrderType, Side
from .base import OPEN, Order
from .paper_engine import Changes, PaperEngine, PositionState, TradeState

SCHEMA = """
CREATE TABLE IF NOT EXISTS paper_accounts(
    account TEXT PRIMARY KEY, balance TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS paper_orders(
    account TEXT NOT NULL, id TEXT NOT NULL, client_id TEXT NOT NULL, symbol TEXT NOT NULL,
    side TEXT NOT NULL, type TEXT NOT NULL, amount TEXT NOT NULL, price TEXT, trigger_price TEXT,
    reduce_only INTEGER NOT NULL, status TEXT NOT NULL, filled TEXT NOT NULL, average TEXT,
    fee TEXT NOT NULL, timestamp REAL NOT NULL, PRIMARY KEY(account, id));
CREATE UNIQUE INDEX IF NOT EXISTS paper_orders_client ON paper_orders(account, client_id);
CREATE INDEX IF NOT EXISTS paper_orders_open ON paper_orders(account, status);
CREATE TABLE IF NOT EXISTS paper_positions(
    account TEXT NOT NULL, symbol TEXT NOT NULL, size TEXT NOT NULL, entry TEXT NOT NULL,
    PRIMARY KEY(account, symbol));
CREATE TABLE IF NOT EXISTS paper_prices(symbol TEXT PRIMARY KEY, price TEXT NOT NULL, time REAL);
CREATE TABLE IF NOT EXISTS paper_candles(
    symbol TEXT NOT NULL, time INTEGER NOT NULL, open TEXT, high TEXT, low TEXT, close TEXT,
    volume TEXT, PRIMARY KEY(symbol, time));
CREATE TABLE IF NOT EXISTS paper_fills(
    id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, order_id TEXT, client_id TEXT,
    symbol TEXT, side TEXT, amount TEXT, price TEXT, fee TEXT, realized TEXT, time REAL);
CREATE TABLE IF NOT EXISTS paper_trades(
    account TEXT NOT NULL, symbol TEXT NOT NULL, opened_ms REAL NOT NULL, side TEXT NOT NULL,
    entry_price TEXT, size TEXT, pnl TEXT, exit_value TEXT, exit_amount TEXT, closed_ms REAL,
    closed_by TEXT, PRIMARY KEY(account, symbol, opened_ms));
"""


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


@dataclass
class AccountState:
    balance: Decimal
    seq: int
    positions: dict[str, PositionState] = field(default_factory=dict)
    open_orders: list[Order] = field(default_factory=list)
    client_ids: set[str] = field(default_factory=set)
    open_trades: dict[str, TradeState] = field(default_factory=dict)


def load_account(conn: sqlite3.Connection, account: str, balance: Decimal) -> AccountState:
    row = conn.execute(
        "SELECT balance, seq FROM paper_accounts WHERE account=?", (account,)
    ).fetchone()
    if row is None:
        conn.execute("INSERT INTO paper_accounts VALUES (?, ?, 0)", (account, str(balance)))
        return AccountState(balance=balance, seq=0)
    state = AccountState(balance=Decimal(row["balance"]), seq=row["seq"])
    for p in conn.execute("SELECT * FROM paper_positions WHERE account=?", (account,)):
        state.positions[p["symbol"]] = PositionState(Decimal(p["size"]), Decimal(p["entry"]))
    state.client_ids = {
        r[0] for r in conn.execute("SELECT client_id FROM paper_orders WHERE account=?", (account,))
    }
    state.open_orders = [
        _order(r)
        for r in conn.execute(
            "SELECT * FROM paper_orders WHERE account=? AND status=? ORDER BY timestamp",
            (account, OPEN),
        )
    ]
    for t in conn.execute(
        "SELECT * FROM paper_trades WHERE account=? AND closed_ms IS NULL", (account,)
    ):
        state.open_trades[t["symbol"]] = _trade(t)
    return state


def load_market(conn: sqlite3.Connection) -> tuple[dict[str, Decimal], dict[str, list[list]]]:
    prices = {r["symbol"]: Decimal(r["price"]) for r in conn.execute("SELECT * FROM paper_prices")}
    bars: dict[str, list[list]] = {}
    for r in conn.execute("SELECT * FROM paper_candles ORDER BY symbol, time"):
        bars.setdefault(r["symbol"], []).append(
            [
                r["time"],
                Decimal(r["open"]),
                Decimal(r["high"]),
                Decimal(r["low"]),
                Decimal(r["close"]),
                Decimal(r["volume"]),
            ]
        )
    return prices, bars


def find_order(conn: sqlite3.Connection, account: str, client_id: str) -> Order | None:
    row = conn.execute(
        "SELECT * FROM paper_orders WHERE account=? AND client_id=?", (account, client_id)
    ).fetchone()
    return _order(row) if row else None


def closed_trades(conn: sqlite3.Connection, account: str) -> list[TradeState]:
    return [
        _trade(t)
        for t in conn.execute(
            "SELECT * FROM paper_trades WHERE account=? AND closed_ms IS NOT NULL"
            " ORDER BY closed_ms",
            (account,),
        )
    ]


def changes_writer(
    account: str, engine: PaperEngine, changes: Changes
) -> Callable[[sqlite3.Connection], None]:
    """Snapshot the rows to write now (on the event loop), and write them later (storage thread)."""
    orders = [_order_row(account, o) for o in changes.orders.values()]
    positions = [(account, s, str(p.size), str(p.entry)) for s, p in changes.positions.items()]
    fills = [
        (
            account,
            f["order_id"],
            f["client_id"],
            f["symbol"],
            f["side"],
            str(f["amount"]),
            str(f["price"]),
            str(f["fee"]),
            str(f["realized"]),
            f["time"],
        )
        for f in changes.fills
    ]
    trades = {(t.symbol, t.opened_ms): _trade_row(account, t) for t in changes.trades}
    header = (str(engine.balance), engine.seq, account)

    def write(conn: sqlite3.Connection) -> None:
        if not (orders or positions or fills or trades):
            return
        conn.execute("UPDATE paper_accounts SET balance=?, seq=? WHERE account=?", header)
        conn.executemany(
            "INSERT OR REPLACE INTO paper_orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", orders
        )
        conn.executemany("INSERT OR REPLACE INTO paper_positions VALUES (?,?,?,?)", positions)
        conn.executemany(
            "INSERT INTO paper_fills(account, order_id, client_id, symbol, side, amount, price,"
            " fee, realized, time) VALUES (?,?,?,?,?,?,?,?,?,?)",
            fills,
        )
        conn.executemany(
            "INSERT OR REPLACE INTO paper_trades VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            list(trades.values()),
        )

    return write


def price_writer(
    symbol: str, price: Decimal, now: float, bar: list
) -> Callable[[sqlite3.Connection], None]:
    candle = (symbol, bar[0], *(str(x) for x in bar[1:6]))

    def write(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO paper_prices VALUES (?,?,?)", (symbol, str(price), now)
        )
        conn.execute("INSERT OR REPLACE INTO paper_candles VALUES (?,?,?,?,?,?,?)", candle)

    return write


def combine(
    writers: list[Callable[[sqlite3.Connection], None]],
) -> Callable[[sqlite3.Connection], None]:
    def write(conn: sqlite3.Connection) -> None:
        for writer in writers:
            writer(conn)

    return write


def _order_row(account: str, o: Order) -> tuple:
    return (
        account,
        o.id,
        o.client_id,
        o.symbol,
        str(o.side),
        str(o.type),
        str(o.amount),
        _s(o.price),
        _s(o.trigger_price),
        int(o.reduce_only),
        o.status,
        str(o.filled),
        _s(o.average),
        str(o.fee),
        o.timestamp,
    )


def _order(r: sqlite3.Row) -> Order:
    return Order(
        id=r["id"],
        client_id=r["client_id"],
        symbol=r["symbol"],
        side=Side(r["side"]),
        type=OrderType(r["type"]),
        amount=Decimal(r["amount"]),
        status=r["status"],
        price=_d(r["price"]),
        trigger_price=_d(r["trigger_price"]),
        reduce_only=bool(r["reduce_only"]),
        filled=Decimal(r["filled"]),
        average=_d(r["average"]),
        timestamp=r["timestamp"],
        fee=Decimal(r["fee"]),
    )


def _trade_row(account: str, t: TradeState) -> tuple:
    return (
        account,
        t.symbol,
        t.opened_ms,
        str(t.side),
        str(t.entry_price),
        str(t.size),
        str(t.pnl),
        str(t.exit_value),
        str(t.exit_amount),
        t.closed_ms,
        t.closed_by,
    )


def _trade(r: sqlite3.Row) -> TradeState:
    return TradeState(
        symbol=r["symbol"],
        side=Side(r["side"]),
        opened_ms=r["opened_ms"],
        entry_price=Decimal(r["entry_price"]),
        size=Decimal(r["size"]),
        pnl=Decimal(r["pnl"]),
        exit_value=Decimal(r["exit_value"]),
        exit_amount=Decimal(r["exit_amount"]),
        closed_ms=r["closed_ms"],
        closed_by=r["closed_by"],
    )


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
