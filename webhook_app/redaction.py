"""One place that removes secrets from anything bound for a log, the journal or Discord."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"

# Secret-bearing shapes, masked even when the value is not one we know (a wrong passphrase, a key
# of another system): JSON fields, query parameters, bearer headers and Discord webhook tokens.
# Names of secret-bearing fields (not secrets themselves).
_SECRET_NAMES = "|".join(
    (  # noqa: S105
        "passphrase",
        "password",
        "secret",
        "secret_key",
        "access_key",
        "api_key",
        "apikey",
        "token",
        "connectorToken",
        "api_secret",
        "authorization",
    )
)
_PATTERNS = (
    re.compile(rf'("(?:{_SECRET_NAMES})"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE),
    re.compile(rf"\b((?:{_SECRET_NAMES})=)[^&\s\"']+", re.IGNORECASE),
    re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
    re.compile(r"(discord(?:app)?\.com/api/webhooks/\d+/)[A-Za-z0-9._-]+", re.IGNORECASE),
)


class Redactor:
    """Masks known secret values (plain, JSON-escaped, URL-encoded) and secret-shaped text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if not secret or len(secret) < 3:
                continue
            forms.update(
                {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}
            )
        # Longest first, so a secret that contains another is masked whole.
        self._forms = sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(_mask_group, text)
        return text

    def redact_obj(self, value: object) -> object:
        """Redact every string inside a JSON-like value, and drop secret-named keys' values."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {
                k: (MASK if _is_secret_key(k) else self.redact_obj(v)) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.redact_obj(v) for v in value]
        return value


def _mask_group(match: re.Match[str]) -> str:
    prefix = match.group(1)
    return prefix + (f'"{MASK}"' if prefix.rstrip().endswith(":") else MASK)


_SECRET_KEY = re.compile(rf"^(?:{_SECRET_NAMES})$", re.IGNORECASE)


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(_SECRET_KEY.match(key))


_installed: dict[str, Redactor] = {}


def install_log_redaction(redactor: Redactor) -> None:
    """Redact every log record at creation, so no handler (or test capture) ever sees a secret."""
    _installed["redactor"] = redactor
    if _installed.get("factory"):
        return
    base_factory = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = base_factory(*args, **kwargs)
        active = _installed["redactor"]
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = active.redact(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = active.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return record

    _installed["factory"] = factory  # type: ignore[assignment]
    logging.setLogRecordFactory(factory)
