"""The seed-000 dialect (FMZ style): `?access_key=&secret_key=&type=&amount=` → a market order."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..config import Settings
from ..errors import AlertRejected, MalformedAlert, Unauthorized
from ..models import Alert, AlertKind, Side
from .common import Fields, Intake, load_json_object, to_number

logger = logging.getLogger(__name__)

SPOT_TYPES = {"buy": (AlertKind.ORDER, Side.BUY), "sell": (AlertKind.ORDER, Side.SELL)}
FUTURES_TYPES = {
    "long": (AlertKind.ORDER, Side.BUY),
    "short": (AlertKind.ORDER, Side.SELL),
    "cover_long": (AlertKind.CLOSE, Side.SELL),
    "cover_short": (AlertKind.CLOSE, Side.BUY),
}


def open_fmz(raw: bytes, query: Mapping[str, str], settings: Settings) -> dict[str, Any]:
    """Both keys, compared in constant time; one answer for any failure."""
    access, secret = settings.fmz_access_key, settings.fmz_secret_key
    if access is None or secret is None:
        logger.warning("refused a seed-000 alert: FMZ_ACCESS_KEY and FMZ_SECRET_KEY are not set")
        raise Unauthorized()
    ok_access = access.matches(query.get("access_key"))
    ok_secret = secret.matches(query.get("secret_key"))
    if not (ok_access and ok_secret):
        raise Unauthorized()
    # The body (TradingView's message) is part of the alert: {{timenow}} in it sets repeats apart.
    body = raw.decode("utf-8", "replace")[:2000]
    return {"type": query.get("type"), "amount": query.get("amount"), "body": body}


def parse_fmz(data: dict[str, Any], settings: Settings) -> Intake:
    account = settings.account(settings.fmz_account)
    if account is None:
        raise AlertRejected(f"FMZ_ACCOUNT {settings.fmz_account!r} is not a configured account")
    symbol = settings.fmz_symbol or account.default_symbol
    if not symbol:
        raise AlertRejected(
            "no pair to trade: set FMZ_SYMBOL (the pair or contract these alerts trade)"
        )
    kind_side = _type(data.get("type"), account.market, account.name)
    amount = data.get("amount")
    if amount is None or amount == "":
        raise MalformedAlert("query 'amount' is required (the quantity to trade)")
    body = _body_fields(data.get("body", ""))
    alert = Alert(
        kind=kind_side[0],
        side=kind_side[1],
        ticker=symbol,
        source="fmz",
        account=account.name,
        amount=to_number("amount", amount),
        message=str(data.get("type")),
        reference_price=body.number("price"),
        fired_at=body.timestamp("time"),
    )
    fields = {"type": data.get("type"), "amount": amount, "body": data.get("body", "")}
    return Intake(alert, fields)


def _body_fields(text: str) -> Fields:
    """Our addition: a JSON message body may carry the market `price` and the `time`
    (TradingView substitutes placeholders in the message, never in the URL)."""
    if not text.lstrip().startswith("{"):
        return Fields({})
    return Fields(load_json_object(text))


def _type(value: object, market: str, account: str) -> tuple[AlertKind, Side]:
    if not isinstance(value, str) or not value:
        raise MalformedAlert(
            "query 'type' is required: buy or sell (spot); long, short, "
            "cover_long or cover_short (futures)"
        )
    wanted, other = (SPOT_TYPES, FUTURES_TYPES) if market == "spot" else (FUTURES_TYPES, SPOT_TYPES)
    if value in wanted:
        return wanted[value]
    if value in other:
        raise AlertRejected(
            f"type {value!r} is for a {'futures' if market == 'spot' else 'spot'} account, but "
            f"account {account} is {market}: use {', '.join(wanted)}"
        )
    raise MalformedAlert(
        f"query 'type' must be one of {', '.join({**SPOT_TYPES, **FUTURES_TYPES})}, got {value!r}"
    )
