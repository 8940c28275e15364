"""Intake: one small parser per alert dialect, each returning the core's Alert."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..errors import Unauthorized
from ..models import Alert
from .common import decode_body, load_json_object
from .tradingview import parse_tradingview


@dataclass(frozen=True)
class Intake:
    """A parsed, authenticated alert with what the journal and the idempotency key need."""

    alert: Alert
    fields: dict[str, Any]  # the body's fields, secrets removed: the source of the idempotency key
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Dialect:
    name: str
    read: Callable[[bytes, Mapping[str, str], Settings], Intake]


_SECRET_FIELDS = ("passphrase",)


def read_tradingview(
    raw: bytes, query: Mapping[str, str], settings: Settings, *, study: bool = False
) -> Intake:
    data = load_json_object(decode_body(raw))
    # Authenticate before validating, so a stranger learns nothing about the rules.
    if not settings.passphrase.matches(data.get("passphrase")):
        raise Unauthorized()
    alert, warnings = parse_tradingview(data, study=study)
    fields = {k: v for k, v in data.items() if k not in _SECRET_FIELDS}
    return Intake(alert=alert, fields=fields, warnings=warnings)


TRADINGVIEW = Dialect("tradingview", read_tradingview)
TRADINGVIEW_STUDY = Dialect(
    "tradingview_study", lambda raw, q, s: read_tradingview(raw, q, s, study=True)
)
