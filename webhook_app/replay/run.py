"""The replay: bars through the study's signals and alertmodel.txt, POSTed over real HTTP to the
app running on the paper exchange, bar after bar, on the bars' own clock."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from ..alertmodel import PASSPHRASE_PLACEHOLDER, load_alertmodel, substitute
from ..config import DEFAULT_ACCOUNT, load_settings
from ..core import Core
from ..exchanges import paper_store
from ..exchanges.base import ExchangeEvent
from ..exchanges.paper_engine import TradeState
from ..plan_rows import role_of
from ..web.app import init_app, serve_on_loopback
from ..web.keys import CORE
from .bars import BAR_MS, SYMBOL, Bar, price_path
from .signals import Params, compute
from .strategy import (
    PlannedAlert,
    StrategyState,
    final_exit,
    strategy_alerts,
    study_alerts,
)

ORDER_ROUTE = "/tradingview-to-webhook-order"


class BarClock:
    """The app's clock during a replay: the time of the bar being played."""

    def __init__(self, seconds: float) -> None:
        self.now = seconds

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Fill:
    time: int  # the bar's open, ms
    price: Decimal
    side: str
    role: str  # entry, stop, be_stop, tp1 …, close


@dataclass
class Replay:
    bars: list[Bar]
    study: bool = False
    statuses: Counter[str] = field(default_factory=Counter)
    alerts: int = 0
    fills: list[Fill] = field(default_factory=list)
    equity: list[tuple[int, Decimal]] = field(default_factory=list)
    trades: list[TradeState] = field(default_factory=list)
    orders: int = 0
    currency: str = "USDT"
    start_balance: Decimal = Decimal(0)
    open_orders: int = 0  # left at the venue at the end (none, when all went well)
    held: Decimal = Decimal(0)  # the position at the end
    fees: Decimal = Decimal(0)  # paid on every fill (already inside each trade's PnL)


async def run_replay(
    bars: list[Bar],
    data_dir: Path,
    *,
    study: bool = False,
    params: Params | None = None,
    progress: Callable[[int, Replay], None] | None = None,
) -> Replay:
    params = params or Params()
    passphrase = secrets.token_urlsafe(24)
    clock = BarClock(bars[0].time / 1000)
    settings = load_settings(
        {"WEBHOOK_PASSPHRASE": passphrase, "DATA_DIR": str(data_dir), "ACCOUNTS_FILE": ""},
        env_file=None,
    )
    app = init_app(settings, clock=clock)
    runner, base = await serve_on_loopback(app)
    try:
        player = _Player(app[CORE], base, passphrase, clock, params)
        replay = Replay(bars, study=study)
        await player.play(replay, progress)
        return replay
    finally:
        await runner.cleanup()


class _Player:
    def __init__(
        self, core: Core, base: str, passphrase: str, clock: BarClock, params: Params
    ) -> None:
        self.core, self.base, self.passphrase = core, base, passphrase
        self.clock, self.params = clock, params
        self.venue = core.venues.get(DEFAULT_ACCOUNT)
        self.blocks = load_alertmodel()
        self.bar_time = 0
        self.trade_roles: set[str] = set()  # ladder roles filled since the position opened
        self.fills: list[Fill] = []
        self.venue.exchange.subscribe(self._on_event)

    def _on_event(self, event: ExchangeEvent) -> None:
        if event.kind != "fill" or event.order is None or event.fill_price is None:
            return
        role = role_of(event.order.client_id) or "other"
        self.fills.append(Fill(self.bar_time, event.fill_price, str(event.order.side), role))
        self.trade_roles.add(role)

    async def play(self, replay: Replay, progress: Callable[[int, Replay], None] | None) -> None:
        signals = compute(replay.bars, self.params)
        state = StrategyState()
        async with aiohttp.ClientSession() as http:
            for i, (bar, sig) in enumerate(zip(replay.bars, signals, strict=True)):
                await self._trade_through(bar)
                held = self._held()
                if not held:
                    self.trade_roles = set()
                if replay.study:
                    planned = study_alerts(bar, sig, self.params)
                else:
                    prev = (replay.bars[i - 1], signals[i - 1]) if i else None
                    planned = strategy_alerts(
                        state, bar, sig, prev, held, self.trade_roles, self.params
                    )
                for alert in planned:
                    await self._send(http, alert, replay)
                replay.equity.append((bar.time, self.venue.book.equity()))
                if progress is not None:
                    progress(i + 1, replay)
            if self._held():  # the replay ends: close what is open, as an exit alert would
                await self._send(
                    http, final_exit(replay.bars[-1], signals[-1], state, self.params), replay
                )
                replay.equity[-1] = (replay.bars[-1].time, self.venue.book.equity())
        await self._collect(replay)

    async def _trade_through(self, bar: Bar) -> None:
        """The bar's prices, in order, on the bar's clock: what rests there triggers."""
        self.bar_time = bar.time
        for k, price in enumerate(price_path(bar)):
            moment = bar.time + k * BAR_MS // 4
            self.clock.now = moment / 1000
            # After the open (which may gap), the bar trades every price along its path.
            await self.core.paper.feed_price(
                SYMBOL, Decimal(repr(price)), time_ms=moment, swept=k > 0
            )
        self.clock.now = (bar.time + BAR_MS) / 1000  # the close: alerts fire now

    def _held(self) -> Decimal:
        position = self.venue.book.positions.get(SYMBOL)
        return position.size if position else Decimal(0)

    async def _send(self, http: aiohttp.ClientSession, alert: PlannedAlert, replay: Replay) -> None:
        block = self.blocks[alert.template]  # its route, and the text to paste into TradingView
        text = substitute(block.template, alert.values)
        text = text.replace(PASSPHRASE_PLACEHOLDER, self.passphrase)
        answer = await self._post(http, block.path, text)
        replay.alerts += 1
        if answer.get("status") == "pending_approval":  # the study route: approve at once
            # What the desk's Approve button sends: the relayed alert, its id, who approved.
            approval = json.loads(text) | {
                "alert_id": answer["alert_id"],
                "approval": True,
                "approver": "replay",
            }
            answer = await self._post(http, ORDER_ROUTE, approval)
        replay.statuses[f"{alert.message}: {answer.get('status')}"] += 1

    async def _post(
        self, http: aiohttp.ClientSession, route: str, body: str | dict[str, Any]
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"json": body} if isinstance(body, dict) else {"data": body}
        async with http.post(f"{self.base}{route}?wait=2.5", **kwargs) as response:
            answer: dict[str, Any] = await response.json()
        return answer

    async def _collect(self, replay: Replay) -> None:
        store = self.core.paper.store
        replay.trades = await store.run(
            lambda conn: paper_store.closed_trades(conn, DEFAULT_ACCOUNT)
        )
        replay.orders = await store.run(
            lambda conn: conn.execute("SELECT COUNT(*) FROM paper_orders").fetchone()[0]
        )
        replay.fills = self.fills
        fees = await store.run(lambda conn: conn.execute("SELECT fee FROM paper_fills").fetchall())
        replay.fees = sum((Decimal(row[0]) for row in fees), Decimal(0))
        account = self.core.settings.accounts[DEFAULT_ACCOUNT]
        replay.currency, replay.start_balance = account.currency, account.balance
        replay.open_orders = len(await self.venue.exchange.fetch_open_orders())
        replay.held = self._held()
