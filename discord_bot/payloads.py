"""Payloads from Discord, checked with the app's own intake rules before anything is sent."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import discord

from webhook_app.errors import AlertRejected
from webhook_app.intake.common import load_json_object
from webhook_app.intake.tradingview import parse_tradingview

_PAYLOAD_BLOCK = re.compile(r"```\s*!payload\s+(\{.*?\})\s*```", re.DOTALL)
_FOOTER = re.compile(r"^alert ([0-9a-f]{16})\b")
_EXPIRES = re.compile(r"<t:(\d+):R>")


class PayloadError(Exception):
    """A payload the bot will not send, with a reason the trader can act on."""


def read_payload(text: str) -> dict[str, Any]:
    """JSON text → a payload checked as the app would check it (the passphrase is ours to add)."""
    text = text.strip().strip("`").strip()
    if text.startswith("json"):
        text = text[4:].strip()
    if not text:
        raise PayloadError('Usage: `!payload {"ticker": "BTCUSDT", ...}` (the JSON of an alert)')
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise PayloadError(f"Invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}.") from None
    if not isinstance(data, dict):
        raise PayloadError("The payload must be a JSON object: `{...}`.")
    data.pop("passphrase", None)
    check_payload(data)
    return data


def check_payload(data: dict[str, Any]) -> None:
    """The app's intake rules, here and now, so a missing field is answered at once."""
    try:
        strict = load_json_object(json.dumps({**data, "passphrase": "-"}))
        parse_tradingview(strict)
    except AlertRejected as e:
        raise PayloadError(e.message[:1].upper() + e.message[1:] + ".") from None


def contains_secret(text: str, secret: str) -> bool:
    return bool(secret) and secret in text


def study_alerts(message: discord.Message) -> list[tuple[str, dict[str, Any], int | None]]:
    """Every relayed alert in a message (a backlog is batched, up to 10 embeds to a message):
    its id, its payload and its expiry (unix seconds)."""
    found = []
    for embed in message.embeds:
        footer = _FOOTER.match(embed.footer.text or "") if embed.footer else None
        block = _PAYLOAD_BLOCK.search(embed.description or "")
        if footer is None or block is None:
            continue
        try:
            payload = json.loads(block.group(1))
        except json.JSONDecodeError:
            continue
        expires = None
        for field in embed.fields:
            match = _EXPIRES.search(field.value or "")
            if field.name == "Expires" and match:
                expires = int(match.group(1))
        found.append((footer.group(1), payload, expires))
    return found


def sl_tp_names(payload: dict[str, Any]) -> tuple[str, str]:
    direction = "long" if str(payload.get("action", "buy")).lower() == "buy" else "short"
    return f"{direction} SL", f"{direction} TP"


def apply_edits(payload: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The payload with the Edit modal's values: type, price, stop-loss, take-profit, risk %."""
    edited = dict(payload)
    sl, tp = sl_tp_names(payload)
    kind = values.get("type", "").strip().lower()
    if kind:
        if kind not in ("market", "limit"):
            raise PayloadError("Type must be market or limit.")
        edited["type"] = kind
    for key, target in (("price", "price"), ("SL", sl), ("TP", tp), ("risk", "risk")):
        raw = values.get(key, "").strip().replace(",", "")
        if not raw:
            if key == "risk":
                edited.pop("risk", None)
            continue
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise PayloadError(f"{target}: {raw!r} is not a number.") from None
        edited[target] = int(number) if number == number.to_integral_value() else float(number)
    check_payload(edited)
    return edited
