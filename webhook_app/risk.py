"""The risk guard's running figures per account: orders sent in the last minute, and the equity
the UTC day started with (kept in the journal, so a restart does not reset the day's loss). When
the day's loss crosses the account's limit, the account switches to reducing-only by itself and
the errors channel hears why."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from .accounts import Account
from .guard import ACTIVE, REDUCING, TradingSwitch
from .journal import Journal
from .models import OrderPlan, PlaceOrder
from .planning import Facts
from .planning.limits import daily_loss_crossed, opens
from .relay.notifier import Notifier
from .venues import Venue

logger = logging.getLogger(__name__)
_KEY = "day_start:"
WINDOW_S = 60.0


class RiskMeter:
    def __init__(
        self,
        journal: Journal,
        switch: TradingSwitch,
        notifier: Notifier,
        clock: Callable[[], float],
    ) -> None:
        self.journal, self.switch, self.notifier, self.clock = journal, switch, notifier, clock
        self.sent: dict[str, deque[float]] = {}
        self.day_start: dict[str, tuple[str, Decimal]] = {}
        self.opening: dict[str, set[str]] = {}  # symbols whose opening plan is being sent
        self._switching: set[str] = set()  # one switch (and one message) per crossing

    async def load(self) -> None:
        for key, value in (await self.journal.settings_like(_KEY)).items():
            data = json.loads(value)
            self.day_start[key.removeprefix(_KEY)] = (data["day"], Decimal(data["equity"]))

    def facts(self, venue: Venue, facts: Facts) -> Facts:
        """The planner's facts with the guard's figures filled in."""
        account = venue.account
        others = 0
        if account.max_open_positions is not None:  # a walk over the positions: only if asked
            held = {s for s, p in venue.book.positions.items() if p.size}
            others = len((held | self.opening.get(account.name, set())) - {facts.market.symbol})
        return replace(
            facts,
            open_positions=others,
            orders_last_minute=self._recent(account.name),
            day_start_equity=self._start(venue) if account.max_daily_loss_pct else None,
        )

    def reserve(self, account: Account, plan: OrderPlan) -> None:
        """A plan that passed: its orders count towards the minute, and a position it opens
        counts as open, before it is sent, so alerts on other symbols planned meanwhile see it."""
        if account.max_orders_per_minute is not None:
            places = sum(isinstance(s, PlaceOrder) for s in plan.steps)
            self.sent.setdefault(account.name, deque()).extend([self.clock()] * places)
        if account.max_open_positions is not None and opens(plan):
            self.opening.setdefault(account.name, set()).add(plan.symbol)

    def release(self, account: str, symbol: str) -> None:
        """The plan has run: its position (if it opened one) is in the book from now on."""
        self.opening.get(account, set()).discard(symbol)

    def _recent(self, account: str) -> int:
        times = self.sent.get(account)
        if not times:
            return 0
        while times and times[0] < self.clock() - WINDOW_S:
            times.popleft()
        return len(times)

    def _start(self, venue: Venue) -> Decimal:
        """The first equity seen on this UTC day."""
        today = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%d")
        name = venue.account.name
        stored = self.day_start.get(name)
        if stored is None or stored[0] != today:
            stored = (today, venue.book.equity())
            self.day_start[name] = stored
            value = json.dumps({"day": today, "equity": str(stored[1])})
            self.journal.set_setting(_KEY + name, value)  # committed in the background
        return stored[1]

    async def check_loss(self, venue: Venue) -> None:
        """Past the daily loss limit: reducing-only, at once, and said in the errors channel."""
        account = venue.account
        pct = account.max_daily_loss_pct
        if pct is None or account.name in self._switching:
            return
        if self.switch.get(account.name).mode != ACTIVE:
            return
        start, equity = self._start(venue), venue.book.equity()
        crossed = daily_loss_crossed(start, equity, pct)
        if crossed is None:
            return
        loss, allowed = crossed
        reason = (
            f"daily loss limit: equity {equity:.2f} is {loss:.2f} below today's start "
            f"{start:.2f} (max_daily_loss_pct {pct} % = {allowed:.2f})"
        )
        self._switching.add(account.name)
        try:
            await self.switch.set(account.name, REDUCING, by="the risk guard", reason=reason)
        finally:
            self._switching.discard(account.name)
        self.notifier.problems(f"Account {account.name} switched to reducing-only", [reason])
        logger.error("account %s: %s", account.name, reason)
