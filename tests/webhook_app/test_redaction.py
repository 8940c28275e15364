"""Redaction: secrets in any form, and secret-shaped text, never pass."""

from __future__ import annotations

import json
import logging

import pytest

from webhook_app.redaction import MASK, Redactor, install_log_redaction

SECRET = 'p@ss "word"/with&odd=chars'


@pytest.mark.parametrize(
    "text",
    [
        f"plain {SECRET} text",
        json.dumps({"passphrase": SECRET}),
        f"url?passphrase={SECRET}",
        "https://x/api?x=" + __import__("urllib.parse").parse.quote(SECRET, safe=""),
    ],
)
def test_known_secret_in_any_form_is_masked(text: str) -> None:
    redacted = Redactor([SECRET]).redact(text)
    assert SECRET not in redacted and json.dumps(SECRET)[1:-1] not in redacted
    assert MASK in redacted


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ('{"passphrase": "someone-elses"}', "someone-elses"),
        ('{"connectorToken":"tok123456"}', "tok123456"),
        ("/webhook/fmz?access_key=AK99&secret_key=SK77&type=buy", "SK77"),
        ("Authorization: Bearer abc.def-123", "abc.def-123"),
        ("https://discord.com/api/webhooks/123456/AbC-dEf_gh", "AbC-dEf_gh"),
    ],
)
def test_secret_shapes_are_masked_even_when_unknown(text: str, gone: str) -> None:
    assert gone not in Redactor().redact(text)


def test_redact_obj_masks_secret_keys_and_values() -> None:
    out = Redactor(["k3y-value"]).redact_obj({"api_key": "x", "note": "has k3y-value", "n": [1]})
    assert out == {"api_key": MASK, "note": f"has {MASK}", "n": [1]}


def test_log_records_are_redacted_at_creation(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction(Redactor(["Top-Secret-123"]))
    logger = logging.getLogger("test.redaction")
    with caplog.at_level(logging.INFO):
        logger.info("value=%s", "Top-Secret-123")
        try:
            raise ValueError("boom Top-Secret-123")
        except ValueError:
            logger.exception("failed")
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "Top-Secret-123" not in text and MASK in text and "ValueError" in text
