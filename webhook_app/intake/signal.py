"""The seed-001 dialect: the JSON order spec (openLong … cancelAll, fixed/percent, delays)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..config import Account, Settings
from ..errors import AlertRejected, MalformedAlert, Unauthorized
from ..models import ALL_SYMBOLS, Alert, AlertKind, OrderType, Side
from .common import Fields, Intake, decode_body, load_json_object

FUTURES_ACTIONS = {
    "openLong": (AlertKind.ORDER, Side.BUY),
    "openShort": (AlertKind.ORDER, Side.SELL),
    "closeLong": (AlertKind.CLOSE, Side.SELL),
    "closeShort": (AlertKind.CLOSE, Side.BUY),
}
SPOT_ACTIONS = {"buy": (AlertKind.ORDER, Side.BUY), "sell": (AlertKind.ORDER, Side.SELL)}
BOTH_ACTIONS = {
    "cancel": (AlertKind.CANCEL, None),
    "cancelAll": (AlertKind.CANCEL_ALL, None),
    "cancellAll": (AlertKind.CANCEL_ALL, None),
}  # the seed's own spelling
KNOWN_FIELDS = frozenset(
    {
        "action",
        "fixed",
        "percent",
        "limit",
        "profit",
        "loss",
        "log",
        "clientOrderId",
        "delaySeconds",
        "delaySecondsFilter",
        "connectorName",
        "connectorToken",
        "ticker",
        "symbol",
        "price",
    }
)
MAX_DELAY = Decimal(86_400)


def open_signal(raw: bytes, query: Any, settings: Settings) -> dict[str, Any]:
    """connectorName picks the account; its connectorToken (constant time) authenticates."""
    data = load_json_object(decode_body(raw))
    name = data.get("connectorName")
    account = settings.accounts.get(name) if isinstance(name, str) else None
    expected = settings.passphrase
    if account is not None and account.connector_token_env:
        expected = settings.secret_env.get(account.connector_token_env, settings.passphrase)
    if not expected.matches(data.get("connectorToken")) or account is None:
        raise Unauthorized()
    return data


def parse_signal(data: dict[str, Any], settings: Settings) -> Intake:
    account = settings.accounts[data["connectorName"]]
    f = Fields(data)
    action = f.string("action", required=True, max_len=20) or ""
    kind, side = _action(action, account)
    fixed = f.number("fixed")
    percent = f.number("percent", maximum=Decimal(100))
    loss, profit = f.number("loss"), f.number("profit")
    if (loss or profit) and account.market == "spot":
        raise AlertRejected("profit and loss are for futures accounts only")
    cid = f.identifier("clientOrderId")
    if kind is AlertKind.CANCEL and cid is None:
        raise MalformedAlert("field 'clientOrderId' is required for action cancel")
    if kind in (AlertKind.ORDER,) and fixed is None and percent is None:
        raise MalformedAlert(f"action {action} needs 'fixed' (an amount) or 'percent'")
    log = f.string("log", max_len=500)
    limit = f.number("limit")
    # Our extensions: "ticker" (the seed's connector was bound to one pair) and "price" (the
    # reference price for a market order: it prices the paper exchange and percent sizing).
    alert = Alert(
        kind=kind,
        side=side,
        ticker=_ticker(f, account, kind),
        source="signal",
        account=account.name,
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        price=limit or f.number("price"),
        reference_price=f.number("price"),
        amount=fixed,
        amount_pct=None if fixed is not None else percent,
        stop_loss=loss,
        take_profit=profit,
        message=action,
        log=log,
        client_order_id=cid,
        delay_seconds=_delay(f, log),
        # A clientOrderId names one order: sent twice, it is one order. A cancel names another.
        explicit_id=(f"cancel:{cid}" if kind is AlertKind.CANCEL else cid) if cid else None,
    )
    fields = {k: v for k, v in data.items() if k != "connectorToken"}
    warnings = [f"unknown field {name!r} ignored" for name in f.unknown(KNOWN_FIELDS)]
    return Intake(alert, fields, warnings)


def _action(action: str, account: Account) -> tuple[AlertKind, Side | None]:
    own = SPOT_ACTIONS if account.market == "spot" else FUTURES_ACTIONS
    if action in own:
        return own[action]
    if action in BOTH_ACTIONS:
        return BOTH_ACTIONS[action]
    if action in {**SPOT_ACTIONS, **FUTURES_ACTIONS}:
        raise AlertRejected(
            f"action {action} is not for account {account.name}, which is "
            f"{account.market}: use {', '.join(own)}, cancel or cancelAll"
        )
    raise MalformedAlert(
        f"field 'action' must be one of {', '.join(own)}, cancel or cancelAll, got {action!r}"
    )


def _ticker(f: Fields, account: Account, kind: AlertKind) -> str:
    ticker = (
        f.string("ticker", max_len=40) or f.string("symbol", max_len=40) or account.default_symbol
    )
    if ticker:
        return ticker
    if kind in (AlertKind.CANCEL, AlertKind.CANCEL_ALL):
        return ALL_SYMBOLS  # a cancel finds its order's symbol; cancelAll sweeps every symbol
    raise AlertRejected(
        f'the signal names no ticker: add "ticker", or set default_symbol for '
        f"account {account.name}"
    )


def _delay(f: Fields, log: str | None) -> Decimal | None:
    delay = f.number("delaySeconds", positive=False, maximum=MAX_DELAY)
    if delay is not None and delay < 0:
        raise MalformedAlert("field 'delaySeconds' must not be negative")
    word = f.string("delaySecondsFilter", max_len=100)
    if not delay or (word and word not in (log or "")):
        return None  # the filter word is not in the log: no delay
    return delay
