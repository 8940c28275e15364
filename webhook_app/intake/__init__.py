"""Intake: one small parser per alert dialect, each returning the core's Alert.

A dialect has two steps. `open` decodes the body and authenticates it (401 for any secret
problem, 400 for a body it cannot read); `parse` validates an authenticated body into an Alert.
Only what fails in `parse` is reported to the trader's channels: a stranger's noise is not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..errors import Unauthorized
from .common import Intake, decode_body, load_json_object
from .fmz import open_fmz, parse_fmz
from .ib_text import open_ib, parse_ib
from .signal import open_signal, parse_signal
from .tradingview import parse_tradingview

__all__ = ["FMZ", "IB", "SIGNAL", "TRADINGVIEW", "TRADINGVIEW_STUDY", "Dialect", "Intake"]


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
FMZ = Dialect("fmz", open_fmz, parse_fmz)
SIGNAL = Dialect("signal", open_signal, parse_signal)
IB = Dialect("ib", open_ib, parse_ib)
