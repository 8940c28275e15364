"""The kill switch, per account: active, reducing-only (closes and cancels), or halted (cancels)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import Halted
from .journal import Journal
from .models import Alert, AlertKind, OrderPlan, PlaceOrder

logger = logging.getLogger(__name__)

ACTIVE, REDUCING, HALTED = "active", "reducing", "halted"
MODES = (ACTIVE, REDUCING, HALTED)
ALL = "*"  # the switch for every account at once
_KEY = "trading_mode:"

# What each alert kind can do to exposure, before it is planned.
_OPENS = frozenset({AlertKind.ENTRY, AlertKind.ORDER})
_REDUCES = frozenset({AlertKind.EXIT, AlertKind.CLOSE, AlertKind.BREAKEVEN})


@dataclass(frozen=True)
class Switch:
    mode: str = ACTIVE
    by: str = ""
    at: float = 0.0
    reason: str = ""

    def describe(self, account: str) -> str:
        what = {
            REDUCING: "new orders are refused; closes and cancels still go through",
            HALTED: "everything but cancels is refused",
        }.get(self.mode, "trading")
        who = f" by {self.by}" if self.by else ""
        when = time.strftime(" at %Y-%m-%d %H:%M:%S UTC", time.gmtime(self.at)) if self.at else ""
        why = f" ({self.reason})" if self.reason else ""
        scope = "all accounts" if account == ALL else f"account {account}"
        return f"trading is {self.mode} for {scope}{who}{when}{why}: {what}"


class TradingSwitch:
    """Checked at intake (fast refusal) and again on the plan, before anything is sent."""

    def __init__(self, journal: Journal, clock: Callable[[], float] = time.time) -> None:
        self.journal, self.clock = journal, clock
        self._switches: dict[str, Switch] = {}

    async def load(self) -> None:
        for key, value in (await self.journal.settings_like(_KEY)).items():
            data = json.loads(value)
            self._switches[key.removeprefix(_KEY)] = Switch(**data)

    def get(self, account: str) -> Switch:
        """The stricter of the account's own switch and the all-accounts switch."""
        own, everyone = self._switches.get(account, Switch()), self._switches.get(ALL, Switch())
        return max(own, everyone, key=lambda s: MODES.index(s.mode))

    async def set(self, account: str, mode: str, *, by: str, reason: str = "") -> Switch:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        switch = Switch(mode=mode, by=by, at=self.clock(), reason=reason)
        await self.journal.set_setting(_KEY + account, json.dumps(switch.__dict__))
        self._switches[account] = switch
        logger.warning("kill switch: %s", switch.describe(account))
        return switch

    async def resume(self, account: str, *, by: str) -> Switch:
        """Back to active; resuming everyone also clears each account's own switch."""
        if account == ALL:
            for name in list(self._switches):
                await self.set(name, ACTIVE, by=by)
        return await self.set(account, ACTIVE, by=by)

    def check_alert(self, alert: Alert, account: str) -> None:
        """Refuse at intake what the mode can never allow, with 503 halted."""
        switch = self.get(account)
        if switch.mode == ACTIVE:
            return
        if alert.kind in _OPENS or (switch.mode == HALTED and alert.kind in _REDUCES):
            raise Halted(switch.describe(account))

    def check_plan(self, plan: OrderPlan) -> None:
        """Refuse a plan that places what the mode forbids (an alert accepted before the halt)."""
        switch = self.get(plan.account)
        places = [s for s in plan.steps if isinstance(s, PlaceOrder)]
        if switch.mode == REDUCING and any(not s.reduce_only for s in places):
            raise Halted(switch.describe(plan.account))
        if switch.mode == HALTED and places:
            raise Halted(switch.describe(plan.account))
