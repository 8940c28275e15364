"""alertmodel.txt: every example is accepted by its route, and every template is valid JSON once
substituted the way TradingView does."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.helpers import PASSPHRASE, Client
from webhook_app.alertmodel import PASSPHRASE_PLACEHOLDER, load_alertmodel, substitute

BLOCKS = load_alertmodel()
EXAMPLES = [
    (b.name, name, b.path, text) for b in BLOCKS.values() for name, text in b.examples.items()
]


def test_alertmodel_has_the_routes_blocks() -> None:
    assert {"strategy-basic", "strategy-multi-tp", "study-long", "study-short"} <= set(BLOCKS)
    for block in BLOCKS.values():
        assert block.route.startswith("POST /") and block.template and block.examples, block.name
        assert PASSPHRASE_PLACEHOLDER in block.template  # a visible placeholder, never a value


@pytest.mark.parametrize(
    ("block", "example", "path", "text"), EXAMPLES, ids=[f"{b}:{e}" for b, e, _, _ in EXAMPLES]
)
async def test_every_example_is_accepted_by_its_route(
    client: Client, block: str, example: str, path: str, text: str
) -> None:
    body = text.replace(PASSPHRASE_PLACEHOLDER, PASSPHRASE)
    code, answer = await client.post(path, body)
    assert code in (200, 202), answer
    assert answer["status"] in ("accepted", "ignored", "pending_approval")


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
}


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_templates_are_valid_json_once_substituted(name: str) -> None:
    template = BLOCKS[name].template
    plots = {f'plot("{t}")': 1.5 for t in re.findall(r'plot\("([^"]+)"\)', template)}
    text = substitute(template, {**SAMPLE_VALUES, **plots})
    assert "{{" not in text, f"{name}: a placeholder has no sample value"
    json.loads(text)  # strings quoted, no comments
