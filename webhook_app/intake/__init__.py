"""Intake: one small parser per alert dialect, each returning the core's Alert.

A dialect has two steps. `open` decodes the body and authenticates it (401 for any secret
problem, 400 for a body it cannot read); `parse` validates an authenticated body into an Alert.
Only what fails in `parse` is reported to the trader's channels: a stranger's noise is not.
"""

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
    open: Callable[[bytes, Mapping[str, str], Settings], dict[str, Any]]
    parse: Callable[[dict[str, Any], Settings], Intake]


_SECRET_FIELDS = frozenset({"passphrase"})


def open_tradingview(raw: bytes, query: Mapping[str, str], settings: Settings) -> dict[str, Any]:
    data = load_json_object(decode_body(raw))
    # Authenticate before validating, so a stranger learns nothing about the rules.
    if not settings.passphrase.matches(data.get("passphrase")):
        raise Unauthorized()
    return data


def _parse_tradingview(data: dict[str, Any], study: bool) -> Intake:
    alert, warnings = parse_tradingview(data, study=study)
    fields = {k: v for k, v in data.items() if k not in _SECRET_FIELDS}
    return Intake(alert=alert, fields=fields, warnings=warnings)


TRADINGVIEW = Dialect("tradingview", open_tradingview, lambda d, s: _parse_tradingview(d, False))
TRADINGVIEW_STUDY = Dialect(
    "tradingview_study", open_tradingview, lambda d, s: _parse_tradingview(d, True)
)
