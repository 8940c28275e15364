"""alertmodel.txt: every example is accepted by its route, and every template is valid once
substituted the way TradingView does (JSON for the JSON dialects)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.helpers import FMZ_ACCESS_KEY, FMZ_ENV, FMZ_SECRET_KEY, PASSPHRASE, Client
from webhook_app.alertmodel import (
    PASSPHRASE_PLACEHOLDER,
    load_alertmodel,
    refresh_times,
    substitute,
)
from webhook_app.intake.ib_text import split_ib

BLOCKS = load_alertmodel()
EXAMPLES = [
    (b.name, name, b.target, text) for b in BLOCKS.values() for name, text in b.examples.items()
]
FILL = {
    PASSPHRASE_PLACEHOLDER: PASSPHRASE,
    "<your FMZ_ACCESS_KEY>": FMZ_ACCESS_KEY,
    "<your FMZ_SECRET_KEY>": FMZ_SECRET_KEY,
}


def fill(text: str) -> str:
    for placeholder, value in FILL.items():
        text = text.replace(placeholder, value)
    return text


def test_alertmodel_has_a_block_per_route() -> None:
    paths = {b.path for b in BLOCKS.values()}
    assert {
        "/tradingview-to-webhook-order",
        "/tradingview-to-discord-study",
        "/webhook/fmz",
        "/webhook/signal",
        "/webhook/ib",
    } <= paths
    for block in BLOCKS.values():
        assert block.route.startswith("POST /") and block.template and block.examples, block.name
        # The secret is a visible placeholder the user replaces, in the message or in the URL.
        assert any(p in block.template + block.route for p in FILL), block.name


@pytest.mark.parametrize(
    ("block", "example", "target", "text"), EXAMPLES, ids=[f"{b}:{e}" for b, e, _, _ in EXAMPLES]
)
async def test_every_example_is_accepted_by_its_route(
    make_client: Any, block: str, example: str, target: str, text: str
) -> None:
    client: Client = await make_client(**FMZ_ENV)
    code, answer = await client.post(fill(target), fill(refresh_times(text)))
    assert code in (200, 202), answer
    assert answer["status"] in ("accepted", "ignored", "pending_approval")
    if block == "fmz":
        assert answer["state"] == "ok"  # the seed's own answer, next to ours


SAMPLE_VALUES: dict[str, Any] = {
    "ticker": "ETHUSDT",
    "exchange": "BYBIT",
    "timenow": "2024-06-01T00:00:00Z",
    "interval": "60",
    "close": 3000.5,
    "strategy.order.action": "buy",
    "strategy.order.price": 3000.5,
    "strategy.order.id": "long",
    "strategy.order.alert_message": "entry",
    "strategy.order.comment": "Long entry",
    "strategy.order.contracts": 2,
}


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_templates_are_valid_once_substituted(name: str) -> None:
    template = BLOCKS[name].template
    plots = {f'plot("{t}")': 1.5 for t in re.findall(r'plot\("([^"]+)"\)', template)}
    text = substitute(template, {**SAMPLE_VALUES, **plots})
    assert "{{" not in text, f"{name}: a placeholder has no sample value"
    if text.startswith("{"):
        json.loads(text)  # strings quoted, no comments
    elif text.startswith("$"):
        assert split_ib(text)["action"] == "buy"
