"""Strict reading of alert bodies: UTF-8, JSON without NaN or duplicate keys, typed fields."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import MalformedAlert
from ..models import Alert

MAX_NUMBER = Decimal("1e15")
MIN_NUMBER = Decimal("1e-12")  # smaller is no price or size, and overflows the arithmetic
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True)
class Intake:
    """A parsed, authenticated alert with what the journal and the idempotency key need."""

    alert: Alert
    fields: dict[str, Any]  # the body's fields, secrets removed: the source of the idempotency key
    warnings: list[str] = field(default_factory=list)


class NonFinite:
    """Stands in for a bare NaN/Infinity in the JSON, so the field reader can name the field."""

    def __init__(self, text: str) -> None:
        self.text = text


def decode_body(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedAlert(f"body is not valid UTF-8 (bad byte at offset {e.start})") from None
    text = text.removeprefix("\ufeff").strip()
    if not text:
        raise MalformedAlert(
            "body is empty: the alert message must be the JSON shown in alertmodel.txt"
        )
    return text


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedAlert(f"field {key!r} appears twice")
        out[key] = value
    return out


def load_json_object(text: str) -> dict[str, Any]:
    """Parse a JSON object; numbers become Decimal, NaN/Infinity become NonFinite markers."""
    try:
        data = json.loads(
            text,
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=NonFinite,
            object_pairs_hook=_reject_duplicates,
        )
    except json.JSONDecodeError as e:
        hint = ""
        if "{{" in text:
            hint = ' (is a {{placeholder}} unquoted? string placeholders need quotes: "{{ticker}}")'
        raise MalformedAlert(
            f"body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}{hint}"
        ) from None
    except RecursionError:
        raise MalformedAlert(f"body is nested more than {MAX_DEPTH} levels deep") from None
    if not isinstance(data, dict):
        raise MalformedAlert("body must be a JSON object ({...}), not a " + _type_name(data))
    if _too_deep(data):  # an alert is flat: deep nesting is an attack on whoever reads it next
        raise MalformedAlert(f"body is nested more than {MAX_DEPTH} levels deep")
    return data


MAX_DEPTH = 8


def _too_deep(data: Any) -> bool:
    """Without recursion: a body the parser took may still be too deep to write back out."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal | int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, NonFinite):
        return value.text
    return "null" if value is None else type(value).__name__


class Fields:
    """Typed access to an alert's fields; every error names the field and what was wrong."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def has(self, name: str) -> bool:
        return name in self.data and self.data[name] is not None

    def string(self, name: str, *, required: bool = False, max_len: int = 200) -> str | None:
        if not self.has(name):
            if required:
                raise MalformedAlert(f"field {name!r} is required")
            return None
        value = self.data[name]
        if not isinstance(value, str):
            raise MalformedAlert(f"field {name!r} must be a string, got {_type_name(value)}")
        _check_placeholder(name, value)
        value = value.strip()
        if required and not value:
            raise MalformedAlert(f"field {name!r} must not be empty")
        if len(value) > max_len:
            raise MalformedAlert(f"field {name!r} is longer than {max_len} characters")
        return value

    def choice(
        self,
        name: str,
        options: Iterable[str],
        *,
        default: str | None = None,
        required: bool = False,
    ) -> str | None:
        value = self.string(name, required=required)
        if value is None:
            return default
        if not value.strip():  # sent but blank: a placeholder that came out empty, not "default"
            raise MalformedAlert(f"field {name!r} is empty; use one of {', '.join(options)}")
        lowered = value.lower()
        options = tuple(options)
        if lowered not in options:
            raise MalformedAlert(
                f"field {name!r} must be one of {', '.join(options)}, got {value!r}"
            )
        return lowered

    def number(
        self,
        name: str,
        *,
        required: bool = False,
        positive: bool = True,
        maximum: Decimal = MAX_NUMBER,
    ) -> Decimal | None:
        if not self.has(name):
            if required:
                raise MalformedAlert(f"field {name!r} is required")
            return None
        return to_number(name, self.data[name], positive=positive, maximum=maximum)

    def identifier(self, name: str) -> str | None:
        value = self.string(name, max_len=64)
        if value is not None and not _ID.match(value):
            raise MalformedAlert(f"field {name!r} may hold only letters, digits and _ . : - (1-64)")
        return value

    def timestamp(self, name: str) -> datetime | None:
        if not self.has(name):
            return None
        value = self.data[name]
        if isinstance(value, Decimal):
            seconds = value / 1000 if value > Decimal("1e11") else value
            try:
                return datetime.fromtimestamp(float(seconds), tz=UTC)
            except (OverflowError, OSError, ValueError):
                raise MalformedAlert(f"field {name!r} is not a valid epoch time") from None
        text = self.string(name)
        try:
            parsed = datetime.fromisoformat(text or "")
        except ValueError:
            raise MalformedAlert(
                f"field {name!r} must be a time like 2024-05-01T12:00:00Z ({{{{timenow}}}}), "
                f"got {text!r}"
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def unknown(self, known: Iterable[str]) -> list[str]:
        known_set = set(known)
        return sorted(k for k in self.data if k not in known_set)


def to_number(
    name: str, value: Any, *, positive: bool = True, maximum: Decimal = MAX_NUMBER
) -> Decimal:
    if isinstance(value, NonFinite):
        raise MalformedAlert(
            f"field {name!r} is {value.text}: the plot had no value (na) on this bar"
        )
    if isinstance(value, bool) or not isinstance(value, Decimal | str):
        raise MalformedAlert(f"field {name!r} must be a number, got {_type_name(value)}")
    if isinstance(value, str):
        _check_placeholder(name, value)
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise MalformedAlert(f"field {name!r} must be a number, got {value!r}") from None
    if not value.is_finite():
        raise MalformedAlert(f"field {name!r} must be a finite number, got {value}")
    if positive and value <= 0:
        raise MalformedAlert(f"field {name!r} must be greater than 0, got {value}")
    if abs(value) > maximum:
        raise MalformedAlert(f"field {name!r} is too large ({value:.3E} > {maximum:.0E})")
    if value and abs(value) < MIN_NUMBER:
        raise MalformedAlert(f"field {name!r} is too small ({value:.3E} < {MIN_NUMBER:.0E})")
    return value


def _check_placeholder(name: str, value: str) -> None:
    match = _PLACEHOLDER.search(value)
    if match:
        raise MalformedAlert(
            f"field {name!r} holds the unsubstituted placeholder {match.group(0)}: "
            "TradingView did not recognise it (check the plot title or placeholder name)"
        )
