"""The seed-003 dialect: `${"ticker":"XX", "price":N}@COMMENT ACTION! CONTRACTS` → an order."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..config import Settings
from ..errors import MalformedAlert, Unauthorized
from ..models import Alert, AlertKind, Side
from .common import Fields, Intake, NonFinite, decode_body, to_number

INITIATOR = "Webhook Test"  # the seed's initiator alert: answered "ignored"
FORMAT = '${"ticker":"XX", "price":N}@COMMENT buy! CONTRACTS'
_TAIL = re.compile(r"@(?P<comment>.*?)\s*(?P<action>[A-Za-z]+)!\s*(?P<contracts>\S*)\s*", re.DOTALL)


def open_ib(raw: bytes, query: Mapping[str, str], settings: Settings) -> dict[str, Any]:
    """The passphrase comes as ?passphrase= or inside the JSON head."""
    text = decode_body(raw)
    if text == INITIATOR:
        if not settings.passphrase.matches(query.get("passphrase")):
            raise Unauthorized()
        return {"initiator": True, "text": text}
    data = split_ib(text)
    given = query.get("passphrase") or data["head"].get("passphrase")
    if not settings.passphrase.matches(given):
        raise Unauthorized()
    return data


def split_ib(text: str) -> dict[str, Any]:
    """Strict parsing: each error points at the part that is broken."""
    if not text.startswith("$"):
        raise MalformedAlert(f"the alert must start with '$' and a JSON head: {FORMAT}")
    decoder = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal, parse_constant=NonFinite)
    try:
        head, end = decoder.raw_decode(text, 1)
    except json.JSONDecodeError as e:
        raise MalformedAlert(
            f"the JSON head after '$' is not valid JSON: {e.msg} at column {e.colno}"
        ) from None
    if not isinstance(head, dict):
        raise MalformedAlert("the head after '$' must be a JSON object: {\"ticker\": ...}")
    rest = text[end:]
    if not rest.startswith("@"):
        raise MalformedAlert(
            f"expected '@' and the strategy comment after the JSON head, found {rest[:20]!r}"
        )
    tail = _TAIL.fullmatch(rest)
    if tail is None:
        raise MalformedAlert(
            f"expected 'COMMENT ACTION! CONTRACTS' after '@', e.g. "
            f"'@Long entry buy! 2', got {rest[:40]!r}"
        )
    return {"head": head, **tail.groupdict()}


def parse_ib(data: dict[str, Any], settings: Settings) -> Intake:
    if data.get("initiator"):
        alert = Alert(kind=AlertKind.INFO, ticker="WEBHOOKTEST", source="ib", message=INITIATOR)
        return Intake(alert, {"text": data["text"]})
    f = Fields(data["head"])
    action = data["action"].lower()
    if action not in ("buy", "sell"):
        raise MalformedAlert(f"the action before '!' must be buy or sell, got {data['action']!r}")
    if not data["contracts"]:
        raise MalformedAlert(f"the number of contracts is missing after '{data['action']}!'")
    comment = data["comment"].strip()
    alert = Alert(
        kind=AlertKind.ORDER,
        side=Side(action),
        source="ib",
        ticker=f.string("ticker", required=True, max_len=40) or "",
        price=f.number("price"),
        amount=to_number("contracts", data["contracts"]),
        account=f.string("account", max_len=64),
        tag=comment[:100] or None,
        message=f"{comment} {action}".strip(),
        fired_at=f.timestamp("time"),
    )
    head = {k: v for k, v in data["head"].items() if k != "passphrase"}
    fields = {"head": head, "comment": comment, "action": action, "contracts": data["contracts"]}
    return Intake(alert, fields)
